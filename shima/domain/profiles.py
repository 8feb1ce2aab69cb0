"""Residents' profiles and tags: the one place for what a profile holds, its Japanese labels,
and how it changes — by the resident (マイページ → プロフィール), by a survey answer (latest
wins, with the date) or by staff (audited by the admin).

The plan's goals (shima.domain.goals) count from these fields and from the tag
コミュニティリーダー."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from models.profiles import ResidentProfile, ResidentTag
from models.residents import Resident
from shima.timeutil import now, to_jst

SKILLS: dict[str, str] = {
    "writer": "ライター",
    "photo": "カメラマン",
    "web": "Web制作",
    "design": "デザイン",
    "handmade": "ハンドメイド",
    "sns": "SNS運用",
    "programming": "プログラミング",
    "other": "その他",
}
RESIDENCY: dict[str, str] = {"local": "地元", "migrant": "移住", "considering": "移住検討中"}
# 奄美市's three districts.
DISTRICTS: dict[str, str] = {"naze": "名瀬", "sumiyo": "住用", "kasari": "笠利", "outside": "市外"}
# Roughly how much a year from freelancing (the survey's bands).
INCOME_BANDS: dict[str, str] = {
    "under30": "30万円未満",
    "30to60": "30〜60万円未満",
    "60to150": "60〜150万円未満",
    "150to300": "150〜300万円未満",
    "300plus": "300万円以上",
}

LEADER_TAG = "コミュニティリーダー"
# Offered as buttons in the admin; staff may type others.
SUGGESTED_TAGS = (LEADER_TAG, "講師", "スキルシェア", "ロールモデル")
TAG_MAX = 30

# Who changed a field (the `filled` record).
BY_RESIDENT = "resident"
BY_SURVEY = "survey"
BY_STAFF = "staff"
BY_LABELS = {BY_RESIDENT: "本人（LINE）", BY_SURVEY: "アンケート", BY_STAFF: "スタッフ"}

FIELDS: dict[str, str] = {
    "skills": "職種・スキル",
    "occupation": "職種（その他の内容）",
    "raising_children": "子育て中",
    "side_job": "副業",
    "freelance_income": "フリーランスの収入",
    "income_band": "フリーランスの年収（目安）",
    "residency": "地元／移住",
    "moved_year": "移住した年",
    "district": "お住まいの地区",
}
OCCUPATION_MAX = 100
EARLIEST_MOVED_YEAR = 1950


class ProfileError(ValueError):
    """A value a profile field cannot take; the message is Japanese, for the form or chat."""


@dataclass(frozen=True)
class FieldValue:
    field: str
    label: str
    text: str  # shown to the resident and staff ("未回答" when not told)
    on: str  # the date it was last changed (YYYY-MM-DD, "" if never)
    by: str  # BY_LABELS value, "" if never


def clean(field: str, value: Any) -> Any:
    """The stored form of `value` for `field`, or ProfileError. Booleans accept None (not
    told); codes must be known; the year is between 1950 and this year."""
    if field not in FIELDS:
        raise ProfileError(f"プロフィールの項目ではありません: {field}")
    if field == "skills":
        codes = list(dict.fromkeys(value or []))
        if any(c not in SKILLS for c in codes):
            raise ProfileError("職種・スキルは一覧から選んでください。")
        return [c for c in SKILLS if c in codes]  # the list's own order
    if field == "occupation":
        # One line: newlines and runs of spaces typed in LINE become one space.
        text = " ".join(unicodedata.normalize("NFKC", str(value or "")).split())
        if len(text) > OCCUPATION_MAX:
            raise ProfileError(f"職種は{OCCUPATION_MAX}文字以内で入力してください。")
        return text
    if field in ("raising_children", "side_job", "freelance_income"):
        if value is None or isinstance(value, bool):
            return value
        raise ProfileError("はい・いいえで答えてください。")
    choices = {"income_band": INCOME_BANDS, "residency": RESIDENCY, "district": DISTRICTS}
    if field in choices:
        code = str(value or "")
        if code and code not in choices[field]:
            raise ProfileError(f"{FIELDS[field]}は一覧から選んでください。")
        return code
    # moved_year
    if value in (None, ""):
        return None
    try:
        year = int(unicodedata.normalize("NFKC", str(value)).strip().rstrip("年"))
    except ValueError:
        raise ProfileError("移住した年は西暦の数字で入力してください（例: 2024）。") from None
    if not EARLIEST_MOVED_YEAR <= year <= to_jst(now()).year:
        raise ProfileError(
            f"移住した年は{EARLIEST_MOVED_YEAR}年から今年までの年で入力してください。"
        )
    return year


async def profile_of(resident_id: int) -> ResidentProfile:
    """The resident's profile (an empty one, not saved, if they have none yet)."""
    found = await ResidentProfile.get_or_none(resident_id=resident_id)
    return found or ResidentProfile(resident_id=resident_id, skills=[], filled={})


