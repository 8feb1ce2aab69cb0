"""Bookings: the history of staff moves (a move updates the one booking row and records
what it was and what it became here)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_chat')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BookingMove',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('booking', fields.ForeignKeyField('models.Booking', source_field='booking_id', db_constraint=True, to_field='id', related_name='moves', on_delete=OnDelete.CASCADE)),
                ('from_slot', fields.ForeignKeyField('models.ConsultationSlot', source_field='from_slot_id', db_constraint=True, to_field='id', related_name='moves_out', on_delete=OnDelete.RESTRICT)),
                ('to_slot', fields.ForeignKeyField('models.ConsultationSlot', source_field='to_slot_id', db_constraint=True, to_field='id', related_name='moves_in', on_delete=OnDelete.RESTRICT)),
                ('from_starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('from_ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('to_starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('to_ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('from_counsellor', fields.CharField(default='', max_length=100)),
                ('to_counsellor', fields.CharField(default='', max_length=100)),
                ('reason', fields.CharField(default='', max_length=300)),
                ('moved_by', fields.ForeignKeyField('models.StaffUser', source_field='moved_by_id', null=True, db_constraint=True, to_field='id', related_name='booking_moves', on_delete=OnDelete.SET_NULL)),
                ('moved_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'consultation_booking_moves', 'app': 'models', 'indexes': [Index(fields=['booking_id', 'moved_at'])], 'pk_attr': 'id', 'table_description': "One change of a booking's time by staff: the booking stays one row (its slot is"},
            bases=['Model'],
        ),
    ]
