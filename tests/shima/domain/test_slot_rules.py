"""Issue 8's rules as plain functions: what "overlap" means, the past, closed days for staff,
the next free hour, 来所済み from the start on, and a move as one booking with its history."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

import pytest
from tortoise.transactions import in_transaction

from models.consultation import (
    BookedBy,
    Booking,
    BookingMove,
    BookingStatus,
    Closure,
    ConsultationSlot,
    Method,
    Topic,
)
from models.residents import Resident
from shima.domain import consultation as rules
from shima.domain import slots
from shima.domain.slots import SlotSpec, WeeklyPattern
from shima.settings import Settings
from shima.timeutil import JST, now
from tests.conftest import BACKEND
from tests.shima.domain.helpers import jst, open_day, resident, slot


def spec(day: date, start: time, end: time, counsellor: str = "田中") -> SlotSpec:
    return SlotSpec(day, start, end, counsellor, (Method.VISIT,), 1, "")


async def staff_book(who: Resident, slot_id: int, settings: Settings) -> Booking:
    async with in_transaction():
        return await rules.book(
            who,
            rules.BookingRequest(slot_id, Topic.START, Method.VISIT, booked_by=BookedBy.STAFF),
            settings,
        )


# ---------- Overlap ----------


async def test_overlap_is_same_counsellor_intersecting_times_active_slots(db: str) -> None:
    day = open_day()
    await slot(jst(day, 10), counsellor="田中")  # 10:00–10:50
    removed = await slot(jst(day, 13), counsellor="田中")
    await ConsultationSlot.filter(id=removed.id).update(is_active=False)
    with pytest.raises(slots.SlotRefused) as refused:
        await slots.create_slot(spec(day, time(10, 30), time(11, 30)))
    assert "時間が重なります" in refused.value.problems[0]
    with pytest.raises(slots.SlotRefused):  # inside it
        await slots.create_slot(spec(day, time(10, 10), time(10, 20)))
    with pytest.raises(slots.SlotRefused):  # around it
        await slots.create_slot(spec(day, time(9), time(12)))
    assert (await slots.create_slot(spec(day, time(10, 50), time(11, 30)))).id  # touching
    assert (await slots.create_slot(spec(day, time(10), time(11), "森"))).id  # someone else
    assert (await slots.create_slot(spec(day, time(13), time(14)))).id  # a removed slot
    # A blank counsellor is one person too (担当未定).
    await slots.create_slot(spec(day, time(15), time(16), ""))
    with pytest.raises(slots.SlotRefused) as blank:
        await slots.create_slot(spec(day, time(15, 30), time(16, 30), ""))
    assert "担当未定さんの相談枠" in blank.value.problems[0]


async def test_plan_pattern_skips_overlaps_and_past_times(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = open_day()
    monkeypatch.setattr(slots, "now", lambda: jst(day, 10, 30))
    existing = await slot(jst(day, 12, 30))  # 12:30–13:20, 田中
    plan = await slots.plan_pattern(
        WeeklyPattern(
            first=day,
            last=day,
            weekdays=frozenset({day.weekday()}),
            start=time(10),
            end=time(14),
            minutes=60,
            capacity=1,
            methods="visit",
            counsellor="田中",
        )
    )
    assert plan.past == 1  # 10:00 has begun
    assert [(s, o.id) for s, _, o in plan.overlaps] == [
        (jst(day, 12), existing.id),
        (jst(day, 13), existing.id),
    ]
    assert [s.starts_at for s in plan.slots] == [jst(day, 11)]


# ---------- The past and closed days ----------


async def test_a_slot_in_the_past_is_refused_even_today(db: str) -> None:
    at = now().astimezone(JST)
    earlier = at - timedelta(hours=1)
    with pytest.raises(slots.SlotRefused) as refused:
        await slots.create_slot(
            spec(earlier.date(), earlier.time().replace(microsecond=0), time(23, 59))
        )
    assert "過去の日時には相談枠を作れません" in refused.value.problems[0]


async def test_staff_choices_leave_out_closed_days_and_for_moves_started_slots(
    settings: Settings,
) -> None:
    day = open_day()
    closed = await slot(jst(day, 10))
    begun = await slot(now() - timedelta(minutes=10))
    fine = await slot(jst(open_day(12), 10))
    await Closure.create(date=day, reason="施設点検")
    assert [s.id for s in await rules.staff_choices(60)] == [begun.id, fine.id]
    assert [s.id for s in await rules.staff_choices(60, moving=True)] == [fine.id]
    with pytest.raises(rules.SlotOnClosedDay) as refused:
        await staff_book(await resident(), closed.id, settings)
    assert "休館日（施設点検）" in refused.value.message


async def test_next_free_hour_skips_taken_hours_the_night_and_closed_days(db: str) -> None:
    day = open_day()
    at = datetime.combine(day, time(15, 5), tzinfo=JST)
    await slot(jst(day, 16), counsellor="森")  # 16:00–16:50
    # 16:00 is taken and 17:00 is past the desk's hours: the next open morning.
    await Closure.create(date=day + timedelta(days=1), reason="施設点検")
    found = await slots.next_free_hour(None, 9, 17, at=at)
    assert found[1:] == (time(9), time(10))
    assert found[0] > day + timedelta(days=1)
    assert await slots.next_free_hour(None, 9, 17, at=at.replace(hour=8)) == (
        day,
        time(9),
        time(10),
    )


# ---------- 来所済み from the slot's start ----------


async def test_mark_before_the_start_raises_too_early(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = jst(open_day(), 10)
    booking = await staff_book(await resident(), (await slot(start)).id, settings)
    monkeypatch.setattr(rules, "now", lambda: start - timedelta(seconds=1))
    for status in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW):
        with pytest.raises(rules.TooEarly):
            await rules.mark(booking.id, status)
    monkeypatch.setattr(rules, "now", lambda: start)
    assert (await rules.mark(booking.id, BookingStatus.NO_SHOW)).status == BookingStatus.NO_SHOW
    assert (await rules.mark(booking.id, BookingStatus.BOOKED)).status == BookingStatus.BOOKED


# ---------- A move ----------


async def test_a_move_is_refused_for_the_past_a_closed_day_the_same_slot_and_a_double(
    settings: Settings,
) -> None:
    day = open_day()
    who = await resident()
    current = await slot(jst(day, 10))
    booking = await staff_book(who, current.id, settings)
    begun = await slot(now() - timedelta(minutes=5))
    closed = await slot(jst(open_day(12), 10))
    await Closure.create(date=closed.starts_at.astimezone(JST).date(), reason="点検")
    mine = await slot(jst(day, 15))
    await staff_book(who, mine.id, settings)
    online_only = await slot(jst(day, 16), methods="online")
    for target, error in (
        (begun, rules.MoveIntoPast),
        (closed, rules.SlotOnClosedDay),
        (current, rules.SameSlot),
        (mine, rules.AlreadyBooked),
        (online_only, rules.MethodNotOffered),
    ):
        with pytest.raises(error):
            async with in_transaction():
                await rules.move_by_staff(booking.id, target.id, "", settings)
    await booking.refresh_from_db()
    assert booking.slot_id == current.id and await BookingMove.all().count() == 0
    assert (await ConsultationSlot.get(id=current.id)).booked_count == 1
    assert all(
        s.booked_count == 0
        for s in await ConsultationSlot.filter(id__in=[begun.id, closed.id, online_only.id])
    )


async def test_a_move_resets_the_reminder_for_the_new_time(settings: Settings) -> None:
    day = open_day()
    booking = await staff_book(await resident(), (await slot(jst(day, 10))).id, settings)
    await Booking.filter(id=booking.id).update(reminder_queued_at=now())
    target = await slot(jst(day + timedelta(days=7), 10))
    async with in_transaction():
        move = await rules.move_by_staff(booking.id, target.id, "", settings)
    assert move.booking.reminder_queued_at is None
    assert move.booking.active_key == f"{target.id}:{booking.resident_id}"


# ---------- Two staff at the same moment ----------


@pytest.mark.skipif(
    BACKEND != "postgres",
    reason="SQLite runs one transaction at a time: the two saves cannot interleave",
)
async def test_two_overlapping_slots_saved_at_once_are_never_both_kept(db: str) -> None:
    """The first save has checked and inserted but not committed when the second checks:
    the second waits on the counsellor's lock, then sees the first and is refused."""
    day = open_day()
    inserted = asyncio.Event()

    async def first() -> str:
        async with in_transaction():
            await slots.create_slot(spec(day, time(10), time(11)))
            inserted.set()
            await asyncio.sleep(0.5)  # still uncommitted while the second one checks
        return "created"

    async def second() -> str:
        await inserted.wait()
        try:
            async with in_transaction():
                await slots.create_slot(spec(day, time(10, 30), time(11, 30)))
        except slots.SlotRefused:
            return "refused"
        return "created"

    assert await asyncio.gather(first(), second()) == ["created", "refused"]
    assert await ConsultationSlot.all().count() == 1


async def test_update_slot_checks_the_overlap_again_when_it_saves(db: str) -> None:
    """edit_problems runs before the admin's transaction; a slot saved in between is still
    caught by update_slot, under the counsellor's lock."""
    day = open_day()
    mine = await slot(jst(day, 13))
    edit = spec(day, time(10), time(11))
    assert await slots.edit_problems(mine, [], edit, "", "") == []
    await slot(jst(day, 10, 30))  # another member of staff, meanwhile
    with pytest.raises(slots.SlotRefused):
        async with in_transaction():
            await slots.update_slot(mine, edit)
    assert (await ConsultationSlot.get(id=mine.id)).starts_at == jst(day, 13)
