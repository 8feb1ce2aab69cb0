from tortoise import migrations
from tortoise.migrations import operations as ops
from models.outbox import OutboxStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_consultation')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='OutboxMessage',
            name='status',
            field=fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nSENDING: sending\nSENT: sent\nDEAD: dead\nUNKNOWN: unknown\nCANCELLED: cancelled', enum_type=OutboxStatus, max_length=16),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='failing_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='push_outcome_unknown',
            field=fields.BooleanField(default=False),
        ),
    ]
