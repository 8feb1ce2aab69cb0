from tortoise import migrations
from tortoise.migrations import operations as ops
from models.consultation import BookingStatus, Method, Topic
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Closure',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('date', fields.DateField(unique=True)),
                ('reason', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'centre_closures', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A day the centre is closed (besides national holidays and 12/29–1/3).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConsultationSlot',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('counsellor', fields.CharField(default='', max_length=100)),
                ('methods', fields.CharField(default='visit,online,phone', max_length=64)),
                ('capacity', fields.IntField(default=1)),
                ('booked_count', fields.IntField(default=0)),
                ('is_active', fields.BooleanField(default=True)),
                ('note', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'consultation_slots', 'app': 'models', 'indexes': [Index(fields=['starts_at', 'is_active'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Booking',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='bookings', on_delete=OnDelete.CASCADE)),
                ('slot', fields.ForeignKeyField('models.ConsultationSlot', source_field='slot_id', db_constraint=True, to_field='id', related_name='bookings', on_delete=OnDelete.RESTRICT)),
                ('topic', fields.CharEnumField(description='START: start\nSALES: sales\nSKILL: skill\nMIGRATION: migration\nPARENTING: parenting\nOTHER: other', enum_type=Topic, max_length=16)),
                ('method', fields.CharEnumField(description='VISIT: visit\nONLINE: online\nPHONE: phone', enum_type=Method, max_length=16)),
                ('note', fields.CharField(default='', max_length=500)),
                ('status', fields.CharEnumField(default=BookingStatus.BOOKED, description='BOOKED: booked\nCANCELLED: cancelled\nATTENDED: attended\nNO_SHOW: no_show', enum_type=BookingStatus, max_length=16)),
                ('active_key', fields.CharField(null=True, unique=True, max_length=40)),
                ('request_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('booked_by', fields.CharField(default='line', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_by', fields.CharField(default='', max_length=16)),
                ('cancel_reason', fields.CharField(default='', max_length=300)),
                ('reminder_queued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'consultation_bookings', 'app': 'models', 'indexes': [Index(fields=['status', 'created_at']), Index(fields=['resident_id', 'status']), Index(fields=['slot_id', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
