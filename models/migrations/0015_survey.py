from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.survey import QuestionKind, QuestionRole, ResponseStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_market')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PlanSettings',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('starts_on', fields.DateField()),
                ('ends_on', fields.DateField()),
                ('target_skillup', fields.IntField(default=90)),
                ('target_migrants', fields.IntField(default=15)),
                ('target_earning', fields.IntField(default=30)),
                ('target_satisfaction', fields.IntField(default=80)),
                ('target_leaders', fields.IntField(default=3)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'plan_settings', 'app': 'models', 'pk_attr': 'id', 'table_description': "The plan's period and its five targets (one row, id 1), set in the admin."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ResidentProfile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.OneToOneField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='profile', on_delete=OnDelete.CASCADE)),
                ('skills', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('occupation', fields.CharField(default='', max_length=100)),
                ('raising_children', fields.BooleanField(null=True)),
                ('side_job', fields.BooleanField(null=True)),
                ('freelance_income', fields.BooleanField(null=True)),
                ('income_band', fields.CharField(default='', max_length=16)),
                ('residency', fields.CharField(default='', max_length=16)),
                ('moved_year', fields.IntField(null=True)),
                ('district', fields.CharField(default='', max_length=16)),
                ('filled', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'resident_profiles', 'app': 'models', 'pk_attr': 'id', 'table_description': "One per resident. Each field's last change is in `filled`:"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ResidentTag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='tags', on_delete=OnDelete.CASCADE)),
                ('tag', fields.CharField(max_length=30)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('created_by', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'resident_tags', 'app': 'models', 'unique_together': (('resident', 'tag'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Survey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=100)),
                ('description', fields.CharField(default='', max_length=500)),
                ('thanks', fields.CharField(default='', max_length=300)),
                ('version', fields.IntField(default=1)),
                ('based_on', fields.ForeignKeyField('models.Survey', source_field='based_on_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('is_standard', fields.BooleanField(default=False)),
                ('is_archived', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'surveys', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SurveyQuestion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('survey', fields.ForeignKeyField('models.Survey', source_field='survey_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('kind', fields.CharEnumField(description='SCALE5: scale5\nSCALE11: scale11\nSINGLE: single\nMULTI: multi\nYESNO: yesno\nYEAR: year\nTEXT: text', enum_type=QuestionKind, max_length=16)),
                ('text', fields.CharField(max_length=200)),
                ('help', fields.CharField(default='', max_length=200)),
                ('required', fields.BooleanField(default=True)),
                ('choices', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('show_if', fields.ForeignKeyField('models.SurveyQuestion', source_field='show_if_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('show_if_values', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('role', fields.CharEnumField(default=QuestionRole.NONE, description='NONE: \nWORK_SATISFACTION: work_satisfaction\nLIFE_SATISFACTION: life_satisfaction\nHAPPINESS: happiness\nWB_HAPPINESS: wb_happiness\nWB_LIFE: wb_life\nFREELANCE_INCOME: freelance_income\nINCOME_BAND: income_band\nCHILDREN: children\nSIDE_JOB: side_job\nRESIDENCY: residency\nMOVED_YEAR: moved_year\nSKILLS: skills\nDISTRICT: district\nCOMMENT: comment', enum_type=QuestionRole, max_length=32)),
            ],
            options={'table': 'survey_questions', 'app': 'models', 'unique_together': (('survey', 'position'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SurveyRound',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('survey', fields.ForeignKeyField('models.Survey', source_field='survey_id', db_constraint=True, to_field='id', related_name='rounds', on_delete=OnDelete.RESTRICT)),
                ('title', fields.CharField(max_length=100)),
                ('opens_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'survey_rounds', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One run of a survey (e.g. 2026年度): residents answer between its open and close.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SurveyResponse',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('round', fields.ForeignKeyField('models.SurveyRound', source_field='round_id', db_constraint=True, to_field='id', related_name='responses', on_delete=OnDelete.CASCADE)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='survey_responses', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=ResponseStatus.IN_PROGRESS, description='IN_PROGRESS: in_progress\nCOMPLETED: completed', enum_type=ResponseStatus, max_length=16)),
                ('current', fields.ForeignKeyField('models.SurveyQuestion', source_field='current_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('attempt', fields.IntField(default=1)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminder_queued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'survey_responses', 'app': 'models', 'unique_together': (('round', 'resident'),), 'pk_attr': 'id', 'table_description': "A resident's one response to a round (unique): in progress until the last question."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SurveyAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('response', fields.ForeignKeyField('models.SurveyResponse', source_field='response_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('question', fields.ForeignKeyField('models.SurveyQuestion', source_field='question_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField(null=True)),
                ('text', fields.CharField(default='', max_length=1000)),
                ('values', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('skipped', fields.BooleanField(default=False)),
                ('answered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'survey_answers', 'app': 'models', 'unique_together': (('response', 'question'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
