"""The slot lifecycle rules (shima/domain/slots.py): planning from a weekly pattern, creating
one slot, what an edit may change while the slot holds bookings, and removal."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models.consultation import Booking, Closure, ConsultationSlot, Method, Topic
from shima.domain import consultation as rules
from shima.domain import slots
from shima.domain.slots import SlotSpec, WeeklyPattern, pattern_times, plan_pattern
from shima.settings import Settings
from shima.timeutil import JST, short_date, today_jst
from tests.shima.domain.helpers import jst, open_day, resident, slot


def pattern(first: date, last: date, **kw: Any) -> WeeklyPattern:
    fields: dict[str, Any] = {
        "weekdays": frozenset({1, 3}),  # 火・木
        "start": time(10),
        "end": time(12),
        "minutes": 60,
        "capacity": 1,
        "methods": "visit,online",
        "counsellor": "田中",
        **kw,
    }
    return WeeklyPattern(first=first, last=last, **fields)


# ---------- Bulk planning ----------


def test_pattern_times_fit_whole_slots_in_jst() -> None:
    day = date(2026, 12, 8)
    times = pattern_times(day, time(10), time(12, 30), 45)
    assert [(s.astimezone(JST).time(), e.astimezone(JST).time()) for s, e in times] == [
        (time(10), time(10, 45)),
        (time(10, 45), time(11, 30)),
        (time(11, 30), time(12, 15)),
    ]
    assert times[0][0] == jst(day, 10) and times[0][0].utcoffset() == timedelta(0)
    assert pattern_times(day, time(10), time(10, 30), 60) == []


async def test_plan_pattern_skips_closed_days_and_duplicates(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2026-11-23 (月) 勤労感謝の日 … 12/6; 火・木 are 11/24, 11/26, 12/1, 12/3. The clock is
    # set before them (past times are skipped, see test_slot_rules).
    monkeypatch.setattr(slots, "now", lambda: jst(date(2026, 11, 1), 9))
    await Closure.create(date=date(2026, 12, 1), reason="施設点検")
    await ConsultationSlot.create(
        starts_at=jst(date(2026, 11, 26), 10),
        ends_at=jst(date(2026, 11, 26), 11),
        counsellor="田中",
    )
    result = await plan_pattern(pattern(date(2026, 11, 23), date(2026, 12, 6)))
    planned = result.slots
    assert result.skipped == [(date(2026, 12, 1), "施設点検")]
    assert result.duplicates == 1 and result.created == len(planned) == 5
    days = sorted({s.starts_at.astimezone(JST).date() for s in planned})
    assert days == [date(2026, 11, 24), date(2026, 11, 26), date(2026, 12, 3)]
    assert all(s.methods == "visit,online" and s.counsellor == "田中" for s in planned)
    assert await ConsultationSlot.all().count() == 1  # planning stores nothing
    holidays = await plan_pattern(
        pattern(date(2026, 12, 28), date(2027, 1, 4), weekdays=frozenset(range(5)))
    )
    assert [d for d, _ in holidays.skipped] == [
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
    ]
    assert holidays.created == 4  # 12/28 and 1/4, two slots each


async def test_another_counsellor_at_the_same_time_is_not_a_duplicate(db: str) -> None:
    day = date(2026, 12, 8)
    await ConsultationSlot.create(starts_at=jst(day, 10), ends_at=jst(day, 11), counsellor="田中")
    result = await plan_pattern(pattern(day, day, counsellor="鈴木"))
    assert result.duplicates == 0 and result.created == 2


async def test_create_from_pattern_stores_the_plan_within_the_limit(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = open_day()
    every_day = frozenset(range(7))
    plan = await slots.create_from_pattern(pattern(day, day, weekdays=every_day))
    assert plan.created == 2 and await ConsultationSlot.all().count() == 2
    again = await slots.create_from_pattern(pattern(day, day, weekdays=every_day))
    assert again.created == 0 and again.duplicates == 2
    monkeypatch.setattr(slots, "MAX_PATTERN_SLOTS", 1)
    with pytest.raises(slots.TooManySlots):
        await slots.create_from_pattern(pattern(day, day, weekdays=every_day, end=time(14)))
    assert await ConsultationSlot.all().count() == 2  # refused whole: nothing stored


# ---------- One slot ----------


def spec(day: date, **kw: Any) -> SlotSpec:
    fields: dict[str, Any] = {
        "start": time(10),
        "end": time(10, 50),
        "counsellor": "田中",
        "methods": (Method.VISIT, Method.ONLINE, Method.PHONE),
        "capacity": 1,
        "note": "",
        **kw,
    }
    return SlotSpec(day=day, **fields)


def test_slot_spec_columns_and_moves() -> None:
    day = date(2026, 12, 8)
    s = spec(day, methods=(Method.ONLINE,), capacity=2)
    assert s.columns() == {
        "starts_at": jst(day, 10),
        "ends_at": jst(day, 10, 50),
        "counsellor": "田中",
        "methods": "online",
        "capacity": 2,
        "note": "",
    }
    same = ConsultationSlot(starts_at=jst(day, 10), ends_at=jst(day, 10, 50))
    assert not s.moves(same)
    assert spec(day, end=time(11)).moves(same)


async def test_create_slot_refuses_closed_days_and_duplicates(db: str) -> None:
    day = open_day()
    await Closure.create(date=day, reason="施設点検")
    with pytest.raises(slots.SlotRefused) as closed:
        await slots.create_slot(spec(day))
    assert closed.value.problems == [
        f"{short_date(day)}は休館日（施設点検）です。別の日を選んでください。"
    ]
    assert await ConsultationSlot.all().count() == 0
    other = open_day((day - today_jst()).days + 1)
    created = await slots.create_slot(spec(other))
    assert created.starts_at == jst(other, 10) and created.methods == "visit,online,phone"
    with pytest.raises(slots.SlotRefused) as twice:
        await slots.create_slot(spec(other))
    assert twice.value.problems == ["同じ日時・担当の相談枠がすでにあります。"]
    assert (await slots.create_slot(spec(other, counsellor="森"))).counsellor == "森"
    assert await ConsultationSlot.all().count() == 2


async def _booked(settings: Settings, target: ConsultationSlot, *methods: Method) -> None:
    for method in methods:
        async with in_transaction():
            await rules.book(
                await resident(), rules.BookingRequest(target.id, Topic.START, method), settings
            )


async def test_edit_keeps_room_and_methods_for_the_bookings(settings: Settings) -> None:
    day = open_day()
    target = await slot(jst(day, 10), capacity=3)
    await _booked(settings, target, Method.VISIT, Method.PHONE)
    bookings = await slots.active_bookings(target.id)
    assert len(bookings) == 2
    narrow = spec(day, methods=(Method.VISIT, Method.ONLINE), capacity=1)
    assert await slots.edit_problems(target, bookings, narrow, "", "") == [
        "予約が2件あるため、定員はそれより少なくできません。",
        "予約で選ばれている相談方法（電話）は外せません。",
    ]
    fits = spec(day, methods=(Method.VISIT, Method.PHONE), capacity=2)
    assert await slots.edit_problems(target, bookings, fits, "", "") == []
    assert await slots.edit_problems(target, [], narrow, "", "") == []


async def test_moving_a_booked_slot_needs_an_open_day_an_action_and_a_reason(
    settings: Settings,
) -> None:
    day = open_day()
    target = await slot(jst(day, 10))
    await _booked(settings, target, Method.VISIT)
    bookings = await slots.active_bookings(target.id)
    closed = spec(date(2026, 12, 30))
    assert await slots.edit_problems(target, bookings, closed, slots.NOTIFY, "会議室") == [
        "12/30(水)は休館日（年末年始）です。別の日を選んでください。"
    ]
    later = spec(day, start=time(11), end=time(11, 50))
    assert await slots.edit_problems(target, bookings, later, "", "会議室") == [
        "日時を変えるときは、入っている予約の扱いを選んでください。"
    ]
    assert await slots.edit_problems(target, bookings, later, slots.NOTIFY, "") == [
        "利用者にお知らせする理由を入力してください。"
    ]
    assert await slots.edit_problems(target, bookings, later, slots.NOTIFY, "会議室") == []
    # Cancelling the bookings frees the slot of their constraints.
    phone_only = spec(day, start=time(11), end=time(11, 50), methods=(Method.PHONE,))
    assert await slots.edit_problems(target, bookings, phone_only, slots.CANCEL, "会議室") == []
    assert await slots.edit_problems(target, bookings, phone_only, slots.NOTIFY, "会議室") == [
        "予約で選ばれている相談方法（来所）は外せません。"
    ]


async def test_update_slot_refuses_when_a_booking_no_longer_fits(settings: Settings) -> None:
    day = open_day()
    target = await slot(jst(day, 10), capacity=2)
    await slots.update_slot(target, spec(day, capacity=2, note="2名まで"))
    await target.refresh_from_db()
    assert target.note == "2名まで" and target.capacity == 2
    await _booked(settings, target, Method.VISIT, Method.ONLINE)  # arrived after the check
    with pytest.raises(slots.SlotChanged):
        await slots.update_slot(target, spec(day, capacity=1))
    await target.refresh_from_db()
    assert target.capacity == 2


def test_removal_problems() -> None:
    booked = [Booking()]
    assert slots.removal_problems([], "", "", None) == []
    assert slots.removal_problems(booked, "", "理由", None) == [
        "入っている予約の扱いを選んでください。"
    ]
    assert slots.removal_problems(booked, slots.CANCEL, "", None) == [
        "利用者にお知らせする理由を入力してください。"
    ]
    assert slots.removal_problems(booked, slots.MOVE, "理由", None) == [
        "移動先の相談枠を選んでください。"
    ]
    assert slots.removal_problems(booked, slots.MOVE, "理由", 7) == []
    assert slots.removal_problems(booked, slots.CANCEL, "理由", None) == []


# ---------- Removal ----------


async def test_remove_a_slot_nobody_booked_deletes_it(db: str) -> None:
    empty = await slot(jst(open_day(), 10))
    await slots.remove_slot(empty)
    assert not await ConsultationSlot.exists(id=empty.id)


async def test_remove_a_slot_with_history_keeps_it_inactive(settings: Settings) -> None:
    target = await slot(jst(open_day(), 10))
    async with in_transaction():
        booking = await rules.book(
            await resident(), rules.BookingRequest(target.id, Topic.START, Method.VISIT), settings
        )
    with pytest.raises(slots.SlotChanged):  # an active booking: never removed under it
        await slots.remove_slot(target)
    await rules.cancel_by_staff(booking.id, "")
    await slots.remove_slot(target)
    kept = await ConsultationSlot.get(id=target.id)
    assert kept.is_active is False and await Booking.exists(slot_id=target.id)