async def update(resident_id: int, changes: Mapping[str, Any], by: str) -> list[str]:
    """Set the fields in `changes` (cleaned; ProfileError names the first bad one) and record
    when and by whom each changed (or was first given). Returns the names of the fields whose
    value changed, in FIELDS order — `moved_year` too when a residency other than 移住 clears
    it. Locks the profile row, so a survey answer and a staff edit never lose each other's
    change."""
    cleaned = {name: clean(name, value) for name, value in changes.items()}
    if not cleaned:
        return []
    today = to_jst(now()).date().isoformat()
    async with in_transaction():
        profile = await ResidentProfile.filter(resident_id=resident_id).select_for_update().first()
        if profile is None:
            await ResidentProfile.get_or_create(resident_id=resident_id)  # races: one wins
            profile = await (
                ResidentProfile.filter(resident_id=resident_id).select_for_update().first()
            )
        assert profile is not None
        before = {name: getattr(profile, name) for name in FIELDS}
        for name, value in cleaned.items():
            setattr(profile, name, value)
        if profile.residency != "migrant":
            profile.moved_year = None  # the year belongs to 移住 only
        changed = [name for name in FIELDS if getattr(profile, name) != before[name]]
        filled = dict(profile.filled or {})
        # A field is dated when it changes (or is first given): a yearly survey confirming the
        # same answer keeps its date, so the goals count each person from when they came to
        # qualify (shima.domain.goals), not from the latest confirmation.
        given = {name for name in cleaned if name not in filled} | set(changed)
        if "moved_year" not in changed and profile.moved_year != cleaned.get("moved_year"):
            given.discard("moved_year")  # a year given with another residency was not taken
        for name in given:
            filled[name] = {"on": today, "by": by}
        profile.filled = filled
        await profile.save()
    return changed


def describe(profile: ResidentProfile) -> list[FieldValue]:
    """Every field in order with its Japanese text, for マイページ and the admin."""
    rows = []
    for name, label in FIELDS.items():
        mark = (profile.filled or {}).get(name) or {}
        rows.append(
            FieldValue(
                name,
                label,
                value_text(name, getattr(profile, name)),
                str(mark.get("on", "")),
                BY_LABELS.get(str(mark.get("by", "")), ""),
            )
        )
    return rows


def value_text(field: str, value: Any) -> str:
    if field == "skills":
        return "、".join(SKILLS[c] for c in value or [] if c in SKILLS) or "未回答"
    if field in ("raising_children", "side_job", "freelance_income"):
        return {True: "はい", False: "いいえ", None: "未回答"}[value]
    if field == "moved_year":
        return f"{value}年" if value else "未回答"
    labels = {"income_band": INCOME_BANDS, "residency": RESIDENCY, "district": DISTRICTS}
    if field in labels:
        return labels[field].get(value, "") or "未回答"
    return str(value or "") or "未回答"


# ---------- Tags ----------


def clean_tag(tag: str) -> str:
    text = unicodedata.normalize("NFKC", tag).strip()
    if not text:
        raise ProfileError("タグを入力してください。")
    if len(text) > TAG_MAX:
        raise ProfileError(f"タグは{TAG_MAX}文字以内で入力してください。")
    return text


async def add_tag(resident: Resident, tag: str, by: str) -> bool:
    """Tags the resident (False if they had it already)."""
    _, created = await ResidentTag.get_or_create(
        resident_id=resident.id, tag=clean_tag(tag), defaults={"created_by": by}
    )
    return created


async def remove_tag(resident: Resident, tag: str) -> bool:
    """Untags the resident (False if they did not have it)."""
    text = unicodedata.normalize("NFKC", tag).strip()
    return await ResidentTag.filter(resident_id=resident.id, tag=text).delete() > 0


async def tags_of(resident_id: int) -> list[str]:
    return [
        str(t)
        for t in await ResidentTag.filter(resident_id=resident_id)
        .order_by("created_at", "id")
        .values_list("tag", flat=True)
    ]


async def tags_by_resident(resident_ids: list[int]) -> dict[int, list[str]]:
    """Each resident's tags (in the order given), for a list page: one query."""
    found: dict[int, list[str]] = {}
    rows = (
        await ResidentTag.filter(resident_id__in=resident_ids)
        .order_by("created_at", "id")
        .values_list("resident_id", "tag")
    )
    for resident_id, tag in rows:
        found.setdefault(int(resident_id), []).append(str(tag))
    return found


async def tags_in_use() -> list[str]:
    """The suggested tags, then every other tag some resident has (for filters)."""
    used = {str(t) for t in await ResidentTag.all().distinct().values_list("tag", flat=True)}
    return [*SUGGESTED_TAGS, *sorted(used - set(SUGGESTED_TAGS))]
