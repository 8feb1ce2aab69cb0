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
    BookingStatus,
    CancelledBy,
    ConsultationSlot,
    Method,
    Topic,
)
from models.residents import Resident
from shima.domain.calendar import closed_days
from shima.settings import Settings
from shima.timeutil import JST, jst_datetime, now, today_jst


class BookingError(Exception):
    """A booking rule said no; `message` is what the resident or staff member is told."""

    message = "ご予約できませんでした。"


class SlotFull(BookingError):
    message = "申し訳ありません、この枠は埋まりました。"


class SlotClosed(BookingError):
    message = "申し訳ありません、この枠は受付を終了しました。"


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
    if not slots:
        return []
    closed = await closed_days(
        slots[0].starts_at.astimezone(JST).date(), slots[-1].starts_at.astimezone(JST).date()
    )
    return [s for s in slots if s.starts_at.astimezone(JST).date() not in closed]


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
    # Staff may book beyond the limit; residents may not.
    if request.booked_by == BookedBy.RESIDENT:
        await check_limit(resident, settings)
    # Nobody books a day the centre is closed, staff included (the closure may be newer
    # than the button or the admin form).
    day = slot.starts_at.astimezone(JST).date()
    if await closed_days(day, day):
        raise SlotClosed
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
    """Staff record the outcome: 来所済み or 無断キャンセル (or back to 予約中)."""
    if status not in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.BOOKED):
        raise ValueError(status)
    booking = await Booking.get(id=booking_id)
    if booking.status == BookingStatus.CANCELLED:
        raise NotCancellable
    booking.status = status
    await booking.save(update_fields=["status"])
    return booking


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


async def move_by_staff(
    booking_id: int, target_slot_id: int, reason: str, settings: Settings
) -> Booking:
    """Staff move a booking to another slot: the old one is cancelled and a new one booked
    through the same rules (so the target's capacity holds). Returns the new booking; the
    caller notifies the resident in the same transaction."""
    old = await Booking.get_or_none(id=booking_id).select_related("resident")
    if old is None:
        raise NotYours
    # Both slots locked up front, in id order, as add_closure locks a day's slots: taking
    # them one by one (old when released, target when booked) could deadlock with a closure.
    await (
        ConsultationSlot.filter(id__in=[old.slot_id, target_slot_id])
        .order_by("id")
        .select_for_update()
    )
    await _release(old, CancelledBy.STAFF, f"日時変更: {reason}"[:300])
    return await book(
        old.resident,
        BookingRequest(
            slot_id=target_slot_id,
            topic=Topic(old.topic),
            method=Method(old.method),
            note=old.note,
            booked_by=BookedBy.STAFF,
        ),
        settings,
    )


async def slot_rescheduled(slot_id: int) -> int:
    """A booked slot's time changed: its bookings get a reminder for the new time."""
    return await Booking.filter(slot_id=slot_id, status=BookingStatus.BOOKED).update(
        reminder_queued_at=None
    )
