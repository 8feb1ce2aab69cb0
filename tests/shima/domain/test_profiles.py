"""shima.domain.profiles: what each field takes, how a change is recorded (when, by whom,
latest wins), the year that belongs to 移住 only, updates at once on one profile, and tags."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from models.profiles import ResidentProfile, ResidentTag
from shima.domain import profiles
from shima.domain.profiles import BY_RESIDENT, BY_STAFF, BY_SURVEY, ProfileError
from tests.shima.domain.helpers import resident

# 2026-12-31 15:30 UTC is 2027-01-01 00:30 in Japan: the JST date and year are the new ones.
NEW_YEAR_JST = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)


@pytest.fixture
def new_year(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(profiles, "now", lambda: NEW_YEAR_JST)
    return NEW_YEAR_JST


# -- clean ----------------------------------------------------------------------------------


def test_skills_in_the_lists_order_without_repeats() -> None:
    assert profiles.clean("skills", ["web", "writer", "web"]) == ["writer", "web"]
    assert profiles.clean("skills", []) == []
    assert profiles.clean("skills", None) == []
    with pytest.raises(ProfileError, match="職種・スキルは一覧から選んでください。"):
        profiles.clean("skills", ["writer", "astronaut"])


def test_occupation_is_one_line_of_at_most_100_characters() -> None:
    assert profiles.clean("occupation", "  ＷＥＢ　ライター\n（観光）  ") == "WEB ライター (観光)"
    assert profiles.clean("occupation", None) == ""
    assert profiles.clean("occupation", "あ" * 100) == "あ" * 100
    with pytest.raises(ProfileError, match="職種は100文字以内で入力してください。"):
        profiles.clean("occupation", "あ" * 101)


@pytest.mark.parametrize("field", ["raising_children", "side_job", "freelance_income"])
def test_yes_no_fields_take_a_bool_or_not_told(field: str) -> None:
    assert profiles.clean(field, True) is True
    assert profiles.clean(field, False) is False
    assert profiles.clean(field, None) is None
    for bad in ("yes", 1, "はい"):
        with pytest.raises(ProfileError, match="はい・いいえで答えてください。"):
            profiles.clean(field, bad)


@pytest.mark.parametrize(
    ("field", "good", "label"),
    [
        ("income_band", "60to150", "フリーランスの年収（目安）"),
        ("residency", "considering", "地元／移住"),
        ("district", "kasari", "お住まいの地区"),
    ],
)
def test_codes_come_from_their_list(field: str, good: str, label: str) -> None:
    assert profiles.clean(field, good) == good
    assert profiles.clean(field, "") == ""
    assert profiles.clean(field, None) == ""
    with pytest.raises(ProfileError, match=f"{label}は一覧から選んでください。"):
        profiles.clean(field, "tokyo")


def test_the_moved_year_as_typed(new_year: datetime) -> None:
    for typed in ("2019", "２０１９", " 2019年 ", 2019):
        assert profiles.clean("moved_year", typed) == 2019
    assert profiles.clean("moved_year", "") is None
    assert profiles.clean("moved_year", None) is None
    assert profiles.clean("moved_year", "1950") == 1950
    assert profiles.clean("moved_year", "2027") == 2027  # this year in Japan already
    with pytest.raises(ProfileError, match="西暦の数字で入力してください"):
        profiles.clean("moved_year", "令和元年")
    for bad in ("1949", "2028", "-5"):
        with pytest.raises(ProfileError, match="1950年から今年までの年で入力してください"):
            profiles.clean("moved_year", bad)


def test_the_year_ends_with_the_jst_year(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles, "now", lambda: datetime(2026, 12, 31, 14, 59, tzinfo=UTC))
    with pytest.raises(ProfileError):
        profiles.clean("moved_year", "2027")  # 23:59 on 31 December in Japan


def test_only_profile_fields() -> None:
    with pytest.raises(ProfileError, match="プロフィールの項目ではありません"):
        profiles.clean("filled", {})


# -- update -----------------------------------------------------------------------------------


async def test_a_resident_with_no_profile_has_an_empty_one(db: str) -> None:
    someone = await resident()
    profile = await profiles.profile_of(someone.id)
    assert profile.id is None and profile.skills == [] and profile.filled == {}
    assert [f.text for f in profiles.describe(profile)] == ["未回答"] * len(profiles.FIELDS)
    assert await ResidentProfile.all().count() == 0  # nothing saved by looking


async def test_update_records_when_and_by_whom_and_the_latest_wins(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    someone = await resident()
    monkeypatch.setattr(profiles, "now", lambda: datetime(2026, 6, 1, 3, 0, tzinfo=UTC))
    changed = await profiles.update(
        someone.id, {"skills": ["web"], "raising_children": True}, BY_SURVEY
    )
    assert changed == ["skills", "raising_children"]
    monkeypatch.setattr(profiles, "now", lambda: NEW_YEAR_JST)
    changed = await profiles.update(
        someone.id, {"raising_children": False, "skills": ["web"]}, BY_RESIDENT
    )
    assert changed == ["raising_children"]  # skills given again, same value
    profile = await profiles.profile_of(someone.id)
    assert profile.raising_children is False and profile.skills == ["web"]
    assert profile.filled == {
        # The same skills again keep their date: a field is dated when it changes.
        "skills": {"on": "2026-06-01", "by": BY_SURVEY},
        "raising_children": {"on": "2027-01-01", "by": BY_RESIDENT},  # the JST date
    }
    shown = {f.field: f for f in profiles.describe(profile)}
    assert (shown["raising_children"].text, shown["raising_children"].by) == (
        "いいえ",
        "本人（LINE）",
    )
    assert shown["raising_children"].on == "2027-01-01"
    assert (shown["side_job"].text, shown["side_job"].on, shown["side_job"].by) == (
        "未回答",
        "",
        "",
    )
    await profiles.update(someone.id, {"district": "naze"}, BY_STAFF)
    shown = {f.field: f for f in profiles.describe(await profiles.profile_of(someone.id))}
    assert (shown["district"].text, shown["district"].by) == ("名瀬", "スタッフ")
    assert shown["skills"].by == "アンケート"  # other fields keep their own record


async def test_a_bad_value_changes_nothing(db: str) -> None:
    someone = await resident()
    await profiles.update(someone.id, {"district": "naze"}, BY_RESIDENT)
    with pytest.raises(ProfileError, match="移住した年は"):
        await profiles.update(someone.id, {"district": "kasari", "moved_year": "abc"}, BY_STAFF)
    profile = await profiles.profile_of(someone.id)
    assert profile.district == "naze" and profile.filled["district"]["by"] == BY_RESIDENT
    assert await profiles.update(someone.id, {}, BY_STAFF) == []


async def test_the_year_belongs_to_migrants_only(db: str) -> None:
    someone = await resident()
    changed = await profiles.update(
        someone.id, {"residency": "migrant", "moved_year": "２０２０"}, BY_RESIDENT
    )
    assert changed == ["residency", "moved_year"]
    assert (await profiles.profile_of(someone.id)).moved_year == 2020
    # Away from 移住: the year goes, and the change says so.
    changed = await profiles.update(someone.id, {"residency": "local"}, BY_STAFF)
    assert changed == ["residency", "moved_year"]
    profile = await profiles.profile_of(someone.id)
    assert profile.residency == "local" and profile.moved_year is None
    assert profile.filled["moved_year"]["by"] == BY_STAFF
    # A year given with another residency is not taken, nor recorded as given.
    other = await resident("奄美 次郎")
    changed = await profiles.update(other.id, {"residency": "local", "moved_year": 2019}, BY_SURVEY)
    profile = await profiles.profile_of(other.id)
    assert changed == ["residency"] and profile.moved_year is None
    assert "moved_year" not in profile.filled


async def test_concurrent_updates_of_different_fields_are_both_kept(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A survey answer and a staff edit at once: each reads the profile, then (slowly) saves.
    The row lock makes the second wait for the first and start from its result; without it
    the slower save would write back the older value of the other's field."""
    someone = await resident()
    await profiles.update(someone.id, {"district": "naze"}, BY_RESIDENT)
    await slow_saves(monkeypatch)
    await at_once(
        lambda: profiles.update(someone.id, {"skills": ["photo", "sns"]}, BY_SURVEY),
        lambda: profiles.update(someone.id, {"side_job": True}, BY_STAFF),
    )
    profile = await profiles.profile_of(someone.id)
    assert profile.skills == ["photo", "sns"] and profile.side_job is True
    assert profile.district == "naze"
    assert {k: v["by"] for k, v in profile.filled.items()} == {
        "district": BY_RESIDENT,
        "skills": BY_SURVEY,
        "side_job": BY_STAFF,
    }


