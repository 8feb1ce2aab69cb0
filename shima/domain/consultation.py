"""Consultation booking rules — the one place for them. Called by the LINE flow and the admin,
always inside the caller's transaction. Capacity is enforced by the database: a conditional
`UPDATE … SET booked_count = booked_count + 1 WHERE booked_count < capacity` must touch one
row (right on SQLite and PostgreSQL alike), and `Booking.active_key` is unique."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tortoise.expressions import F

from models.consultation import (
    BookedBy,
    Booking,
    BookingMove,
    BookingStatus,
    CancelledBy,
    ConsultationSlot,
    Method,
    Topic,
)
from models.residents import Resident
from models.staff import StaffUser
from shima.domain.calendar import closed_reason, drop_closed
from shima.settings import Settings
from shima.timeutil import JST, format_jst, jst_datetime, now, short_date, today_jst


class BookingError(Exception):
    """A booking rule said no; `message` is what the resident or staff member is told."""

    message = "ご予約できませんでした。"


class SlotFull(BookingError):
    message = "申し訳ありません、この枠は埋まりました。"


class SlotClosed(BookingError):
    message = "申し訳ありません、この枠は受付を終了しました。"


class SlotOnClosedDay(SlotClosed):
    """The slot's day is closed (a holiday, 年末年始 or a closure staff entered)."""

    def __init__(self, day: date, reason: str) -> None:
        super().__init__(day, reason)
        # Not 「受付を終了しました」: nothing ended, the centre is closed that day.
        self.message = f"{short_date(day)}は休館日（{reason}）のため、この枠は予約できません。"


class SlotInPast(SlotClosed):
    """The slot's time is over: nobody books the past, staff included."""

    message = "この枠は受付を終了しました。終了した時間の枠には予約できません。"


class MoveIntoPast(SlotInPast):
    """A booking is moved only to a slot that has not started (the resident must be able
    to come)."""

    message = "この枠は受付を終了しました。開始時刻を過ぎた枠へは変更できません。"


class MoveFromPast(BookingError):
    """A consultation that has ended is recorded (来所済み / 無断キャンセル), not moved: a move
    would erase what happened. A late resident's booking may still move while it runs."""

    message = (
        "終了した相談の日時は変更できません。来所済みか無断キャンセルを記録してから、"
        "必要なら新しく代理予約してください。"
    )


class SameSlot(BookingError):
    message = "いまのご予約と同じ枠です。別の枠を選んでください。"


class TooEarly(BookingError):
    """来所済み / 無断キャンセル are facts from the slot's start on, never guesses before."""

    def __init__(self, starts_at: datetime) -> None:
        super().__init__(starts_at)
        self.message = (
            "来所済み・無断キャンセルは、相談の開始時刻"
            f"（{format_jst(starts_at, '%m/%d %H:%M')}）から記録できます。"
        )


class TooManyBookings(BookingError):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit
        self.message = (
            f"ご予約は同時に{limit}件までお受けしています。マイページで今のご予約をご確認ください。"
        )


class AlreadyBooked(BookingError):
    message = "この枠はすでにご予約いただいています。"


class MethodNotOffered(BookingError):
    message = "この枠ではその相談方法をお選びいただけません。"


class NotYours(BookingError):
    message = "このご予約は見つかりませんでした。"


class NotCancellable(BookingError):
    message = "このご予約はすでにキャンセルされているか、終了しています。"


def booking_cutoff(settings: Settings, at: datetime | None = None) -> datetime:
    """Slots starting before this are no longer bookable."""
    return (at or now()) + timedelta(hours=settings.consult_close_hours)


def _bookable(settings: Settings) -> dict[str, object]:
    return {
        "is_active": True,
        "booked_count__lt": F("capacity"),
        "starts_at__gt": booking_cutoff(settings),
    }


