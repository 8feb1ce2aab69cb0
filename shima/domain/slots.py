"""相談枠 lifecycle rules: planning slots from a weekly pattern, what may change on a slot that
holds bookings, and removing one; plus the area's demo data. Seats are counted by
shima.domain.consultation (booked_count is only ever written through its rules)."""

from __future__ import annotations

from datetime import date, time, timedelta

from models.consultation import ConsultationSlot
from shima.domain.calendar import closed_days
from shima.timeutil import jst_datetime, today_jst

DEMO_COUNSELLORS = ("田中（コミュニティマネージャー）", "森（キャリア相談員）")
DEMO_TIMES = (time(10), time(11), time(13), time(14), time(15), time(16))


async def seed_demo() -> str:
    """One-to-one slots on open weekdays for the next 14 days (skips what exists)."""
    today = today_jst()
    closed = await closed_days(today, today + timedelta(days=14))
    created = 0
    for offset in range(1, 15):
        day: date = today + timedelta(days=offset)
        if day.weekday() >= 5 or day in closed:
            continue
        for index, at in enumerate(DEMO_TIMES):
            starts = jst_datetime(day, at)
            if await ConsultationSlot.exists(starts_at=starts):
                continue
            await ConsultationSlot.create(
                starts_at=starts,
                ends_at=starts + timedelta(minutes=50),
                counsellor=DEMO_COUNSELLORS[(offset + index) % 2],
                methods="visit,online,phone" if index % 3 else "visit,online",
            )
            created += 1
    return f"相談枠 {created}件" if created else ""
