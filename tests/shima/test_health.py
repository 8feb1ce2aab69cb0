"""`GET /healthz`: database, inbox age, outbox backlog and undelivered count; 503 when the
worker looks stuck. Through the ASGI app, rows made the way the app makes them."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx2
import pytest
from tortoise import Tortoise

from line_app import outbox
from line_app.fake_line import FakeLinePlatform
from models.inbox import InboxEvent
from models.outbox import OutboxMessage, OutboxStatus
from shima.timeutil import now
from tests.line_app import events

SECRET = "test-channel-secret"
USER = "U" + "a1" * 16


async def health(client: httpx2.AsyncClient) -> tuple[int, dict]:
    response = await client.get("/healthz")
    assert response.headers["content-type"] == "application/json"
    return response.status_code, response.json()


async def test_fresh_database_is_healthy_with_zero_counts(client: httpx2.AsyncClient) -> None:
    status, body = await health(client)
    assert status == 200
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["inbox"] == {"unhandled": 0, "oldest_unhandled_age_seconds": 0.0}
    assert body["outbox"] == {"backlog": 0, "most_overdue_seconds": 0.0, "undelivered": 0}
    assert body["max_age_seconds"] == 120.0


async def test_recent_event_is_fine_an_old_one_means_stuck(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform
) -> None:
    await events.post(client, SECRET, events.text(USER, None, "こんにちは"))
    status, body = await health(client)
    assert status == 200
    assert body["inbox"]["unhandled"] == 1

    # No worker ran: the event has waited three minutes.
    await InboxEvent.all().update(received_at=now() - timedelta(minutes=3))
    status, body = await health(client)
    assert status == 503
    assert body["status"] == "stuck"
    assert "未処理の受信イベント" in body["reason"]
    assert 179 < body["inbox"]["oldest_unhandled_age_seconds"] < 200
    assert USER not in json.dumps(body)  # counts and ages only


async def test_overdue_message_means_stuck_but_one_waiting_for_a_retry_does_not(
    client: httpx2.AsyncClient, db: str
) -> None:
    async def enqueue(user: str, not_before_minutes: float) -> None:
        await outbox.enqueue(
            user,
            [{"type": "text", "text": "お知らせ"}],
            kind="notice",
            not_before=now() + timedelta(minutes=not_before_minutes),
        )

    # A LINE outage: the user's first message waits for its retry in a minute; the one
    # queued behind it long ago waits for it, by design.
    await enqueue(USER, 1)
    await enqueue(USER, -10)
    status, body = await health(client)
    assert status == 200, body
    assert body["outbox"]["backlog"] == 2
    assert body["outbox"]["most_overdue_seconds"] == 0.0

    # Another user's message was due three minutes ago and nobody sent it.
    await enqueue("U" + "b2" * 16, -3)
    status, body = await health(client)
    assert status == 503
    assert "送信予定を" in body["reason"]
    assert body["outbox"]["backlog"] == 3


async def test_undelivered_and_unknown_are_counted(client: httpx2.AsyncClient, db: str) -> None:
    for status in (OutboxStatus.DEAD, OutboxStatus.UNKNOWN, OutboxStatus.SENT):
        [row] = await outbox.enqueue(USER, [{"type": "text", "text": "x"}], kind="notice")
        await OutboxMessage.filter(id=row.id).update(status=status)
    status, body = await health(client)
    assert status == 200  # staff's job, not the worker's: the app is healthy
    assert body["outbox"]["undelivered"] == 2
    assert body["outbox"]["backlog"] == 0


async def test_threshold_comes_from_settings(client: httpx2.AsyncClient, db: str) -> None:
    client.app.state.settings = client.app.state.settings.with_overrides(  # type: ignore[attr-defined]
        health_max_event_age_seconds=1000.0
    )
    await outbox.enqueue(
        USER, [{"type": "text", "text": "x"}], not_before=now() - timedelta(minutes=3)
    )
    status, body = await health(client)
    assert status == 200 and body["max_age_seconds"] == 1000.0


async def test_database_down_is_503_with_reason(
    client: httpx2.AsyncClient, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: object, **kwargs: object) -> object:
        raise ConnectionRefusedError("connection to 10.0.0.5 refused")

    monkeypatch.setattr(Tortoise.get_connection("default"), "execute_query", refused)
    status, body = await health(client)
    assert status == 503
    assert body == {
        "status": "error",
        "database": "error",
        "reason": "データベースに接続できません",
    }
