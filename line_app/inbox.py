"""Inbox: store each webhook event once; claim a user's events in order for the worker."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import weakref
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import F

from line_app import claims, webhook_events
from models.inbox import InboxEvent, InboxStatus
from shima.timeutil import now

log = logging.getLogger("shima.inbox")
MAX_ATTEMPTS = 5  # a flow that keeps failing stops blocking the user's later events
# Rows the worker has still to handle (the health check counts them too).
OPEN = (InboxStatus.PENDING, InboxStatus.PROCESSING)


# The columns one webhook event fills; the rest keep their NULL defaults.
_COLUMNS = (
    "webhook_event_id",
    "line_user_id",
    "event_type",
    "payload",
    "reply_token",
    "event_time",
    "received_at",
    "status",
    "attempts",
    "last_error",
)
_SQLITE_INSERT = (
    f"INSERT OR IGNORE INTO inbox_events ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
# PostgreSQL: the whole batch as one statement (one round trip, one commit): the columns
# travel as arrays and `unnest` turns them back into rows.
_PG_TYPES = ("text",) * 5 + ("timestamptz",) * 2 + ("text", "int4", "text")
_PG_INSERT = (
    f"INSERT INTO inbox_events ({', '.join(_COLUMNS)}) "
    "SELECT c1, c2, c3, c4::jsonb, c5, c6, c7, c8, c9, c10 FROM unnest("
    + ", ".join(f"${i}::{t}[]" for i, t in enumerate(_PG_TYPES, start=1))
    + ") AS t(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10) "
    "ON CONFLICT (webhook_event_id) DO NOTHING"
)
Row = tuple[str, str, str, str, str | None, datetime, datetime, str, int, str | None]


def _rows(events: list[Any], scrub: bool) -> list[Row]:
    """The inbox rows for a body's events: malformed ones as ignored with their reason,
    those we never store (standby, groups, no id) counted in the log. `scrub`: the body
    has `\\u` escapes, so an event may hold characters no database stores (NUL, a lone
    surrogate)."""
    rows: list[Row] = []
    skipped: Counter[str] = Counter()
    at = now()
    for event in events:
        unstorable = False
        if scrub:
            event, unstorable = webhook_events.scrubbed(event)
        try:
            c = webhook_events.check(event)
        except webhook_events.Skip as why:
            skipped[str(why)] += 1
            continue
        problem = c.problem or (webhook_events.UNSTORABLE if unstorable else None)
        status = InboxStatus.PENDING if problem is None else InboxStatus.IGNORED
        rows.append(
            (
                c.webhook_event_id,
                c.line_user_id,
                c.event_type,
                _dumps(event),
                c.reply_token,
                c.event_time or at,
                at,
                status.value,
                0,
                problem,
            )
        )
        if problem is not None:
            log.warning("webhook event stored as ignored: %s", problem)
    if skipped.total() - skipped["standby"] - skipped["group or room"]:
        log.warning("webhook events not stored: %s", dict(skipped))
    return rows


def _dumps(event: Any) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


async def _insert(rows: list[Row]) -> None:
    """One INSERT for all rows; a `webhook_event_id` already stored inserts nothing."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        columns = [list(column) for column in zip(*rows, strict=True)]
        await conn.execute_query(_PG_INSERT, columns)
    else:
        await conn.execute_many(_SQLITE_INSERT, [list(row) for row in rows])


class _GroupCommit:
    """Writes the events of concurrent webhook requests in one INSERT … ON CONFLICT DO
    NOTHING (SQLite: INSERT OR IGNORE). Each request is acknowledged only after the batch
    holding its events has committed, so an acknowledged event is always stored."""

    def __init__(self) -> None:
        self._waiting: list[tuple[list[Row], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def store(self, rows: list[Row]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((rows, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            rows = [row for request_rows, _ in batch for row in request_rows]
            try:
                await _insert(rows)
            except Exception:
                # One request's rows must not fail the others: each on its own.
                if len(batch) == 1:
                    raise_in(batch[0][1])
                    continue
                for request_rows, done in batch:
                    try:
                        await _insert(request_rows)
                    except Exception:
                        raise_in(done)
                    else:
                        settle(done)
            else:
                for _, done in batch:
                    settle(done)


def settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def raise_in(done: asyncio.Future[None]) -> None:
    """Hand the exception being handled to the request waiting on `done`."""
    if not done.done():
        exc = sys.exc_info()[1]
        done.set_exception(exc if exc is not None else RuntimeError("insert failed"))


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommit] = (
    weakref.WeakKeyDictionary()
)


async def store_events(events: list[Any], scrub: bool = True) -> int:
    """Store a body's events; a redelivered `webhookEventId` inserts nothing. Returns how
    many rows for the worker were offered (duplicates included, ignored ones not)."""
    rows = _rows(events, scrub)
    if not rows:
        return 0
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = _GroupCommit()
    await writer.store(rows)
    return sum(row[7] == InboxStatus.PENDING for row in rows)


class RetryLater(Exception):
    """A flow cannot handle its event yet (e.g. a picture LINE has not served): the event is
    retried with backoff, logged as expected rather than as a failure."""


async def claim(worker_id: str, limit: int, lease_seconds: float) -> list[InboxEvent]:
    """Claim each user's earliest open event (at most `limit` users); see line_app.claims."""
    return await claims.claim_first_per_user(
        InboxEvent,
        open_statuses=OPEN,
        held_status=InboxStatus.PROCESSING,
        worker_id=worker_id,
        limit=limit,
        lease_seconds=lease_seconds,
        attempts=F("attempts") + 1,
    )


async def extend_lease(events: list[InboxEvent], seconds: float) -> None:
    """Hold claimed events longer (they wait for a download before they are handled)."""
    await InboxEvent.filter(
        id__in=[e.id for e in events],
        worker_id=events[0].worker_id,
        status=InboxStatus.PROCESSING,
    ).update(lease_until=now() + timedelta(seconds=seconds))


async def finish(events: list[InboxEvent]) -> bool:
    """Mark handled events done (inside their transaction). False if any lease was lost."""
    done = await InboxEvent.filter(
        id__in=[e.id for e in events],
        worker_id=events[0].worker_id,
        status=InboxStatus.PROCESSING,
    ).update(status=InboxStatus.DONE, processed_at=now(), lease_until=None, last_error=None)
    return done == len(events)


async def fail(event: InboxEvent, error: str, retry_in: float) -> None:
    """The flow raised: retry later, or give up after MAX_ATTEMPTS."""
    give_up = event.attempts >= MAX_ATTEMPTS
    # Only while still ours and in hand: an erasure may have closed the event meanwhile.
    await InboxEvent.filter(
        id=event.id, worker_id=event.worker_id, status=InboxStatus.PROCESSING
    ).update(
        status=InboxStatus.FAILED if give_up else InboxStatus.PENDING,
        lease_until=None if give_up else now() + timedelta(seconds=retry_in),
        last_error=error[:2000],
    )
    if give_up:
        log.error("inbox event %s failed %s times; giving up", event.id, event.attempts)


async def release(worker_prefix: str) -> int:
    """Graceful shutdown: hand back what this worker holds."""
    return await InboxEvent.filter(
        worker_id__startswith=worker_prefix, status=InboxStatus.PROCESSING
    ).update(status=InboxStatus.PENDING, lease_until=None, attempts=F("attempts") - 1)