async def free_slots(
    settings: Settings, start: datetime | None = None, end: datetime | None = None
) -> list[ConsultationSlot]:
    """Bookable slots in [start, end) (default: the booking window), closed days left out."""
    start = max(start or now(), booking_cutoff(settings))
    end = end or now() + timedelta(days=settings.consult_days_ahead + 1)
    slots = (
        await ConsultationSlot.filter(**_bookable(settings), starts_at__gte=start)
        .filter(starts_at__lt=end)
        .order_by("starts_at", "id")
    )
    return await drop_closed(slots)


async def open_dates(settings: Settings) -> list[date]:
    """The days among the next `consult_days_ahead` that still have a free slot."""
    end = jst_datetime(today_jst() + timedelta(days=settings.consult_days_ahead))
    days = {s.starts_at.astimezone(JST).date() for s in await free_slots(settings, end=end)}
    return sorted(days)


async def free_slots_on(settings: Settings, day: date) -> list[ConsultationSlot]:
    return await free_slots(settings, jst_datetime(day), jst_datetime(day + timedelta(days=1)))


async def nearest_free(
    settings: Settings, around: datetime, limit: int = 3
) -> list[ConsultationSlot]:
    """Free slots closest in time to `around` (for "this slot was just taken")."""
    slots = await free_slots(settings)
    slots.sort(key=lambda s: abs((s.starts_at - around).total_seconds()))
    return sorted(slots[:limit], key=lambda s: s.starts_at)


async def staff_choices(days_ahead: int, *, moving: bool = False) -> list[ConsultationSlot]:
    """The slots staff are offered: active, a free seat, not on a closed day, within
    `days_ahead`. For 代理予約 until the slot ends (a walk-in a little late); for a move only
    slots that have not started (see move_by_staff). The rules decide again at the final
    step — a closure or a booking may come in meanwhile."""
    at = now()
    time_rule = {"starts_at__gt": at} if moving else {"ends_at__gt": at}
    slots = (
        await ConsultationSlot.filter(
            is_active=True,
            booked_count__lt=F("capacity"),
            starts_at__lt=at + timedelta(days=days_ahead),
            **time_rule,
        )
        .order_by("starts_at", "id")
        .limit(500)
    )
    return await drop_closed(slots)


async def upcoming(resident: Resident) -> list[Booking]:
    return (
        await Booking.filter(
            resident=resident, status=BookingStatus.BOOKED, slot__ends_at__gt=now()
        )
        .select_related("slot")
        .order_by("slot__starts_at")
    )


async def check_limit(resident: Resident, settings: Settings) -> list[Booking]:
    """The 2-booking rule (`consult_max_upcoming`) for a resident booking themselves:
    raises TooManyBookings when they already hold the limit, else returns their upcoming
    bookings. Checked when the flow starts and again at the final step (`book`)."""
    bookings = await upcoming(resident)
    if len(bookings) >= settings.consult_max_upcoming:
        raise TooManyBookings(settings.consult_max_upcoming)
    return bookings


# Separators residents type in phone numbers: hyphens and dashes of every width, the
# katakana ー often typed for a hyphen, spaces and brackets.
_PHONE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー()（）]")
PHONE_MAX = 20
_PHONE_10 = re.compile(r"0(?![5789]0)[1-9][0-9]{8}")  # landlines, 0120, 0570
_PHONE_11 = re.compile(r"0[5789]0[0-9]{8}")  # 050 IP, 070/080/090 mobiles, 0800


def parse_phone(typed: str) -> str | None:
    """A Japanese phone number as stored (digits and hyphens as typed, full width made
    half width, +81 made 0), or None when `typed` is not one."""
    text = unicodedata.normalize("NFKC", typed).strip()
    if text.startswith("+81"):
        text = "0" + text[3:].lstrip(" -(")
    if not text or not re.fullmatch(r"[0-9\s\-‐‑‒–—―−ー()（）]+", text):
        return None
    digits = _PHONE_SEPARATORS.sub("", text)
    if not (_PHONE_10.fullmatch(digits) or _PHONE_11.fullmatch(digits)):
        return None
    shown = re.sub(r"-+", "-", re.sub(r"[\s‐‑‒–—―−ー()（）]+", "-", text)).strip("-")
    return shown if len(shown) <= PHONE_MAX else digits


