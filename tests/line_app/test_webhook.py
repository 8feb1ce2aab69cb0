"""POST /callback: verify before parsing, store once, answer at once."""

from __future__ import annotations

import httpx2

from line_app.fake_line import FakeLinePlatform
from models.inbox import InboxEvent, InboxStatus
from models.outbox import OutboxMessage
from shima.settings import Settings
from tests.line_app import events

SECRET = "test-channel-secret"


async def test_missing_signature_is_refused_and_nothing_stored(client: httpx2.AsyncClient) -> None:
    raw = events.body(events.text("U1", "rt", "こんにちは"))
    response = await client.post("/callback", content=raw)
    assert response.status_code == 400
    assert await InboxEvent.all().count() == 0


async def test_wrong_signature_is_refused_and_nothing_stored(client: httpx2.AsyncClient) -> None:
    raw = events.body(events.text("U1", "rt", "こんにちは"))
    bad = events.sign("another-secret", raw)
    response = await client.post("/callback", content=raw, headers={"x-line-signature": bad})
    assert response.status_code == 400
    # A signature of another body does not pass either.
    other = events.sign(SECRET, raw + b" ")
    response = await client.post("/callback", content=raw, headers={"x-line-signature": other})
    assert response.status_code == 400
    assert await InboxEvent.all().count() == 0


async def test_oversized_body_is_refused_without_reading_it(client: httpx2.AsyncClient) -> None:
    raw = b"{" + b" " * (1024 * 1024) + b"}"
    response = await client.post(
        "/callback", content=raw, headers={"x-line-signature": events.sign(SECRET, raw)}
    )
    assert response.status_code == 413


async def test_oversized_chunked_body_is_refused(client: httpx2.AsyncClient) -> None:
    async def chunks():  # no Content-Length: the limit applies while streaming
        for _ in range(20):
            yield b" " * 65536

    response = await client.post(
        "/callback", content=chunks(), headers={"x-line-signature": "c2lnbmF0dXJl"}
    )
    assert response.status_code == 413
    assert await InboxEvent.all().count() == 0


async def test_junk_with_valid_signature_is_400(client: httpx2.AsyncClient) -> None:
    for junk in (b"not json", b"\xff\xfe", b"[1,2]", b'{"events": "x"}'):
        response = await client.post(
            "/callback", content=junk, headers={"x-line-signature": events.sign(SECRET, junk)}
        )
        assert response.status_code == 400, junk
    assert await InboxEvent.all().count() == 0


async def test_empty_events_is_ok(client: httpx2.AsyncClient) -> None:
    raw = events.body()
    response = await client.post(
        "/callback", content=raw, headers={"x-line-signature": events.sign(SECRET, raw)}
    )
    assert response.status_code == 200


async def test_event_is_stored_once_and_redelivery_adds_nothing(client: httpx2.AsyncClient) -> None:
    event = events.text("U1", "rt-1", "こんにちは")
    assert (await events.post(client, SECRET, event)).status_code == 200
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    assert (await events.post(client, SECRET, redelivered)).status_code == 200
    rows = await InboxEvent.all()
    assert len(rows) == 1
    assert rows[0].status == InboxStatus.PENDING
    assert rows[0].reply_token == "rt-1"
    assert rows[0].payload["message"]["text"] == "こんにちは"


async def test_standby_events_change_nothing(client: httpx2.AsyncClient) -> None:
    event = {**events.text("U1", None, "こんにちは"), "mode": "standby"}
    assert (await events.post(client, SECRET, event)).status_code == 200
    assert await InboxEvent.all().count() == 0


async def test_ack_does_not_wait_for_line(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    """LINE being down changes nothing about the acknowledgement: nothing is sent inline."""
    fake_line.fail_next(500, times=100)
    token = fake_line.issue_reply_token("U1")
    response = await events.post(client, SECRET, events.text("U1", token, "こんにちは"))
    assert response.status_code == 200
    assert fake_line.calls == []
    assert await OutboxMessage.all().count() == 0
    assert await InboxEvent.filter(status=InboxStatus.PENDING).count() == 1


async def test_group_events_are_ignored(client: httpx2.AsyncClient) -> None:
    event = events.text("U1", "rt", "こんにちは")
    event["source"] = {"type": "group", "groupId": "G1", "userId": "U1"}
    assert (await events.post(client, SECRET, event)).status_code == 200
    assert await InboxEvent.all().count() == 0


async def test_only_post_is_accepted(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/callback")).status_code == 405
