"""Days the centre is closed: national holidays (jpholiday), 年末年始 12/29–1/3, and the
closures staff enter (added and removed here)."""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday

from models.consultation import Booking, BookingStatus, Closure, ConsultationSlot
from shima.timeutil import JST, jst_datetime


def is_new_year_break(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def holiday_name(day: date) -> str | None:
    if is_new_year_break(day):
        return "年末年始"
    name = jpholiday.is_holiday_name(day)
    return str(name) if name else None


async def closures_between(start: date, end: date) -> dict[date, str]:
    rows = await Closure.filter(date__gte=start, date__lte=end)
    return {row.date: row.reason or "休館日" for row in rows}


async def closed_days(start: date, end: date) -> dict[date, str]:
    """Every closed day in [start, end] with its reason."""
    closed = await closures_between(start, end)
    day = start
    while day <= end:
        name = holiday_name(day)
        if name:
            closed.setdefault(day, name)
        day = date.fromordinal(day.toordinal() + 1)
    return closed


async def closed_reason(day: date) -> str | None:
    """Why the centre is closed on `day`, or None when it is open."""
    return (await closed_days(day, day)).get(day)


async def drop_closed(slots: list[ConsultationSlot]) -> list[ConsultationSlot]:
    """`slots` (ordered by start) without those on a closed day: what staff and residents
    may be offered."""
    if not slots:
        return []
    days = [s.starts_at.astimezone(JST).date() for s in slots]
    closed = await closed_days(min(days), max(days))
    return [s for s, day in zip(slots, days, strict=True) if day not in closed]


async def add_closure(day: date, reason: str) -> Closure:
    """Close the centre on `day`, inside the caller's transaction (a second closure of the
    same day raises IntegrityError).

    The day's slots are locked first (SELECT … FOR UPDATE on PostgreSQL; SQLite runs one
    transaction at a time anyway), and shima.domain.consultation.book locks its slot before
    it looks at closures: a booking being confirmed at this moment either commits first (and
    bookings_on counts it) or waits and is refused."""
    await (
        ConsultationSlot.filter(
            starts_at__gte=jst_datetime(day), starts_at__lt=jst_datetime(day + timedelta(days=1))
        )
        .order_by("id")
        .select_for_update()
    )
    return await Closure.create(date=day, reason=reason)


async def remove_closure(closure_id: int) -> Closure | None:
    """Open the day again; None when the closure is already gone."""
    closure = await Closure.get_or_none(id=closure_id)
    if closure is not None:
        await Closure.filter(id=closure.id).delete()
    return closure


async def bookings_on(day: date) -> int:
    """Active bookings on `day` (staff are warned when they close a day that has some)."""
    return await Booking.filter(
        status=BookingStatus.BOOKED,
        slot__starts_at__gte=jst_datetime(day),
        slot__starts_at__lt=jst_datetime(day + timedelta(days=1)),
    ).count()
