"""Offers with a deadline, shared by the areas that hand a freed place to someone waiting
(寺子屋・交流会 seats, マーケット booths for 補欠): nothing is offered during the overnight
pause (offer_quiet_from_hour–offer_quiet_until_hour JST), and a deadline's clock does not run
then, so an offer made at 20:30 is not lost in the night."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from shima.settings import Settings
from shima.timeutil import JST, jst_datetime


def is_quiet(settings: Settings, at: datetime) -> bool:
    """Whether `at` falls in the overnight pause (no offers are sent)."""
    hour = at.astimezone(JST).hour
    start, end = settings.offer_quiet_from_hour, settings.offer_quiet_until_hour
    return hour >= start or hour < end if start > end else start <= hour < end


def next_daytime(settings: Settings, at: datetime) -> datetime:
    """`at` itself outside the pause, else the pause's end (the next offer_quiet_until_hour)."""
    if not is_quiet(settings, at):
        return at
    local = at.astimezone(JST)
    day = local.date() if local.hour < settings.offer_quiet_until_hour else local.date()
    if local.hour >= settings.offer_quiet_until_hour:
        day = local.date() + timedelta(days=1)
    return jst_datetime(day, time(settings.offer_quiet_until_hour))


def offer_deadline(settings: Settings, start: datetime, hours: float | None = None) -> datetime:
    """`hours` of daytime after `start`: the clock does not run during the overnight pause."""
    left = timedelta(hours=settings.course_offer_hours if hours is None else hours)
    at = next_daytime(settings, start)
    while True:
        local = at.astimezone(JST)
        pause = jst_datetime(local.date(), time(settings.offer_quiet_from_hour))
        if pause <= at:
            pause += timedelta(days=1)
        if at + left <= pause:
            return at + left
        left -= pause - at
        at = next_daytime(settings, pause)
