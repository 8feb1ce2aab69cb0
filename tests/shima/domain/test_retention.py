"""Retention (shima.domain.retention, the worker's job `privacy.retention`): webhook events
and delivered messages older than `retention_days` are purged by status — handled events
deleted, failed ones emptied, sent or cancelled messages emptied with their row (and dedupe
key) kept, anything still to do or for staff to look at left alone — a bounded chunk per run
(SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from line_app import outbox
from line_app.client import LineClient
from models.inbox import InboxEvent, InboxStatus
from models.outbox import OutboxMessage, OutboxStatus
from shima.domain import retention
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker

USER = "U" + "1" * 32
PAYLOAD = {"type": "message", "message": {"type": "text", "text": "奄美 花子です"}}
MESSAGES = [{"type": "text", "text": "奄美 花子さん、ご予約を受け付けました。"}]


async def event(status: InboxStatus, days_old: float) -> int:
    row = await InboxEvent.create(
        webhook_event_id=uuid.uuid4().hex,
        line_user_id=USER,
        event_type="message",
        payload=PAYLOAD,
        reply_token="token",
        event_time=now(),
        status=status,
    )
    # received_at is set on insert: moved back by an update, as time would.
    await InboxEvent.filter(id=row.id).update(received_at=now() - timedelta(days=days_old))
    return row.id


async def message(status: OutboxStatus, days_old: float, dedupe_key: str | None = None) -> int:
    row = await OutboxMessage.create(
        line_user_id=USER,
        messages=MESSAGES,
        retry_key=str(uuid.uuid4()),
        dedupe_key=dedupe_key,
        next_attempt_at=now(),
        status=status,
        kind="consult_reminder",
    )
    await OutboxMessage.filter(id=row.id).update(created_at=now() - timedelta(days=days_old))
    return row.id


async def test_old_events_and_delivered_messages_are_purged_by_status(
    db: str, settings: Settings
) -> None:
    assert settings.retention_days == 90
    done_old = await event(InboxStatus.DONE, 91)
    ignored_old = await event(InboxStatus.IGNORED, 120)
    done_recent = await event(InboxStatus.DONE, 89)
    failed_old = await event(InboxStatus.FAILED, 91)
    failed_recent = await event(InboxStatus.FAILED, 10)
    pending_old = await event(InboxStatus.PENDING, 91)
    processing_old = await event(InboxStatus.PROCESSING, 91)
    sent_old = await message(OutboxStatus.SENT, 91, dedupe_key="consult_reminder:booking:1")
    cancelled_old = await message(OutboxStatus.CANCELLED, 200)
    sent_recent = await message(OutboxStatus.SENT, 89)
    kept_old = {
        status: await message(status, 91)
        for status in (
            OutboxStatus.PENDING,
            OutboxStatus.SENDING,
            OutboxStatus.DEAD,
            OutboxStatus.UNKNOWN,
        )
    }

    assert await retention.purge(settings) == 0  # it queues nothing

    left = set(await InboxEvent.all().values_list("id", flat=True))
    assert left == {done_recent, failed_old, failed_recent, pending_old, processing_old}
    assert done_old not in left and ignored_old not in left
    payloads = dict(await InboxEvent.all().values_list("id", "payload"))
    assert payloads[failed_old] == {}
    assert payloads[failed_recent] == payloads[done_recent] == payloads[pending_old] == PAYLOAD
    assert (await InboxEvent.get(id=failed_old)).reply_token is None
    messages = dict(await OutboxMessage.all().values_list("id", "messages"))
    assert messages[sent_old] == messages[cancelled_old] == []
    assert messages[sent_recent] == MESSAGES
    assert all(messages[i] == MESSAGES for i in kept_old.values())
    # The emptied row still refuses a second notice with its dedupe key.
    assert await outbox.enqueue(USER, MESSAGES, dedupe_key="consult_reminder:booking:1") == []
    # A second run finds nothing more to do.
    await retention.purge(settings)
    assert set(await InboxEvent.all().values_list("id", flat=True)) == left


async def test_one_run_purges_a_bounded_chunk(
    db: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "CHUNK", 2)
    for _ in range(5):
        await event(InboxStatus.DONE, 100)
        await message(OutboxStatus.SENT, 100)
    await retention.purge(settings)
    assert await InboxEvent.all().count() == 3
    assert await OutboxMessage.exclude(messages=[]).count() == 3
    await retention.purge(settings)
    await retention.purge(settings)
    assert await InboxEvent.all().count() == 0
    assert await OutboxMessage.exclude(messages=[]).count() == 0
    assert await OutboxMessage.all().count() == 5


async def test_a_retention_of_zero_days_keeps_everything(db: str, settings: Settings) -> None:
    await event(InboxStatus.DONE, 1000)
    await message(OutboxStatus.SENT, 1000)
    await retention.purge(replace(settings, retention_days=0))
    assert await InboxEvent.all().count() == 1
    assert await OutboxMessage.exclude(messages=[]).count() == 1


async def test_the_worker_runs_the_purge_with_its_jobs(settings: Settings) -> None:
    old = await event(InboxStatus.DONE, 91)
    recent = await event(InboxStatus.DONE, 1)
    line = LineClient(settings)
    try:
        await Worker(settings, line).run_schedule_once()
    finally:
        await line.close()
    assert set(await InboxEvent.all().values_list("id", flat=True)) == {recent}
    assert old != recent
