"""Inbox: store each webhook event once; claim a user's events in order for the worker."""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F

from line_app import claims
from models.inbox import InboxEvent, InboxStatus
from shima.timeutil import now

log = logging.getLogger("shima.inbox")
MAX_ATTEMPTS = 5  # a flow that keeps failing stops blocking the user's later events
_OPEN = (InboxStatus.PENDING, InboxStatus.PROCESSING)


def _event_row(event: dict[str, Any]) -> InboxEvent | None:
    """The inbox row for one webhook event, or None for events we never act on."""
    if not isinstance(event, dict):
        return None
    if event.get("mode", "active") != "active":
        return None  # standby: another channel owns the chat; change and send nothing
    source = event.get("source") or {}
    event_id = event.get("webhookEventId")
    user_id = source.get("userId") if isinstance(source, dict) else None
    if source.get("type") != "user" or not user_id or not event_id:
        return None  # groups/rooms are not used by this account
    try:
        event_time = datetime.fromtimestamp(int(event["timestamp"]) / 1000, tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    reply_token = event.get("replyToken")
    return InboxEvent(
        webhook_event_id=str(event_id)[:64],
        line_user_id=str(user_id)[:64],
        event_type=str(event.get("type", ""))[:32],
        payload=event,
        reply_token=str(reply_token)[:128] if reply_token else None,
        event_time=event_time,
    )


class _GroupCommit:
    """Writes the events of concurrent webhook requests in one INSERT … ON CONFLICT DO
    NOTHING (SQLite: INSERT OR IGNORE). Each request is acknowledged only after the batch
    holding its events has committed, so an acknowledged event is always stored."""

    def __init__(self) -> None:
        self._waiting: list[tuple[list[InboxEvent], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def store(self, rows: list[InboxEvent]) -> None:
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
                await InboxEvent.bulk_create(rows, ignore_conflicts=True)
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommit] = (
    weakref.WeakKeyDictionary()
)


async def store_events(events: list[Any]) -> int:
    """Store the events we act on; a redelivered `webhookEventId` inserts nothing.
    Returns how many rows were offered (duplicates included)."""
    rows = [row for row in map(_event_row, events) if row is not None]
    if not rows:
        return 0
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = _GroupCommit()
    await writer.store(rows)
    return len(rows)


async def claim(worker_id: str, limit: int, lease_seconds: float) -> list[InboxEvent]:
    """Claim each user's earliest open event (at most `limit` users); see line_app.claims."""
    return await claims.claim_first_per_user(
        InboxEvent,
        open_statuses=_OPEN,
        held_status=InboxStatus.PROCESSING,
        worker_id=worker_id,
        limit=limit,
        lease_seconds=lease_seconds,
        attempts=F("attempts") + 1,
    )


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
    await InboxEvent.filter(id=event.id, worker_id=event.worker_id).update(
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
