"""1:1 chat: the conversation log, a thread row per resident, saved replies (定型文)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.chat import ChatKind, Direction, Sender
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_resident_names')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChatMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('direction', fields.CharEnumField(description='IN: in\nOUT: out', enum_type=Direction, max_length=8)),
                ('sender', fields.CharEnumField(description='RESIDENT: resident\nBOT: bot\nSTAFF: staff', enum_type=Sender, max_length=16)),
                ('staff_id', fields.IntField(null=True)),
                ('kind', fields.CharEnumField(default=ChatKind.TEXT, description='TEXT: text\nIMAGE: image\nSTICKER: sticker\nOTHER: other', enum_type=ChatKind, max_length=16)),
                ('text', fields.TextField(default='', unique=False)),
                ('image_path', fields.CharField(default='', max_length=200)),
                ('line_message_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('outbox_id', fields.BigIntField(null=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'chat_messages', 'app': 'models', 'indexes': [Index(fields=['resident_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatThread',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.OneToOneField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('last_message_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('unread', fields.IntField(default=0)),
                ('staff_handling', fields.BooleanField(default=False)),
                ('handover_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reply_token', fields.CharField(null=True, max_length=128)),
                ('reply_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reply_token_used', fields.BooleanField(default=True)),
            ],
            options={'table': 'chat_threads', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Per resident: ordering of the chat list, unread count, the スタッフ対応中 switch, and the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SavedReply',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=100)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'chat_saved_replies', 'app': 'models', 'pk_attr': 'id', 'table_description': '定型文: a reply staff pick in the chat (e.g. the online meeting URL).'},
            bases=['Model'],
        ),
    ]
