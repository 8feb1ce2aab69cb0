"""shima.domain.calendar: national holidays, 年末年始 and the closures staff enter."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.consultation import Closure, Method, Topic
from shima.domain import consultation as rules
from shima.domain.calendar import (
    add_closure,
    bookings_on,
    closed_days,
    closures_between,
    holiday_name,
    is_new_year_break,
    remove_closure,
)
from shima.settings import Settings
from tests.shima.domain.helpers import jst, open_day, resident, slot


def test_new_year_break_is_12_29_to_1_3() -> None:
    inside = [date(2026, 12, 29), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 3)]
    outside = [date(2026, 12, 28), date(2027, 1, 4), date(2026, 11, 29), date(2026, 1, 29)]
    assert all(is_new_year_break(d) for d in inside)
    assert not any(is_new_year_break(d) for d in outside)


def test_holiday_name() -> None:
    assert holiday_name(date(2027, 1, 1)) == "年末年始"  # 元日 falls in the break: one name
    assert holiday_name(date(2026, 12, 30)) == "年末年始"
    assert holiday_name(date(2026, 11, 23)) == "勤労感謝の日"
    assert holiday_name(date(2026, 12, 2)) is None


async def test_closures_between_is_inclusive_and_names_blank_reasons(db: str) -> None:
    await Closure.create(date=date(2026, 12, 7), reason="施設点検")
    await Closure.create(date=date(2026, 12, 10))
    await Closure.create(date=date(2026, 12, 11), reason="研修")
    assert await closures_between(date(2026, 12, 7), date(2026, 12, 10)) == {
        date(2026, 12, 7): "施設点検",
        date(2026, 12, 10): "休館日",
    }
    assert await closures_between(date(2026, 12, 1), date(2026, 12, 6)) == {}


async def test_closed_days_merges_holidays_and_closures(db: str) -> None:
    await Closure.create(date=date(2026, 11, 23), reason="館内工事")  # also a holiday
    await Closure.create(date=date(2026, 11, 25), reason="施設点検")
    closed = await closed_days(date(2026, 11, 22), date(2026, 11, 26))
    # The staff's reason wins over the holiday's name; ordinary days are absent.
    assert closed == {date(2026, 11, 23): "館内工事", date(2026, 11, 25): "施設点検"}
    year_end = await closed_days(date(2026, 12, 28), date(2027, 1, 4))
    assert sorted(year_end) == [date(2026, 12, d) for d in (29, 30, 31)] + [
        date(2027, 1, d) for d in (1, 2, 3)
    ]
    assert set(year_end.values()) == {"年末年始"}
    assert await closed_days(date(2026, 12, 2), date(2026, 12, 2)) == {}


async def test_add_closure_closes_the_day_once_and_remove_closure_opens_it(
    settings: Settings,
) -> None:
    day = open_day()
    target = await slot(jst(day, 10), capacity=2)
    async with in_transaction():
        await rules.book(
            await resident(), rules.BookingRequest(target.id, Topic.START, Method.VISIT), settings
        )
    assert await bookings_on(day) == 1 and await bookings_on(day + timedelta(days=1)) == 0
    async with in_transaction():
        closure = await add_closure(day, "施設点検")
    assert (await closed_days(day, day)) == {day: "施設点検"}
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await add_closure(day, "二度目")
    with pytest.raises(rules.SlotClosed):  # nobody books a closed day
        async with in_transaction():
            await rules.book(
                await resident(),
                rules.BookingRequest(target.id, Topic.START, Method.VISIT),
                settings,
            )
    assert await bookings_on(day) == 1  # the booking made before stays (staff are warned)
    removed = await remove_closure(closure.id)
    assert removed is not None and removed.date == day
    assert await remove_closure(closure.id) is None
    assert await closed_days(day, day) == {}
