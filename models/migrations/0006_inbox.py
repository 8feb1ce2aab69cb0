"""Inbox: the IGNORED status (malformed events stored at ingestion with their reason)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.inbox import InboxStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_delivery')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='InboxEvent',
            name='status',
            field=fields.CharEnumField(default=InboxStatus.PENDING, description='PENDING: pending\nPROCESSING: processing\nDONE: done\nFAILED: failed\nIGNORED: ignored', enum_type=InboxStatus, max_length=16),
        ),
    ]
