"""Bookings: booked_by / cancelled_by as enums (the stored values are unchanged: "line",
"staff", "resident", "")."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.consultation import BookedBy, CancelledBy
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_staff_security')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Booking',
            name='booked_by',
            field=fields.CharEnumField(default=BookedBy.RESIDENT, description='RESIDENT: line\nSTAFF: staff', enum_type=BookedBy, max_length=16),
        ),
        ops.AlterField(
            model_name='Booking',
            name='cancelled_by',
            field=fields.CharEnumField(default=CancelledBy.NOBODY, description='NOBODY: \nRESIDENT: resident\nSTAFF: staff', enum_type=CancelledBy, max_length=16),
        ),
    ]
