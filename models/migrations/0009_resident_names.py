"""Residents: when LINE was last asked for a missing display name (line_app.profiles)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_booking_actor')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Resident',
            name='name_checked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