async def test_concurrent_first_updates_make_one_profile(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    someone = await resident()
    await slow_saves(monkeypatch)
    await at_once(
        lambda: profiles.update(someone.id, {"residency": "considering"}, BY_SURVEY),
        lambda: profiles.update(someone.id, {"district": "sumiyo"}, BY_RESIDENT),
    )
    assert await ResidentProfile.filter(resident_id=someone.id).count() == 1
    profile = await profiles.profile_of(someone.id)
    assert (profile.residency, profile.district) == ("considering", "sumiyo")


async def slow_saves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each profile save waits a moment first: two updates both read before either writes
    unless something makes the second wait."""
    save = ResidentProfile.save

    async def slow_save(self: ResidentProfile, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0.2)
        await save(self, *args, **kwargs)

    monkeypatch.setattr(ResidentProfile, "save", slow_save)


async def at_once(*calls: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run `calls` together, each in its own transaction (separate connections on
    PostgreSQL; SQLite runs them in turn)."""
    go = asyncio.Event()

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        await go.wait()
        return await call()

    tasks = [asyncio.create_task(one(call)) for call in calls]  # made outside a transaction
    await asyncio.sleep(0)
    go.set()
    return list(await asyncio.gather(*tasks))


# -- tags -------------------------------------------------------------------------------------


async def test_tags(db: str) -> None:
    hanako, jiro = await resident(), await resident("奄美 次郎")
    assert await profiles.add_tag(hanako, " 講師 ", "staff@example.jp") is True
    assert await profiles.add_tag(hanako, profiles.LEADER_TAG, "staff@example.jp") is True
    assert await profiles.add_tag(hanako, "講師", "other@example.jp") is False  # had it
    assert await profiles.add_tag(jiro, "ＳＮＳ先生", "staff@example.jp") is True  # NFKC
    assert await profiles.tags_of(hanako.id) == ["講師", profiles.LEADER_TAG]
    assert await profiles.tags_of(jiro.id) == ["SNS先生"]
    tag = await ResidentTag.get(resident_id=hanako.id, tag="講師")
    assert tag.created_by == "staff@example.jp"
    assert await profiles.tags_by_resident([hanako.id, jiro.id]) == {
        hanako.id: ["講師", profiles.LEADER_TAG],
        jiro.id: ["SNS先生"],
    }
    assert await profiles.tags_in_use() == [*profiles.SUGGESTED_TAGS, "SNS先生"]
    for bad, message in (("", "タグを入力してください。"), ("あ" * 31, "30文字以内")):
        with pytest.raises(ProfileError, match=message):
            await profiles.add_tag(hanako, bad, "staff@example.jp")
    assert await profiles.add_tag(hanako, "あ" * 30, "staff@example.jp") is True
    assert await profiles.remove_tag(hanako, "講師") is True
    assert await profiles.remove_tag(hanako, "講師") is False
    assert await profiles.remove_tag(jiro, "ＳＮＳ先生") is True  # as it was typed
    assert await profiles.tags_of(hanako.id) == [profiles.LEADER_TAG, "あ" * 30]
    assert await profiles.tags_of(jiro.id) == []
