"""Malformed events in a signed body: each is stored as ignored with its reason, the other
events of the body are handled, and the answer is never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from line_app.fake_line import FakeLinePlatform
from models.inbox import InboxEvent, InboxStatus
from shima.worker import Worker
from tests.line_app import events

SECRET = "test-channel-secret"


async def post_raw(client: httpx2.AsyncClient, raw: bytes) -> httpx2.Response:
    return await client.post(
        "/callback", content=raw, headers={"x-line-signature": events.sign(SECRET, raw)}
    )


def good(fake_line: FakeLinePlatform, user: str) -> dict[str, Any]:
    return events.text(user, fake_line.issue_reply_token(user), "こんにちは")


BROKEN: dict[str, tuple[Any, str]] = {
    # field → (bad value, words the stored reason must contain)
    "source": ("Ubad", "source"),
    "message": ("not an object", "message"),
    "timestamp": ("yesterday", "timestamp"),
    "replyToken": (12345, "replyToken"),
    "type": (["message"], "type"),
}


@pytest.mark.parametrize("field", sorted(BROKEN))
async def test_a_malformed_event_is_ignored_and_the_rest_of_the_body_is_answered(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker, field: str
) -> None:
    value, reason = BROKEN[field]
    bad = {**events.text("Ubad", "rt-bad", "壊れた"), field: value}
    response = await events.post(client, SECRET, good(fake_line, "U1"), bad, good(fake_line, "U3"))
    assert response.status_code == 200

    ignored = await InboxEvent.get(webhook_event_id=bad["webhookEventId"])
    assert ignored.status == InboxStatus.IGNORED
    assert reason in (ignored.last_error or "")
    await worker.drain()
    assert {d.user_id for d in fake_line.deliveries} == {"U1", "U3"}
    assert (await InboxEvent.get(webhook_event_id=bad["webhookEventId"])).attempts == 0


async def test_a_broken_message_does_not_block_the_residents_later_events(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    broken = {**events.text("U1", "rt-x", "x"), "message": "not an object"}
    postback = events.postback("U1", "rt-y", "flow=menu")
    postback["postback"] = ["flow=menu"]
    params = events.postback("U1", "rt-z", "flow=menu", {"date": "2026-12-24"})
    params["postback"]["params"] = {"date": 20261224}
    for event in (broken, postback, params):
        assert (await events.post(client, SECRET, event)).status_code == 200
    assert (await events.post(client, SECRET, good(fake_line, "U1"))).status_code == 200

    await worker.drain()
    [delivery] = fake_line.delivered("U1")  # the good one, at once: nothing failed first
    assert delivery.via == "reply"
    statuses = [e.status for e in await InboxEvent.all().order_by("id")]
    assert statuses == [InboxStatus.IGNORED] * 3 + [InboxStatus.DONE]


async def test_characters_no_database_stores_are_ignored_not_500(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    nul = events.text("U2", "rt-nul", "a\x00b")
    surrogate_id = events.event_id()
    # json.dumps would escape a lone surrogate too; write it by hand to be sure.
    raw = (
        b'{"destination":"Ubot","events":['
        + json.dumps(good(fake_line, "U1")).encode()
        + b","
        + json.dumps(nul).encode()
        + b","
        + json.dumps(events.text("U3", "rt-s", "x"))
        .encode()
        .replace(b'"text": "x"', b'"text": "\\ud800"')
        .replace(b'"webhookEventId": "', b'"webhookEventId": "' + surrogate_id.encode() + b"-")
        + b"]}"
    )
    response = await post_raw(client, raw)
    assert response.status_code == 200
    rows = {e.line_user_id: e for e in await InboxEvent.all()}
    assert rows["U2"].status == rows["U3"].status == InboxStatus.IGNORED
    assert "NUL" in (rows["U2"].last_error or "")
    assert rows["U2"].payload["message"]["text"] == "a\ufffdb"
    await worker.drain()
    assert [d.user_id for d in fake_line.deliveries] == ["U1"]


async def test_events_that_cannot_be_stored_are_skipped_and_the_rest_kept(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform
) -> None:
    no_id = events.text("U2", "rt", "x")
    del no_id["webhookEventId"]
    long_id = {**events.text("U3", "rt", "x"), "webhookEventId": "9" * 65}
    raw = events.body(good(fake_line, "U1"), no_id, long_id, "a string", 42)
    assert (await post_raw(client, raw)).status_code == 200
    assert [e.line_user_id for e in await InboxEvent.all()] == ["U1"]


@pytest.mark.parametrize("depth", [40, 5000])
async def test_deeply_nested_json_is_400_and_stores_nothing(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, depth: int
) -> None:
    event = good(fake_line, "U1")
    nested = json.dumps(event).encode()[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    raw = b'{"destination":"Ubot","events":[' + nested + b"]}"
    response = await post_raw(client, raw)
    assert response.status_code == 400
    assert response.json() == {"message": "JSON nested too deeply"}
    assert await InboxEvent.all().count() == 0


async def test_ordinary_nesting_is_accepted(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform
) -> None:
    """Many events (many brackets) but shallow: stored, not refused."""
    raw = events.body(*(good(fake_line, f"U{i}") for i in range(30)))
    assert (await post_raw(client, raw)).status_code == 200
    assert await InboxEvent.all().count() == 30
