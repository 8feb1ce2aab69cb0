"""Throttling of failed staff logins (models.staff.LoginAttempt), safe under concurrency.

Every attempt is first written as a failure, and only then are the limits counted, its own
row among them: of any number of simultaneous guesses, each one sees all that were written
before it, so at most the limit of them reach the password check. A refused attempt deletes
its row (the refusal ends WINDOW after the failures that caused it); a right password marks
its row succeeded. (A burst larger than a limit may be refused whole, as every guess counts
the others' rows; once it is over nothing of it remains.) Row-level locks would make this
exact, but differ between SQLite and PostgreSQL; insert-then-count needs only autocommit.

Browsers are trusted or not (admin/device_cookies.py). Within WINDOW:
- a trusted browser is refused after DEVICE_LIMIT failures with its own device cookie, and
  nothing else stops it;
- an untrusted one is refused after ACCOUNT_LIMIT untrusted failures for the account (since
  the last untrusted success), or ADDRESS_LIMIT untrusted failures from its address, whichever
  accounts they were for. Unknown accounts are always untrusted, so they get the same answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.queryset import QuerySet

from models.staff import LoginAttempt
from shima.settings import Settings
from shima.timeutil import now

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
DEVICE_LIMIT = 5
# Higher than ACCOUNT_LIMIT: many staff may share one office address, and only untrusted
# failures count, so a stranger behind it cannot lock out the office's trusted browsers.
ADDRESS_LIMIT = 50


@dataclass(frozen=True)
class Attempt:
    id: int
    wait: int  # 0: go on and check the password; else refused, seconds to wait (Retry-After)
    trusted: bool


def _seconds_left(others: list[datetime], limit: int, current: datetime) -> int:
    """Seconds until fewer than `limit` of the other failures (newest first) are in WINDOW."""
    if len(others) < limit:
        return 0
    oldest_that_counts = others[limit - 1]
    return max(1, math.ceil((oldest_that_counts + WINDOW - current).total_seconds()))


async def _wait(failures: QuerySet[LoginAttempt], limit: int, own: int, current: datetime) -> int:
    """Refused when the failures, this attempt's row included, are more than `limit`."""
    others = await (
        failures.exclude(id=own)
        .order_by("-created_at")
        .limit(limit)
        .values_list("created_at", flat=True)
    )
    return _seconds_left(list(others), limit, current)  # type: ignore[arg-type]


async def begin(email: str, ip: str, device: str | None) -> Attempt:
    """Record a login attempt (as a failure until `succeeded`) and apply the limits.
    `device`: the id of the browser's valid device cookie for `email`, None if untrusted."""
    row = await LoginAttempt.create(email=email[:254], ip=ip[:64], device=device, succeeded=False)
    current = now()
    since = current - WINDOW
    failures = LoginAttempt.filter(succeeded=False, created_at__gte=since)
    if device is not None:
        wait = await _wait(failures.filter(device=device), DEVICE_LIMIT, row.id, current)
    else:
        untrusted = failures.filter(device__isnull=True)
        last_success = (
            await LoginAttempt.filter(
                email=row.email, device__isnull=True, succeeded=True, created_at__gte=since
            )
            .order_by("-created_at")
            .first()
        )
        account = untrusted.filter(email=row.email)
        if last_success is not None:
            account = account.filter(created_at__gt=last_success.created_at)
        wait = max(
            await _wait(account, ACCOUNT_LIMIT, row.id, current),
            await _wait(untrusted.filter(ip=row.ip), ADDRESS_LIMIT, row.id, current),
        )
    if wait:
        await LoginAttempt.filter(id=row.id).delete()
    return Attempt(row.id, wait, trusted=device is not None)


async def succeeded(attempt: Attempt) -> None:
    """The password was right: the attempt no longer counts as a failure, and (untrusted) the
    account's earlier untrusted failures stop counting."""
    await LoginAttempt.filter(id=attempt.id).update(succeeded=True)


KEEP = timedelta(days=1)  # attempts older than this can no longer count towards any limit


async def prune(settings: Settings) -> int:
    """Delete attempts no limit can count any more (a scheduled job: the table would grow
    with every guess otherwise). Returns 0: it queues no messages."""
    await LoginAttempt.filter(created_at__lt=now() - KEEP).delete()
    return 0
