"""Residents' profiles (マイページ → プロフィール, filled by survey answers too, edited by
staff) and the tags staff give them (コミュニティリーダー, 講師, …)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.residents import Resident


class ResidentProfile(Model):
    """One per resident. Each field's last change is in `filled`:
    {"skills": {"on": "2026-12-03", "by": "survey"}, …} ("resident", "survey" or "staff"):
    the latest answer wins, and staff see when and where it came from."""

    id = fields.IntField(primary_key=True)
    resident: fields.OneToOneRelation[Resident] = fields.OneToOneField(
        "models.Resident", related_name="profile", on_delete=fields.CASCADE
    )
    skills: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]  # codes of shima.domain.profiles.SKILLS
    occupation = fields.CharField(max_length=100, default="")  # in their own words (その他)
    raising_children = fields.BooleanField(null=True)  # None: not told
    side_job = fields.BooleanField(null=True)
    freelance_income = fields.BooleanField(null=True)
    income_band = fields.CharField(max_length=16, default="")  # shima.domain.profiles.INCOME_BANDS
    residency = fields.CharField(max_length=16, default="")  # local / migrant / considering
    moved_year = fields.IntField(null=True)  # 移住 only
    district = fields.CharField(max_length=16, default="")  # shima.domain.profiles.DISTRICTS
    filled: dict[str, dict[str, str]] = fields.JSONField(default=dict)  # type: ignore[assignment]
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "resident_profiles"


class ResidentTag(Model):
    id = fields.IntField(primary_key=True)
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="tags", on_delete=fields.CASCADE
    )
    tag = fields.CharField(max_length=30)
    created_at = fields.DatetimeField(auto_now_add=True)
    created_by = fields.CharField(max_length=200, default="")  # the staff member's email

    class Meta:
        table = "resident_tags"
        unique_together = (("resident", "tag"),)


class PlanSettings(Model):
    """The plan's period and its five targets (one row, id 1), set in the admin."""

    id = fields.IntField(primary_key=True)
    starts_on = fields.DateField()
    ends_on = fields.DateField()  # inclusive
    target_skillup = fields.IntField(default=90)
    target_migrants = fields.IntField(default=15)
    target_earning = fields.IntField(default=30)
    target_satisfaction = fields.IntField(default=80)  # percent
    target_leaders = fields.IntField(default=3)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "plan_settings"
