"""Retention: what LINE sent us and what we sent is kept only as long as it is needed
(`settings.retention_days`, SHIMA_RETENTION_DAYS, default 90; 0 or less keeps everything).
Run by the worker's schedule loop (job `privacy.retention`), a bounded chunk of each kind per
run, so one run stays short however much is due (the next run takes the next chunk).

- Webhook events handled (DONE) or never to be handled (IGNORED) are deleted. Their row has
  no use left once handled: the webhook id only guards against LINE redelivering an event,
  which LINE does within minutes, and what the conversation said is kept where staff read it
  (the chat log, models.chat, is not purged). Keeping the rows with an empty payload would
  still keep, for every resident, when they wrote and what kind of thing, for ever.
- Events that FAILED lose their payload but stay: staff may still look into why they failed.
- Messages SENT or CANCELLED lose their message objects but keep their row: a notice's dedupe
  key must go on refusing to queue it a second time (a reminder, a staff message's nonce).
  Messages still to go, or given up (DEAD / 配信状況不明, which staff may resend), are kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models.inbox import InboxEvent, InboxStatus
from models.outbox import OutboxMessage, OutboxStatus
from shima.settings import Settings
from shima.timeutil import now

CHUNK = 1000  # rows of each kind per run
FINISHED_EVENTS = (InboxStatus.DONE, InboxStatus.IGNORED)
FINISHED_MESSAGES = (OutboxStatus.SENT, OutboxStatus.CANCELLED)


async def purge(settings: Settings) -> int:
    """One run of the purge; returns 0 (it queues no messages)."""
    if settings.retention_days < 1:
        return 0
    before = now() - timedelta(days=settings.retention_days)
    await delete_events(before, CHUNK)
    await empty_failed_events(before, CHUNK)
    await empty_messages(before, CHUNK)
    return 0


async def delete_events(before: datetime, limit: int) -> int:
    ids = (
        await InboxEvent.filter(status__in=FINISHED_EVENTS, received_at__lt=before)
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not ids:
        return 0
    return await InboxEvent.filter(id__in=list(ids)).delete()


async def empty_failed_events(before: datetime, limit: int) -> int:
    ids = (
        await InboxEvent.filter(status=InboxStatus.FAILED, received_at__lt=before)
        .exclude(payload={})
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not ids:
        return 0
    return await InboxEvent.filter(id__in=list(ids)).update(payload={}, reply_token=None)


async def empty_messages(before: datetime, limit: int) -> int:
    ids = (
        await OutboxMessage.filter(status__in=FINISHED_MESSAGES, created_at__lt=before)
        .exclude(messages=[])
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not ids:
        return 0
    return await OutboxMessage.filter(id__in=list(ids)).update(messages=[], reply_token=None)
