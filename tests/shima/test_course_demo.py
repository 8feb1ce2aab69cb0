"""`shima seed-demo`'s 寺子屋・交流会 (shima/domain/course_demo.py): upcoming published sessions
with free seats and 託児 places, published news, and nothing added twice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models.consultation import Closure
from models.course import NewsItem, Programme, ProgrammeKind, ProgrammeSession, SessionStatus
from shima import areas
from shima.domain import course_demo
from shima.domain.calendar import holiday_name
from shima.timeutil import JST, now, today_jst
from tests.line_app import conftest as line_fixtures
from tests.line_app.test_consult_flow import Resident_

# The LINE side's fixtures (a worker answering through the fake LINE platform).
line = line_fixtures.line
worker = line_fixtures.worker


async def counts() -> tuple[int, int, int]:
    return (
        await Programme.all().count(),
        await ProgrammeSession.all().count(),
        await NewsItem.all().count(),
    )


async def test_seeds_a_course_a_meetup_and_news_once(db: str) -> None:
    summary = await course_demo.seed_demo()
    sessions = await ProgrammeSession.all().prefetch_related("programme")
    assert summary == f"寺子屋・交流会 {len(sessions)}回, お知らせ {len(course_demo.NEWS)}件"

    kinds = {p.kind: p for p in await Programme.all()}
    assert set(kinds) == {ProgrammeKind.TERAKOYA, ProgrammeKind.MEETUP, ProgrammeKind.WORKSHOP}
    course = kinds[ProgrammeKind.TERAKOYA]
    assert course.title == "フリーランス寺子屋：伝わる文章の書き方"
    assert course.fee == 0 and course.instructor and course.audience
    meetup = kinds[ProgrammeKind.MEETUP]
    assert meetup.title == "島フリーランス交流会" and meetup.fee == 500
    assert meetup.fee_text == "500円（当日お支払い）"

    for programme in kinds.values():
        mine = [s for s in sessions if s.programme_id == programme.id]
        assert 2 <= len(mine) <= 3, programme.title
        # Every area shows 託児: each programme has a session with places for children.
        assert any(s.childcare_places > 0 for s in mine), programme.title

    again = await counts()
    assert await course_demo.seed_demo() == ""  # idempotent
    assert await counts() == again


async def test_sessions_are_upcoming_published_daytime_with_free_seats(db: str) -> None:
    await course_demo.seed_demo()
    sessions = await ProgrammeSession.all()
    assert sessions
    for s in sessions:
        start, end = s.starts_at.astimezone(JST), s.ends_at.astimezone(JST)
        assert s.status == SessionStatus.PUBLISHED
        # In the next two to four weeks (a holiday may push one a few days later).
        assert now() + timedelta(days=7) < s.starts_at < now() + timedelta(days=36)
        assert 9 <= start.hour and end.hour <= 18 and start.date() == end.date()
        assert now() < s.deadline < s.starts_at
        assert s.taken == 0 and s.waiting == 0 and s.seats_left == s.seats > 0
        assert s.childcare_taken == 0 and s.childcare_left == s.childcare_places
        assert s.place in ("WorkStyle Lab Inno", "オンライン")
        if s.online:
            assert s.online_url.startswith("https://")


async def test_the_news_items_are_published(db: str) -> None:
    await course_demo.seed_demo()
    items = await NewsItem.all()
    assert len(items) == len(course_demo.NEWS)
    assert all(i.is_published and i.published_at and i.published_at <= now() for i in items)
    assert all(i.title and i.body for i in items)


async def test_a_closed_day_moves_a_session_to_the_next_open_day(db: str) -> None:
    first_tuesday = course_demo.session_day(today_jst() + timedelta(days=8), 1, 0)
    await Closure.create(date=first_tuesday, reason="館内点検")
    await course_demo.seed_demo()
    days = {s.starts_at.astimezone(JST).date() for s in await ProgrammeSession.all()}
    moved_to = first_tuesday + timedelta(days=1)
    while holiday_name(moved_to):
        moved_to += timedelta(days=1)
    assert first_tuesday not in days
    assert moved_to in days


async def test_a_later_run_plans_sessions_again_once_the_demo_ones_are_past(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await course_demo.seed_demo()
    before = await ProgrammeSession.all().count()
    later = now() + timedelta(days=60)
    monkeypatch.setattr(course_demo, "now", lambda: later)
    monkeypatch.setattr(course_demo, "today_jst", lambda: later.astimezone(JST).date())
    assert await course_demo.seed_demo() == f"寺子屋・交流会 {before}回"
    assert await Programme.all().count() == 3  # the same programmes, new sessions
    assert await course_demo.seed_demo() == ""
    assert await ProgrammeSession.filter(starts_at__gt=later).count() == before


async def test_shima_seed_demo_includes_the_course_area(db: str) -> None:
    summary = await areas.seed_demo()
    assert any(part.startswith("寺子屋・交流会 ") for part in summary), summary
    assert await areas.seed_demo() == []


def test_session_day_is_the_weekday_on_or_after_the_anchor() -> None:
    monday = date(2026, 12, 7)
    assert course_demo.session_day(monday, 0, 0) == monday
    assert course_demo.session_day(monday, 4, 0) == date(2026, 12, 11)
    assert course_demo.session_day(monday, 1, 2) == date(2026, 12, 22)


async def test_the_demo_shows_in_line_at_once(client, fake_line, worker) -> None:
    """`make run`: the seeded sessions are in the list, one can be signed up for, and
    イベント・お知らせ shows the news."""
    await course_demo.seed_demo()
    fake_line.add_user("U1", "奄美 花子")
    resident = Resident_(client, fake_line, worker, "U1")
    await resident.say("寺子屋")
    shown = resident.text()
    for programme in course_demo.PROGRAMMES:
        assert programme.title in shown, programme.title
    meetup = (
        await ProgrammeSession.filter(programme__kind=ProgrammeKind.MEETUP)
        .order_by("starts_at")
        .first()
    )
    assert meetup is not None
    await resident.tap(f"flow=course&step=detail&s={meetup.id}")
    await resident.tap(resident.first_button_with("apply"))
    await resident.tap(resident.button("不要"))
    await resident.tap(resident.first_button_with("confirm"))
    assert "お申し込みを受け付けました" in resident.text()
    await resident.say("お知らせ")
    assert all(title in resident.text() for title, _ in course_demo.NEWS)
