"""Staff login attempts: the device column (hash of a trusted device cookie) and its index."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_inbox')]

    initial = False

    operations = [
        ops.AddField(
            model_name='LoginAttempt',
            name='device',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddIndex(
            model_name='LoginAttempt',
            index=Index(fields=['device', 'created_at']),
        ),
    ]
