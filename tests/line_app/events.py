"""Build and sign LINE webhook bodies exactly as LINE sends them."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx2

from line_app.signature import sign

_counter = itertools.count(1)


def event_id() -> str:
    """A unique 26-character ULID-like id."""
    return f"01TEST{next(_counter):020d}"


def _base(kind: str, user_id: str, reply_token: str | None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token:
        event["replyToken"] = reply_token
    event.update(extra)
    return event


def follow(user_id: str, reply_token: str | None) -> dict[str, Any]:
    return _base("follow", user_id, reply_token, follow={"isUnblocked": False})


def unfollow(user_id: str) -> dict[str, Any]:
    return _base("unfollow", user_id, None)


def text(user_id: str, reply_token: str | None, body: str) -> dict[str, Any]:
    message = {"id": str(next(_counter)), "type": "text", "text": body, "quoteToken": "q"}
    return _base("message", user_id, reply_token, message=message)


def postback(
    user_id: str, reply_token: str | None, data: str, params: dict[str, str] | None = None
) -> dict[str, Any]:
    pb: dict[str, Any] = {"data": data}
    if params:
        pb["params"] = params
    return _base("postback", user_id, reply_token, postback=pb)


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": "Ubot", "events": list(events)}).encode()


async def post(client: httpx2.AsyncClient, secret: str, *events: dict[str, Any]) -> httpx2.Response:
    raw = body(*events)
    return await client.post(
        "/callback",
        content=raw,
        headers={"x-line-signature": sign(secret, raw), "content-type": "application/json"},
    )