@dataclass(frozen=True)
class BookingRequest:
    slot_id: int
    topic: Topic
    method: Method
    note: str = ""
    request_key: str | None = None  # the confirm button's nonce
    booked_by: BookedBy = BookedBy.RESIDENT
    phone: str | None = None  # for 電話 bookings, when the resident gave one (parse_phone)
    # Staff may book beyond the 2-booking limit, but only saying so (never silently).
    beyond_limit: bool = False


async def book(resident: Resident, request: BookingRequest, settings: Settings) -> Booking:
    """Book a slot (inside the caller's transaction). Raises a BookingError subclass.
    A repeated `request_key` returns the booking it already made."""
    if request.request_key:
        earlier = await Booking.get_or_none(request_key=request.request_key)
        if earlier is not None:
            return earlier
    # Locked until the caller's transaction ends (PostgreSQL; SQLite runs one transaction at
    # a time): a closure of this day added meanwhile waits for us (calendar.add_closure locks
    # the day's slots first), so the closure check below cannot be overtaken.
    slot = await ConsultationSlot.filter(id=request.slot_id).select_for_update().first()
    if slot is None or not slot.is_active:
        raise SlotClosed
    if request.method not in slot.method_list:
        raise MethodNotOffered
    key = f"{slot.id}:{resident.id}"
    if await Booking.exists(active_key=key):
        raise AlreadyBooked
    # Residents never book beyond the limit; staff only when they say so (beyond_limit).
    if request.booked_by == BookedBy.RESIDENT or not request.beyond_limit:
        await check_limit(resident, settings)
    # Nobody books a day the centre is closed, staff included (the closure may be newer
    # than the button or the admin form).
    day = slot.starts_at.astimezone(JST).date()
    closed = await closed_reason(day)
    if closed:
        raise SlotOnClosedDay(day, closed)
    if slot.ends_at <= now():
        raise SlotInPast
    # The time condition is part of the conditional UPDATE, so it holds at the final step
    # however old the button is: residents until the cut-off; staff (a phone call, a walk-in
    # a little late) until the slot ends, never after.
    still_open = (
        {"starts_at__gt": booking_cutoff(settings)}
        if request.booked_by == BookedBy.RESIDENT
        else {"ends_at__gt": now()}
    )
    taken = await ConsultationSlot.filter(
        id=slot.id, is_active=True, booked_count__lt=F("capacity"), **still_open
    ).update(booked_count=F("booked_count") + 1)
    if taken != 1:
        if await ConsultationSlot.exists(id=slot.id, booked_count__lt=F("capacity")):
            raise SlotClosed  # a free seat, so the time (or the slot's removal) said no
        raise SlotFull
    booking = await Booking.create(
        resident=resident,
        slot=slot,
        topic=request.topic,
        method=request.method,
        note=request.note[:500],
        active_key=key,
        request_key=request.request_key,
        booked_by=request.booked_by,
        phone=request.phone,
    )
    booking.slot = slot
    return booking


async def _release(booking: Booking, by: CancelledBy, reason: str) -> Booking:
    updated = await Booking.filter(id=booking.id, status=BookingStatus.BOOKED).update(
        status=BookingStatus.CANCELLED,
        active_key=None,
        cancelled_at=now(),
        cancelled_by=by,
        cancel_reason=reason[:300],
    )
    if updated != 1:
        raise NotCancellable
    # The seat is free again at once.
    await ConsultationSlot.filter(id=booking.slot_id, booked_count__gt=0).update(
        booked_count=F("booked_count") - 1
    )
    await booking.refresh_from_db()
    return booking


async def cancel_by_resident(resident: Resident, booking_id: int) -> Booking:
    """A resident cancels their own booking; another resident's id is "not found"."""
    booking = await Booking.get_or_none(id=booking_id, resident=resident).select_related("slot")
    if booking is None:
        raise NotYours
    if booking.status != BookingStatus.BOOKED or booking.slot.ends_at <= now():
        raise NotCancellable
    return await _release(booking, CancelledBy.RESIDENT, "")


