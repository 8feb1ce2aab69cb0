"""Days the centre is closed: national holidays (jpholiday), 年末年始 12/29–1/3, and the
closures staff enter."""

from __future__ import annotations

from datetime import date

import jpholiday

from models.consultation import Closure


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
