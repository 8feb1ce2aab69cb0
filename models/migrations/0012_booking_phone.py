"""Consultation bookings: the phone number a resident gives for a 電話 booking (optional)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_booking_moves')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Booking',
            name='phone',
            field=fields.CharField(null=True, max_length=20),
        ),
    ]