async def cancel_by_staff(booking_id: int, reason: str) -> Booking:
    """Staff cancel (the caller notifies the resident in the same transaction)."""
    booking = await Booking.get_or_none(id=booking_id).select_related("slot", "resident")
    if booking is None:
        raise NotYours
    return await _release(booking, CancelledBy.STAFF, reason)


async def mark(booking_id: int, status: BookingStatus) -> Booking:
    """Staff record the outcome: 来所済み or 無断キャンセル — only from the slot's start time
    on (TooEarly before) — or undo it (back to 予約中). A cancelled booking stays
    cancelled (NotCancellable)."""
    if status not in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.BOOKED):
        raise ValueError(status)
    booking = await Booking.get(id=booking_id).select_related("slot")
    if booking.status == BookingStatus.CANCELLED:
        raise NotCancellable
    if status != BookingStatus.BOOKED and now() < booking.slot.starts_at:
        raise TooEarly(booking.slot.starts_at)
    # Conditional: a cancel that commits meanwhile is not overwritten.
    updated = (
        await Booking.filter(id=booking.id)
        .exclude(status=BookingStatus.CANCELLED)
        .update(status=status)
    )
    if updated != 1:
        raise NotCancellable
    booking.status = status
    return booking


def markable(booking: Booking, at: datetime | None = None) -> bool:
    """Whether 来所済み / 無断キャンセル may be recorded now (the slot has started); the
    booking's slot must be loaded."""
    return booking.status != BookingStatus.CANCELLED and (at or now()) >= booking.slot.starts_at


def reminder_time(slot_start: datetime, settings: Settings) -> datetime:
    """The day before the consultation, at `reminder_hour_jst` JST."""
    day = slot_start.astimezone(JST).date() - timedelta(days=1)
    return jst_datetime(day, time(settings.reminder_hour_jst))


async def claim_due_reminders(settings: Settings, limit: int = 200) -> list[Booking]:
    """Bookings whose reminder is due now, each claimed once (compare-and-set on
    `reminder_queued_at`) — call inside the transaction that queues the message."""
    at = now()
    horizon = at + timedelta(days=2)
    candidates = (
        await Booking.filter(
            status=BookingStatus.BOOKED,
            reminder_queued_at__isnull=True,
            slot__starts_at__gt=at,
            slot__starts_at__lte=horizon,
        )
        .select_related("slot", "resident")
        .limit(limit)
    )
    claimed = []
    for booking in candidates:
        due = reminder_time(booking.slot.starts_at, settings)
        if due > at:
            continue
        won = await Booking.filter(id=booking.id, reminder_queued_at__isnull=True).update(
            reminder_queued_at=at
        )
        # Booked after the reminder time (the evening before): the confirmation was enough.
        if won == 1 and booking.created_at < due:
            claimed.append(booking)
    return claimed


def movable(booking: Booking) -> bool:
    """Whether staff may move `booking` (slot loaded): still 予約中 and its consultation not
    over (see MoveFromPast). move_by_staff decides again under the row locks."""
    return booking.status == BookingStatus.BOOKED and booking.slot.ends_at > now()


