from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.inbox import InboxStatus
from models.outbox import OutboxStatus
from models.staff import StaffRole
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ConversationState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('line_user_id', fields.CharField(unique=True, max_length=64)),
                ('flow', fields.CharField(max_length=32)),
                ('step', fields.CharField(max_length=32)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'conversation_states', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('webhook_event_id', fields.CharField(unique=True, max_length=64)),
                ('line_user_id', fields.CharField(max_length=64)),
                ('event_type', fields.CharField(max_length=32)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reply_token', fields.CharField(null=True, max_length=128)),
                ('event_time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('status', fields.CharEnumField(default=InboxStatus.PENDING, description='PENDING: pending\nPROCESSING: processing\nDONE: done\nFAILED: failed', enum_type=InboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('worker_id', fields.CharField(null=True, max_length=64)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'inbox_events', 'app': 'models', 'indexes': [Index(fields=['status', 'id']), Index(fields=['line_user_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(max_length=254)),
                ('ip', fields.CharField(max_length=64)),
                ('succeeded', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'staff_login_attempts', 'app': 'models', 'indexes': [Index(fields=['email', 'created_at']), Index(fields=['ip', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('line_user_id', fields.CharField(max_length=64)),
                ('messages', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reply_token', fields.CharField(null=True, max_length=128)),
                ('reply_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('retry_key', fields.CharField(unique=True, max_length=36)),
                ('dedupe_key', fields.CharField(null=True, unique=True, max_length=128)),
                ('kind', fields.CharField(default='reply', max_length=32)),
                ('inbox_event_id', fields.BigIntField(null=True)),
                ('status', fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nSENDING: sending\nSENT: sent\nDEAD: dead\nCANCELLED: cancelled', enum_type=OutboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('worker_id', fields.CharField(null=True, max_length=64)),
                ('reply_attempted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_via', fields.CharField(null=True, max_length=8)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'outbox_messages', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['line_user_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Resident',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('line_user_id', fields.CharField(unique=True, max_length=64)),
                ('display_name', fields.CharField(default='', max_length=200)),
                ('is_following', fields.BooleanField(default=True)),
                ('first_followed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('followed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('unfollowed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('privacy_notice_shown_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'residents', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffUser',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('display_name', fields.CharField(default='', max_length=100)),
                ('password_hash', fields.CharField(max_length=255)),
                ('role', fields.CharEnumField(default=StaffRole.STAFF, description='ADMIN: admin\nSTAFF: staff', enum_type=StaffRole, max_length=16)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_users', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('staff', fields.ForeignKeyField('models.StaffUser', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name='audit_entries', on_delete=OnDelete.SET_NULL)),
                ('staff_email', fields.CharField(default='', max_length=254)),
                ('action', fields.CharField(max_length=64)),
                ('target_type', fields.CharField(default='', max_length=64)),
                ('target_id', fields.CharField(default='', max_length=64)),
                ('detail', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_log', 'app': 'models', 'indexes': [Index(fields=['target_type', 'target_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffSession',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('staff', fields.ForeignKeyField('models.StaffUser', source_field='staff_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('csrf_token', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'staff_sessions', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
