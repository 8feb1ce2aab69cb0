from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.announcements import AnnouncementStatus, BatchStatus, RecipientStatus
from models.privacy import RequestKind, RequestStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0015_survey')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Announcement',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=100)),
                ('body', fields.TextField(default='', unique=False)),
                ('image', fields.BinaryField(null=True)),
                ('image_preview', fields.BinaryField(null=True)),
                ('image_token', fields.CharField(null=True, unique=True, max_length=64)),
                ('card_title', fields.CharField(default='', max_length=40)),
                ('card_text', fields.CharField(default='', max_length=160)),
                ('card_label', fields.CharField(default='', max_length=20)),
                ('card_url', fields.CharField(default='', max_length=1000)),
                ('audience', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=AnnouncementStatus.DRAFT, description='DRAFT: draft\nAWAITING_APPROVAL: awaiting_approval\nSCHEDULED: scheduled\nSENDING: sending\nSENT: sent\nCANCELLED: cancelled\nREFUSED: refused', enum_type=AnnouncementStatus, max_length=20)),
                ('send_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.CharField(default='', max_length=254)),
                ('requested_by', fields.CharField(default='', max_length=254)),
                ('approved_by', fields.CharField(default='', max_length=254)),
                ('approved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_by', fields.CharField(default='', max_length=254)),
                ('recipients', fields.IntField(default=0)),
                ('delivered', fields.IntField(default=0)),
                ('failed', fields.IntField(default=0)),
                ('skipped', fields.IntField(default=0)),
                ('messages_per_recipient', fields.IntField(default=1)),
                ('quota_note', fields.CharField(default='', max_length=300)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'announcements', 'app': 'models', 'indexes': [Index(fields=['status', 'send_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AnnouncementBatch',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('announcement', fields.ForeignKeyField('models.Announcement', source_field='announcement_id', db_constraint=True, to_field='id', related_name='batches', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('retry_key', fields.CharField(unique=True, max_length=36)),
                ('status', fields.CharEnumField(default=BatchStatus.PENDING, description='PENDING: pending\nSENDING: sending\nSENT: sent\nFAILED: failed\nUNKNOWN: unknown', enum_type=BatchStatus, max_length=16)),
                ('size', fields.IntField(default=0)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('worker_id', fields.CharField(null=True, max_length=64)),
                ('frozen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('outcome_unknown', fields.BooleanField(default=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'announcement_batches', 'app': 'models', 'unique_together': (('announcement', 'seq'),), 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'At most 500 recipients (one multicast request), or one (a personalised push).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AnnouncementRecipient',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('announcement', fields.ForeignKeyField('models.Announcement', source_field='announcement_id', db_constraint=True, to_field='id', related_name='recipient_rows', on_delete=OnDelete.CASCADE)),
                ('batch', fields.ForeignKeyField('models.AnnouncementBatch', source_field='batch_id', db_constraint=True, to_field='id', related_name='recipients', on_delete=OnDelete.CASCADE)),
                ('resident_id', fields.IntField()),
                ('status', fields.CharEnumField(default=RecipientStatus.PENDING, description='PENDING: pending\nDELIVERED: delivered\nFAILED: failed\nSKIPPED: skipped', enum_type=RecipientStatus, max_length=16)),
            ],
            options={'table': 'announcement_recipients', 'app': 'models', 'unique_together': (('announcement', 'resident_id'),), 'indexes': [Index(fields=['resident_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DataRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident_id', fields.IntField(db_index=True)),
                ('kind', fields.CharEnumField(description='EXPORT: export\nERASURE: erasure', enum_type=RequestKind, max_length=16)),
                ('status', fields.CharEnumField(default=RequestStatus.OPEN, description='OPEN: open\nDONE: done\nWITHDRAWN: withdrawn', enum_type=RequestStatus, max_length=16)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('handled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('handled_by', fields.CharField(default='', max_length=254)),
            ],
            options={'table': 'data_requests', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Resident',
            name='announcements_opt_out',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Resident',
            name='announcements_opt_out_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Resident',
            name='erased_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