async def move_by_staff(
    booking_id: int,
    target_slot_id: int,
    reason: str,
    settings: Settings,
    by: StaffUser | None = None,
) -> BookingMove:
    """Staff move a booking to another slot: the same booking row gets the new slot and a
    BookingMove records what it was, what it became, who moved it and when. The target
    must be open (active, not on a closed day, not started yet: MoveIntoPast) with a free
    seat (the same conditional UPDATE as book); the old seat is freed. Returns the move
    with `booking` (slot and resident loaded); the caller notifies the resident in the
    same transaction."""
    booking = await Booking.get_or_none(id=booking_id).select_related("resident")
    if booking is None:
        raise NotYours
    if booking.slot_id == target_slot_id:
        raise SameSlot
    # Both slots locked up front, in id order, as add_closure locks a day's slots, so a
    # closure of the target's day either commits first (and is seen below) or waits.
    locked = {
        s.id: s
        for s in await ConsultationSlot.filter(id__in=[booking.slot_id, target_slot_id])
        .order_by("id")
        .select_for_update()
    }
    await booking.refresh_from_db()
    if booking.status != BookingStatus.BOOKED:
        raise NotCancellable
    source, target = locked.get(booking.slot_id), locked.get(target_slot_id)
    if source is None:
        raise NotCancellable
    at = now()
    if source.ends_at <= at:
        raise MoveFromPast
    if target is None or not target.is_active:
        raise SlotClosed
    if Method(booking.method) not in target.method_list:
        raise MethodNotOffered
    day = target.starts_at.astimezone(JST).date()
    closed = await closed_reason(day)
    if closed:
        raise SlotOnClosedDay(day, closed)
    if target.starts_at <= at:
        raise MoveIntoPast
    key = f"{target.id}:{booking.resident_id}"
    if await Booking.exists(active_key=key):
        raise AlreadyBooked
    taken = await ConsultationSlot.filter(
        id=target.id, is_active=True, booked_count__lt=F("capacity"), starts_at__gt=at
    ).update(booked_count=F("booked_count") + 1)
    if taken != 1:
        raise SlotFull
    # The day-before reminder follows the new time, unless its hour has passed already
    # (the change notice then says it all).
    reminded = at if reminder_time(target.starts_at, settings) <= at else None
    updated = await Booking.filter(
        id=booking.id, status=BookingStatus.BOOKED, slot_id=source.id
    ).update(slot_id=target.id, active_key=key, reminder_queued_at=reminded)
    if updated != 1:
        raise NotCancellable
    await ConsultationSlot.filter(id=source.id, booked_count__gt=0).update(
        booked_count=F("booked_count") - 1
    )
    move = _move_row(booking.id, source, target, reason, by)
    await move.save()
    await booking.refresh_from_db()
    booking.slot = target
    move.booking = booking
    return move


def _move_row(
    booking_id: int,
    source: ConsultationSlot,
    target: ConsultationSlot,
    reason: str,
    by: StaffUser | None,
    at: datetime | None = None,
    *,
    same_slot: bool = False,
) -> BookingMove:
    """A history line: the times and counsellors as they were and as they became
    (`same_slot`: one slot whose time was edited; `source` holds its old values)."""
    return BookingMove(
        booking_id=booking_id,
        from_slot_id=target.id if same_slot else source.id,
        to_slot_id=target.id,
        from_starts_at=source.starts_at,
        from_ends_at=source.ends_at,
        to_starts_at=target.starts_at,
        to_ends_at=target.ends_at,
        from_counsellor=source.counsellor,
        to_counsellor=target.counsellor,
        reason=reason[:300],
        moved_by=by,
        moved_at=at or now(),
    )


async def moves_of(booking_id: int) -> list[BookingMove]:
    """A booking's move history, oldest first, with who moved it."""
    return (
        await BookingMove.filter(booking_id=booking_id)
        .select_related("moved_by")
        .order_by("moved_at", "id")
    )


async def slot_rescheduled(
    slot_id: int,
    before: ConsultationSlot | None = None,
    reason: str = "",
    by: StaffUser | None = None,
) -> int:
    """A booked slot's time changed (`before`: the slot as it was): its bookings get a
    reminder for the new time and, with `before`, a line in their move history."""
    if before is not None:
        slot = await ConsultationSlot.get(id=slot_id)
        bookings = await Booking.filter(slot_id=slot_id, status=BookingStatus.BOOKED)
        at = now()
        await BookingMove.bulk_create(
            # `before` is the slot's old values (no row of its own): the move stays in one slot.
            [_move_row(b.id, before, slot, reason, by, at, same_slot=True) for b in bookings]
        )
    return await Booking.filter(slot_id=slot_id, status=BookingStatus.BOOKED).update(
        reminder_queued_at=None
    )
