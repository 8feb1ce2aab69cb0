"""Throttling of failed staff logins, per account and per address (models.staff.LoginAttempt).

An account is refused after ACCOUNT_LIMIT failures within WINDOW (failures before its last
successful login do not count); an address after ADDRESS_LIMIT failures within WINDOW,
whichever accounts they were for. Attempts refused by the throttle are not recorded, so the
refusal ends WINDOW after the failures that caused it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from models.staff import LoginAttempt
from shima.timeutil import now

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


def _seconds_left(failures: list[datetime], limit: int, current: datetime) -> int:
    """Seconds until fewer than `limit` of `failures` (newest first) are inside the window."""
    if len(failures) < limit:
        return 0
    oldest_that_counts = failures[limit - 1]
    return max(1, math.ceil((oldest_that_counts + WINDOW - current).total_seconds()))


async def retry_after(email: str, ip: str) -> int:
    """0 when a login may be tried now, else the seconds to wait."""
    current = now()
    since = current - WINDOW
    last_success = (
        await LoginAttempt.filter(email=email, succeeded=True, created_at__gte=since)
        .order_by("-created_at")
        .first()
    )
    account_since = last_success.created_at if last_success else since
    account = await (
        LoginAttempt.filter(email=email, succeeded=False, created_at__gt=account_since)
        .order_by("-created_at")
        .limit(ACCOUNT_LIMIT)
        .values_list("created_at", flat=True)
    )
    address = await (
        LoginAttempt.filter(ip=ip, succeeded=False, created_at__gte=since)
        .order_by("-created_at")
        .limit(ADDRESS_LIMIT)
        .values_list("created_at", flat=True)
    )
    return max(
        _seconds_left(list(account), ACCOUNT_LIMIT, current),  # type: ignore[arg-type]
        _seconds_left(list(address), ADDRESS_LIMIT, current),  # type: ignore[arg-type]
    )


async def record_attempt(email: str, ip: str, succeeded: bool) -> None:
    await LoginAttempt.create(email=email[:254], ip=ip[:64], succeeded=succeeded)
