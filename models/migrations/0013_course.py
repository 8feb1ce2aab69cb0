"""寺子屋・交流会: programmes, sessions, registrations (託児, waitlist offers, attendance), news."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.consultation import BookedBy, CancelledBy
from models.course import Attendance, ProgrammeKind, RegistrationStatus, SessionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_booking_phone')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NewsItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=100)),
                ('body', fields.TextField(default='', unique=False)),
                ('url', fields.CharField(default='', max_length=500)),
                ('is_published', fields.BooleanField(default=False)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'news_items', 'app': 'models', 'indexes': [Index(fields=['is_published', 'published_at'])], 'pk_attr': 'id', 'table_description': 'A news item staff post (イベント・お知らせ shows the published ones, newest first).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Programme',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='TERAKOYA: terakoya\nMEETUP: meetup\nWORKSHOP: workshop', enum_type=ProgrammeKind, max_length=16)),
                ('title', fields.CharField(max_length=100)),
                ('description', fields.TextField(default='', unique=False)),
                ('instructor', fields.CharField(default='', max_length=100)),
                ('audience', fields.CharField(default='', max_length=200)),
                ('fee', fields.IntField(default=0)),
                ('image_url', fields.CharField(default='', max_length=500)),
                ('is_archived', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'programmes', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProgrammeSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('programme', fields.ForeignKeyField('models.Programme', source_field='programme_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.RESTRICT)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('venue', fields.CharField(default='WorkStyle Lab Inno', max_length=200)),
                ('online', fields.BooleanField(default=False)),
                ('online_url', fields.CharField(default='', max_length=500)),
                ('seats', fields.IntField()),
                ('childcare_places', fields.IntField(default=0)),
                ('deadline', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=SessionStatus.DRAFT, description='DRAFT: draft\nPUBLISHED: published\nCANCELLED: cancelled', enum_type=SessionStatus, max_length=16)),
                ('taken', fields.IntField(default=0)),
                ('childcare_taken', fields.IntField(default=0)),
                ('waiting', fields.IntField(default=0)),
                ('cancel_reason', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'programme_sessions', 'app': 'models', 'indexes': [Index(fields=['status', 'starts_at']), Index(fields=['programme_id', 'starts_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Registration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.ProgrammeSession', source_field='session_id', db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.CASCADE)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', null=True, db_constraint=True, to_field='id', related_name='programme_registrations', on_delete=OnDelete.CASCADE)),
                ('walk_in_name', fields.CharField(default='', max_length=100)),
                ('status', fields.CharEnumField(default=RegistrationStatus.REGISTERED, description='REGISTERED: registered\nWAITING: waiting\nOFFERED: offered\nCANCELLED: cancelled\nDECLINED: declined\nEXPIRED: expired', enum_type=RegistrationStatus, max_length=16)),
                ('children', fields.IntField(default=0)),
                ('children_ages', fields.CharField(default='', max_length=100)),
                ('active_key', fields.CharField(null=True, unique=True, max_length=40)),
                ('request_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('registered_by', fields.CharEnumField(default=BookedBy.RESIDENT, description='RESIDENT: line\nSTAFF: staff', enum_type=BookedBy, max_length=16)),
                ('queued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('registered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('offered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('offer_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('open_offer_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attendance', fields.CharEnumField(default=Attendance.UNKNOWN, description='UNKNOWN: \nPRESENT: present\nABSENT: absent', enum_type=Attendance, max_length=16)),
                ('attendance_by', fields.CharField(default='', max_length=8)),
                ('attendance_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminder_queued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('followup_queued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('satisfaction', fields.IntField(null=True)),
                ('comment', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_by', fields.CharEnumField(default=CancelledBy.NOBODY, description='NOBODY: \nRESIDENT: resident\nSTAFF: staff', enum_type=CancelledBy, max_length=16)),
                ('cancel_reason', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'programme_registrations', 'app': 'models', 'indexes': [Index(fields=['session_id', 'status']), Index(fields=['resident_id', 'status']), Index(fields=['status', 'offer_expires_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
