"""Surveys (満足度アンケート and others staff build): a survey's questions, its rounds (the same
questions run again, e.g. yearly), and residents' responses with one answer row per question,
saved as each is given so a resident who stops continues where they left off.

A survey's questions are frozen once any of its rounds has an answer; staff change them in a
new version (a copy with `based_on` and `version` + 1)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.residents import Resident


class QuestionKind(StrEnum):
    SCALE5 = "scale5"  # 1–5
    SCALE11 = "scale11"  # 0–10 (デジタル庁 Well-Being 指標)
    SINGLE = "single"  # one of `choices`
    MULTI = "multi"  # any of `choices`
    YESNO = "yesno"
    YEAR = "year"  # a year (西暦), e.g. the year they moved to Amami
    TEXT = "text"  # free text

    @property
    def label(self) -> str:
        return {
            "scale5": "5段階（1〜5）",
            "scale11": "11段階（0〜10）",
            "single": "単一選択",
            "multi": "複数選択",
            "yesno": "はい／いいえ",
            "year": "年（西暦）",
            "text": "自由記述",
        }[self.value]


class QuestionRole(StrEnum):
    """What a question means to the rest of the product: the profile field its answer fills
    (shima.domain.profiles) and the goal it counts for (shima.domain.goals)."""

    NONE = ""
    WORK_SATISFACTION = "work_satisfaction"  # 仕事の満足度 1–5
    LIFE_SATISFACTION = "life_satisfaction"  # 暮らしの満足度 1–5
    HAPPINESS = "happiness"  # 総合的な幸せ 1–5: goal 4 (share answering 4–5)
    WB_HAPPINESS = "wb_happiness"  # Well-Being 指標 幸福度 0–10
    WB_LIFE = "wb_life"  # Well-Being 指標 生活満足度 0–10
    FREELANCE_INCOME = "freelance_income"  # yes/no → profile
    INCOME_BAND = "income_band"  # single → profile
    CHILDREN = "children"  # yes/no → profile
    SIDE_JOB = "side_job"  # yes/no → profile
    RESIDENCY = "residency"  # single local/migrant/considering → profile
    MOVED_YEAR = "moved_year"  # year → profile
    SKILLS = "skills"  # multi (profile skill codes) → profile
    DISTRICT = "district"  # single → profile
    COMMENT = "comment"  # free comment (shown on the results page)


class ResponseStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        return {"in_progress": "回答途中", "completed": "回答済み"}[self.value]


class Survey(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)
    description = fields.CharField(max_length=500, default="")  # shown before the first question
    thanks = fields.CharField(max_length=300, default="")  # shown after the last one
    version = fields.IntField(default=1)
    based_on: fields.ForeignKeyNullableRelation[Survey] = fields.ForeignKeyField(
        "models.Survey", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # The standard 幸せ（ワークライフ）満足度調査 (shima.domain.survey_standard): goal 4 reads
    # its latest round.
    is_standard = fields.BooleanField(default=False)
    is_archived = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "surveys"
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title if self.version == 1 else f"{self.title}（第{self.version}版）"


class SurveyQuestion(Model):
    id = fields.IntField(primary_key=True)
    survey: fields.ForeignKeyRelation[Survey] = fields.ForeignKeyField(
        "models.Survey", related_name="questions", on_delete=fields.CASCADE
    )
    position = fields.IntField()  # 1, 2, … the order asked
    kind = fields.CharEnumField(QuestionKind, max_length=16)
    text = fields.CharField(max_length=200)
    help = fields.CharField(max_length=200, default="")  # e.g. what 1 and 5 mean
    required = fields.BooleanField(default=True)
    # [{"value": "migrant", "label": "移住"}, …] for single and multi (≤ 13: quick replies)
    choices: list[dict[str, str]] = fields.JSONField(default=list)  # type: ignore[assignment]
    # Shown only when the answer to an earlier question (`show_if`) is one of `show_if_values`
    # (for multi: any of them picked; yes/no values are "yes" and "no").
    show_if: fields.ForeignKeyNullableRelation[SurveyQuestion] = fields.ForeignKeyField(
        "models.SurveyQuestion", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    show_if_values: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    role = fields.CharEnumField(QuestionRole, max_length=32, default=QuestionRole.NONE)

    class Meta:
        table = "survey_questions"
        unique_together = (("survey", "position"),)
        ordering = ["survey_id", "position"]


class SurveyRound(Model):
    """One run of a survey (e.g. 2026年度): residents answer between its open and close."""

    id = fields.IntField(primary_key=True)
    survey: fields.ForeignKeyRelation[Survey] = fields.ForeignKeyField(
        "models.Survey", related_name="rounds", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=100)  # e.g. 2026年度
    opens_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "survey_rounds"
        ordering = ["-opens_at", "-id"]


class SurveyResponse(Model):
    """A resident's one response to a round (unique): in progress until the last question."""

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[SurveyRound] = fields.ForeignKeyField(
        "models.SurveyRound", related_name="responses", on_delete=fields.CASCADE
    )
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="survey_responses", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(ResponseStatus, max_length=16, default=ResponseStatus.IN_PROGRESS)
    # The question asked next (None: none left, or not started): where 「続きから」 resumes.
    current: fields.ForeignKeyNullableRelation[SurveyQuestion] = fields.ForeignKeyField(
        "models.SurveyQuestion", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # Bumped when the resident starts again (replacing the earlier answers): buttons of an
    # earlier attempt are stale.
    attempt = fields.IntField(default=1)
    started_at = fields.DatetimeField()
    answered_at = fields.DatetimeField()  # the last answer (the reminder counts from it)
    completed_at = fields.DatetimeField(null=True)
    reminder_queued_at = fields.DatetimeField(null=True)  # the one 「続きから」 reminder

    class Meta:
        table = "survey_responses"
        unique_together = (("round", "resident"),)


class SurveyAnswer(Model):
    id = fields.IntField(primary_key=True)
    response: fields.ForeignKeyRelation[SurveyResponse] = fields.ForeignKeyField(
        "models.SurveyResponse", related_name="answers", on_delete=fields.CASCADE
    )
    question: fields.ForeignKeyRelation[SurveyQuestion] = fields.ForeignKeyField(
        "models.SurveyQuestion", related_name="answers", on_delete=fields.CASCADE
    )
    # scale5/scale11/year: the number. yesno: 1 (はい) or 0. single: its choice value in
    # `text`. multi: the values in `values`. text: the words in `text`.
    number = fields.IntField(null=True)
    text = fields.CharField(max_length=1000, default="")
    values: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    skipped = fields.BooleanField(default=False)  # an optional question passed with スキップ
    answered_at = fields.DatetimeField()

    class Meta:
        table = "survey_answers"
        unique_together = (("response", "question"),)
