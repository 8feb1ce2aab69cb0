"""Time helpers: stored UTC-aware, shown in JST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
WEEKDAYS_JA = "月火水木金土日"


def now() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def today_jst() -> date:
    """Today's date on the island."""
    return now().astimezone(JST).date()


def fiscal_year_of(day: date) -> int:
    """The 年度 a day falls in, by its starting (western) year: 2026-03-31 → 2025."""
    return day.year if day.month >= 4 else day.year - 1


def jst_datetime(day: date, at: time = time.min) -> datetime:
    """`day` at `at` o'clock JST (midnight by default), timezone-aware."""
    return datetime.combine(day, at, tzinfo=JST)


def short_date(day: date) -> str:
    """`11/27(金)`: dates on buttons, quick replies and the week view."""
    return f"{day.month}/{day.day}({WEEKDAYS_JA[day.weekday()]})"


def to_utc(value: datetime) -> datetime:
    """For query parameters: SQLite compares stored datetimes as UTC text."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC)


def to_jst(value: datetime) -> datetime:
    return value.astimezone(JST)


def format_jst(value: datetime | None, fmt: str = "%Y/%m/%d %H:%M") -> str:
    """`2026/11/26 15:00` style, in JST; "" for None."""
    if value is None:
        return ""
    return to_jst(value).strftime(fmt)


def format_date_ja(value: datetime) -> str:
    """`11月26日(木)` in JST."""
    local = to_jst(value)
    return f"{local.month}月{local.day}日({WEEKDAYS_JA[local.weekday()]})"


def span_ja(start: datetime, end: datetime) -> str:
    """「5月7日(水) 10:00〜10:50」: a slot's time as residents and staff read it."""
    local, until = start.astimezone(JST), end.astimezone(JST)
    return f"{format_date_ja(local)} {local:%H:%M}〜{until:%H:%M}"
