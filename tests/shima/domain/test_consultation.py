"""shima.domain.consultation: every booking rule, called as plain functions over a real database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.consultation import (
    BookedBy,
    Booking,
    BookingStatus,
    CancelledBy,
    Closure,
    ConsultationSlot,
    Method,
    Topic,
)
from models.residents import Resident
from shima.domain import consultation as rules
from shima.settings import Settings
from shima.timeutil import JST, now
from tests.shima.domain.helpers import jst, open_day, resident, slot


def days_from_today(day: date) -> int:
    return (day - now().astimezone(JST).date()).days


def request(slot_id: int, **kw: object) -> rules.BookingRequest:
    return rules.BookingRequest(slot_id, Topic.START, Method.VISIT, **kw)  # type: ignore[arg-type]


async def book(who: Resident, slot_id: int, settings: Settings, **kw: object) -> Booking:
    async with in_transaction():
        return await rules.book(who, request(slot_id, **kw), settings)


async def refused(
    error: type[rules.BookingError], who: Resident, slot_id: int, settings: Settings, **kw: object
) -> rules.BookingError:
    with pytest.raises(error) as caught:
        await book(who, slot_id, settings, **kw)
    return caught.value


# ---------- What is offered ----------


def test_booking_cutoff_is_close_hours_from_now(settings: Settings) -> None:
    at = now()
    assert rules.booking_cutoff(settings.with_overrides(consult_close_hours=3), at) == at + (
        timedelta(hours=3)
    )
    assert rules.booking_cutoff(settings) - now() <= timedelta(hours=2)


async def test_free_slots_leaves_out_what_cannot_be_booked(settings: Settings) -> None:
    day = open_day(3)
    other = open_day(days_from_today(day) + 1)
    closed = open_day(days_from_today(other) + 1)
    free = await slot(jst(day, 10))
    later = await slot(jst(other, 9))
    await slot(jst(day, 11), is_active=False)
    await slot(jst(day, 13), booked_count=1)  # full
    await slot(now() + timedelta(hours=1))  # inside the cut-off
    await slot(now() + timedelta(days=settings.consult_days_ahead + 3))  # beyond the window
    await Closure.create(date=closed, reason="施設点検")
    await slot(jst(closed, 10))
    found = await rules.free_slots(settings)
    assert [s.id for s in found] == [free.id, later.id]
    assert found == sorted(found, key=lambda s: s.starts_at)
    assert [s.id for s in await rules.free_slots_on(settings, day)] == [free.id]
    assert await rules.free_slots_on(settings, closed) == []
    dates = await rules.open_dates(settings)
    assert dates == sorted({day, other})


async def test_no_free_slots_at_all(settings: Settings) -> None:
    assert await rules.free_slots(settings) == []
    assert await rules.open_dates(settings) == []
    assert await rules.nearest_free(settings, now()) == []


async def test_nearest_free_is_the_closest_few_in_time_order(settings: Settings) -> None:
    day = open_day(5)
    slots = [await slot(jst(day, h)) for h in (9, 10, 11, 13, 15)]
    nearest = await rules.nearest_free(settings, jst(day, 13), limit=3)
    assert [s.id for s in nearest] == [slots[2].id, slots[3].id, slots[4].id]
    assert [s.id for s in await rules.nearest_free(settings, jst(day, 9), limit=2)] == [
        slots[0].id,
        slots[1].id,
    ]


async def test_upcoming_lists_active_bookings_that_have_not_ended(settings: Settings) -> None:
    who = await resident()
    day = open_day(5)
    second = await book(who, (await slot(jst(day, 14))).id, settings)
    first = await book(who, (await slot(jst(day, 10))).id, settings)
    cancelled = await book(
        who,
        (await slot(jst(day, 16), capacity=2)).id,
        settings,
        booked_by=BookedBy.STAFF,
        beyond_limit=True,
    )
    async with in_transaction():
        await rules.cancel_by_staff(cancelled.id, "")
    ended = await slot(now() - timedelta(hours=3))
    await Booking.create(resident=who, slot=ended, topic=Topic.START, method=Method.VISIT)
    assert [b.id for b in await rules.upcoming(who)] == [first.id, second.id]
    assert (await rules.upcoming(await resident("他の人"))) == []


# ---------- Booking ----------


async def test_book_takes_a_seat(settings: Settings) -> None:
    who = await resident()
    target = await slot(jst(open_day(), 10), capacity=2)
    booking = await book(who, target.id, settings, note="あ" * 600)
    assert booking.slot.id == target.id and booking.status == BookingStatus.BOOKED
    assert booking.active_key == f"{target.id}:{who.id}" and booking.booked_by == BookedBy.RESIDENT
    assert len(booking.note) == 500
    assert (await ConsultationSlot.get(id=target.id)).booked_count == 1


async def test_a_repeated_request_key_books_once(settings: Settings) -> None:
    who = await resident()
    target = await slot(jst(open_day(), 10), capacity=3)
    first = await book(who, target.id, settings, request_key="nonce-1")
    again = await book(who, target.id, settings, request_key="nonce-1")
    assert again.id == first.id
    assert (await ConsultationSlot.get(id=target.id)).booked_count == 1


async def test_full_slot(settings: Settings) -> None:
    target = await slot(jst(open_day(), 10))
    await book(await resident(), target.id, settings)
    error = await refused(rules.SlotFull, await resident(), target.id, settings)
    assert error.message == "申し訳ありません、この枠は埋まりました。"
    await refused(rules.SlotFull, await resident(), target.id, settings, booked_by=BookedBy.STAFF)
    assert (await ConsultationSlot.get(id=target.id)).booked_count == 1


async def test_missing_or_removed_slot_is_closed(settings: Settings) -> None:
    who = await resident()
    removed = await slot(jst(open_day(), 10), is_active=False)
    await refused(rules.SlotClosed, who, removed.id, settings)
    await refused(rules.SlotClosed, who, removed.id + 999, settings, booked_by=BookedBy.STAFF)


async def test_method_must_be_offered(settings: Settings) -> None:
    target = await slot(jst(open_day(), 10), methods="online")
    error = await refused(rules.MethodNotOffered, await resident(), target.id, settings)
    assert "相談方法" in error.message


async def test_one_resident_books_a_slot_once(settings: Settings) -> None:
    who = await resident()
    target = await slot(jst(open_day(), 10), capacity=3)
    await book(who, target.id, settings)
    await refused(rules.AlreadyBooked, who, target.id, settings)
    await refused(rules.AlreadyBooked, who, target.id, settings, booked_by=BookedBy.STAFF)


async def test_residents_hold_at_most_the_limit_staff_may_exceed_it(settings: Settings) -> None:
    who = await resident()
    day = open_day()
    for hour in (9, 10):
        await book(who, (await slot(jst(day, hour))).id, settings)
    third = await slot(jst(day, 11))
    error = await refused(rules.TooManyBookings, who, third.id, settings)
    assert "2件まで" in error.message
    # Staff too are refused unless they say they book beyond it.
    await refused(rules.TooManyBookings, who, third.id, settings, booked_by=BookedBy.STAFF)
    assert (
        await book(who, third.id, settings, booked_by=BookedBy.STAFF, beyond_limit=True)
    ).booked_by == BookedBy.STAFF


async def test_cut_off_for_residents_slot_end_for_staff(settings: Settings) -> None:
    soon = await slot(now() + timedelta(hours=1))  # within the 2-hour cut-off
    error = await refused(rules.SlotClosed, await resident(), soon.id, settings)
    assert error.message == "申し訳ありません、この枠は受付を終了しました。"
    assert (await book(await resident(), soon.id, settings, booked_by=BookedBy.STAFF)).id
    started = await slot(now() - timedelta(minutes=20))  # a walk-in a little late
    assert (await book(await resident(), started.id, settings, booked_by=BookedBy.STAFF)).id
    over = await slot(now() - timedelta(hours=2))
    await refused(rules.SlotClosed, await resident(), over.id, settings, booked_by=BookedBy.STAFF)
    assert (await ConsultationSlot.get(id=over.id)).booked_count == 0


async def test_nobody_books_a_closed_day(settings: Settings) -> None:
    day = open_day()
    target = await slot(jst(day, 10), capacity=2)
    await Closure.create(date=day, reason="施設点検")
    await refused(rules.SlotClosed, await resident(), target.id, settings)
    await refused(rules.SlotClosed, await resident(), target.id, settings, booked_by=BookedBy.STAFF)
    assert (await ConsultationSlot.get(id=target.id)).booked_count == 0


async def test_who_booked_and_cancelled_is_stored_with_the_values_it_always_had(
    settings: Settings,
) -> None:
    """The enums kept the stored strings, so rows written before them read back as-is."""
    target = await slot(jst(open_day(), 10), capacity=3)
    who = await resident()
    by_line = await book(who, target.id, settings)
    by_staff = await book(await resident(), target.id, settings, booked_by=BookedBy.STAFF)
    await rules.cancel_by_staff(by_staff.id, "担当者の都合")
    await rules.cancel_by_resident(who, by_line.id)
    rows = await connections.get("default").execute_query_dict(
        "SELECT id, booked_by, cancelled_by FROM consultation_bookings ORDER BY id"
    )
    assert [(r["booked_by"], r["cancelled_by"]) for r in rows] == [
        ("line", "resident"),
        ("staff", "staff"),
    ]
    untouched = await book(await resident(), target.id, settings)
    await untouched.refresh_from_db()
    assert untouched.booked_by is BookedBy.RESIDENT and untouched.cancelled_by is CancelledBy.NOBODY
    assert BookedBy.RESIDENT.label == "LINE" and CancelledBy.STAFF.label == "スタッフ"


# ---------- Cancelling, outcomes, moving ----------


async def test_resident_cancels_their_own_booking_once(settings: Settings) -> None:
    who = await resident()
    target = await slot(jst(open_day(), 10))
    booking = await book(who, target.id, settings)
    with pytest.raises(rules.NotYours):
        await rules.cancel_by_resident(await resident("他の人"), booking.id)
    cancelled = await rules.cancel_by_resident(who, booking.id)
    assert (
        cancelled.status == BookingStatus.CANCELLED
        and cancelled.cancelled_by == CancelledBy.RESIDENT
    )
    assert cancelled.active_key is None and cancelled.cancelled_at is not None
    assert (await ConsultationSlot.get(id=target.id)).booked_count == 0
    with pytest.raises(rules.NotCancellable):
        await rules.cancel_by_resident(who, booking.id)
    # The seat is free again: the same resident may book it again.
    assert (await book(who, target.id, settings)).id != booking.id


async def test_resident_cannot_cancel_after_the_consultation(settings: Settings) -> None:
    who = await resident()
    ended = await slot(now() - timedelta(hours=2), booked_count=1)
    booking = await Booking.create(
        resident=who, slot=ended, topic=Topic.START, method=Method.VISIT, active_key="k"
    )
    with pytest.raises(rules.NotCancellable):
        await rules.cancel_by_resident(who, booking.id)


async def test_staff_cancel_records_the_reason(settings: Settings) -> None:
    target = await slot(jst(open_day(), 10))
    booking = await book(await resident(), target.id, settings)
    cancelled = await rules.cancel_by_staff(booking.id, "担当者の急病" + "。" * 400)
    assert cancelled.cancelled_by == CancelledBy.STAFF and cancelled.cancel_reason.startswith(
        "担当者の急病"
    )
    assert len(cancelled.cancel_reason) == 300
    assert (await ConsultationSlot.get(id=target.id)).booked_count == 0
    with pytest.raises(rules.NotCancellable):
        await rules.cancel_by_staff(booking.id, "")
    with pytest.raises(rules.NotYours):
        await rules.cancel_by_staff(booking.id + 999, "")


async def test_mark_records_outcomes_but_not_on_a_cancelled_booking(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = jst(open_day(), 10)
    booking = await book(await resident(), (await slot(start)).id, settings)
    monkeypatch.setattr(rules, "now", lambda: start)  # from the slot's start on
    for status in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.BOOKED):
        assert (await rules.mark(booking.id, status)).status == status
    with pytest.raises(ValueError):
        await rules.mark(booking.id, BookingStatus.CANCELLED)
    await rules.cancel_by_staff(booking.id, "")
    with pytest.raises(rules.NotCancellable):
        await rules.mark(booking.id, BookingStatus.ATTENDED)


async def test_move_by_staff_keeps_the_booking_and_records_the_move(settings: Settings) -> None:
    who = await resident()
    day = open_day()
    old_slot, target = await slot(jst(day, 10)), await slot(jst(day, 14), counsellor="森")
    old = await book(who, old_slot.id, settings, note="単価の相談")
    async with in_transaction():
        move = await rules.move_by_staff(old.id, target.id, "会議室の都合", settings)
    moved = move.booking
    assert moved.id == old.id and moved.slot_id == target.id
    assert moved.status == BookingStatus.BOOKED and moved.booked_by == BookedBy.RESIDENT
    assert moved.note == "単価の相談" and moved.topic == Topic.START
    assert await Booking.all().count() == 1
    assert (move.from_slot_id, move.to_slot_id) == (old_slot.id, target.id)
    assert (move.from_starts_at, move.to_starts_at) == (jst(day, 10), jst(day, 14))
    assert (move.from_counsellor, move.to_counsellor) == ("田中", "森")
    assert move.reason == "会議室の都合"
    assert [m.id for m in await rules.moves_of(old.id)] == [move.id]
    assert (await ConsultationSlot.get(id=old_slot.id)).booked_count == 0
    assert (await ConsultationSlot.get(id=target.id)).booked_count == 1
    with pytest.raises(rules.NotYours):
        await rules.move_by_staff(old.id + 999, target.id, "", settings)


async def test_move_onto_a_full_slot_changes_nothing(settings: Settings) -> None:
    day = open_day()
    old_slot, full = await slot(jst(day, 10)), await slot(jst(day, 14))
    old = await book(await resident(), old_slot.id, settings)
    await book(await resident(), full.id, settings)
    with pytest.raises(rules.SlotFull):
        async with in_transaction():
            await rules.move_by_staff(old.id, full.id, "", settings)
    assert (await Booking.get(id=old.id)).status == BookingStatus.BOOKED  # rolled back
    assert (await ConsultationSlot.get(id=old_slot.id)).booked_count == 1


# ---------- Reminders ----------


def test_reminder_time_is_the_evening_before_in_jst(settings: Settings) -> None:
    day = open_day()
    due = rules.reminder_time(jst(day, 9), settings)
    local = due.astimezone(JST)
    assert local.date() == day - timedelta(days=1) and (local.hour, local.minute) == (18, 0)
    # 00:30 JST is still "that day" in JST, although it is the day before in UTC.
    assert rules.reminder_time(jst(day, 0, 30), settings).astimezone(JST).date() == local.date()


async def test_claim_due_reminders_claims_each_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = open_day()
    who = await resident()
    due = await book(who, (await slot(jst(day, 10))).id, settings)
    booked_late = await book(await resident(), (await slot(jst(day, 11))).id, settings)
    far = await book(await resident(), (await slot(jst(day + timedelta(days=3), 10))).id, settings)
    gone = await book(await resident(), (await slot(jst(day, 13))).id, settings)
    await rules.cancel_by_staff(gone.id, "")
    # Booked at 18:30 the evening before, after the reminder time.
    await Booking.filter(id=booked_late.id).update(created_at=jst(day - timedelta(days=1), 18, 30))
    clock = jst(day - timedelta(days=1), 17, 59)
    monkeypatch.setattr(rules, "now", lambda: clock)
    assert await rules.claim_due_reminders(settings) == []  # not yet 18:00
    clock = jst(day - timedelta(days=1), 19)
    claimed = await rules.claim_due_reminders(settings)
    assert [b.id for b in claimed] == [due.id] and claimed[0].resident.id == who.id
    # Booked after the reminder time: marked as handled, but no reminder (the confirmation
    # was enough); cancelled and far-off bookings are left alone.
    assert (await Booking.get(id=booked_late.id)).reminder_queued_at is not None
    assert (await Booking.get(id=far.id)).reminder_queued_at is None
    assert (await Booking.get(id=gone.id)).reminder_queued_at is None
    assert await rules.claim_due_reminders(settings) == []


async def test_a_rescheduled_slot_is_reminded_again(settings: Settings) -> None:
    target = await slot(jst(open_day(), 10), capacity=2)
    kept = await book(await resident(), target.id, settings)
    gone = await book(await resident(), target.id, settings)
    await rules.cancel_by_staff(gone.id, "")
    await Booking.all().update(reminder_queued_at=now())
    assert await rules.slot_rescheduled(target.id) == 1
    assert (await Booking.get(id=kept.id)).reminder_queued_at is None
    assert (await Booking.get(id=gone.id)).reminder_queued_at is not None
