"""Small builders shared by the domain rule tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from models.consultation import ConsultationSlot
from models.residents import Resident
from shima.domain.calendar import holiday_name
from shima.timeutil import JST, now


def open_day(days: int = 5) -> date:
    """A weekday at least `days` ahead that is not a holiday or 年末年始."""
    day = now().astimezone(JST).date() + timedelta(days=days)
    while day.weekday() >= 5 or holiday_name(day):
        day += timedelta(days=1)
    return day


def jst(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=JST).astimezone(UTC)


async def resident(name: str = "奄美 花子") -> Resident:
    return await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name)


async def slot(
    starts_at: datetime,
    capacity: int = 1,
    methods: str = "visit,online,phone",
    counsellor: str = "田中",
    **extra: object,
) -> ConsultationSlot:
    return await ConsultationSlot.create(
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=50),
        counsellor=counsellor,
        methods=methods,
        capacity=capacity,
        **extra,
    )
