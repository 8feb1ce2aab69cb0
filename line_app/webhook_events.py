"""What a webhook event must look like before the worker may act on it.

Checked once, per event, at ingestion: a signed body may still carry an event the flows cannot
read (`source` a string, `message` not an object, …). Such an event is stored as ignored with
its reason, and the other events of the body are handled as usual; an event we cannot even
store (no usable `webhookEventId`, not an object) is skipped and counted in the log. Nothing
here raises on any JSON value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_ID = 64  # inbox_events.webhook_event_id / line_user_id
MAX_TYPE = 32  # inbox_events.event_type
MAX_REPLY_TOKEN = 128  # inbox_events.reply_token
MAX_POSTBACK_DATA = 300  # LINE's own limit for postback data
MAX_DEPTH = 32  # LINE's bodies nest about six deep; deeper is not LINE


UNSTORABLE = "保存できない文字（NUL または不正なサロゲート）を含みます"
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Checked:
    """One event as it will be stored. `problem` is None for an event the worker handles,
    else the reason it is stored as ignored (shown to staff)."""

    webhook_event_id: str
    line_user_id: str
    event_type: str
    reply_token: str | None
    event_time: datetime | None
    problem: str | None


class Skip(Exception):
    """Not stored at all; the argument says why (for the log's count)."""


def _text(value: Any, limit: int) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check(event: Any) -> Checked:
    """The stored form of one event, or `Skip` for events never stored (standby mode, group
    and room chats, no usable id)."""
    if not isinstance(event, dict):
        raise Skip("not an object")
    mode = event.get("mode", "active")
    if mode == "standby":
        raise Skip("standby")  # another channel owns the chat: change and send nothing
    event_id = _text(event.get("webhookEventId"), MAX_ID)
    if event_id is None:
        raise Skip("no usable webhookEventId")
    source = event.get("source")
    if isinstance(source, dict) and source.get("type") in ("group", "room"):
        raise Skip("group or room")  # groups and rooms are not used by this account
    user_id = _text(source.get("userId"), MAX_ID) if isinstance(source, dict) else None
    kind = _text(event.get("type"), MAX_TYPE)
    token = event.get("replyToken")
    reply_token = _text(token, MAX_REPLY_TOKEN)
    event_time = _event_time(event.get("timestamp"))

    problem = None
    if mode != "active":
        problem = "mode が不正です"
    elif not isinstance(source, dict) or source.get("type") != "user" or user_id is None:
        problem = "source（送信元のユーザー）が不正です"
    elif kind is None:
        problem = "type が不正です"
    elif event_time is None:
        problem = "timestamp が不正です"
    elif token is not None and reply_token is None:
        problem = "replyToken が不正です"
    elif kind == "message":
        problem = _message_problem(event.get("message"))
    elif kind == "postback":
        problem = _postback_problem(event.get("postback"))
    return Checked(
        webhook_event_id=event_id,
        line_user_id=user_id or "",
        event_type=kind or "",
        reply_token=reply_token,
        event_time=event_time,
        problem=problem,
    )


def _event_time(value: Any) -> datetime | None:
    if not _is_int(value):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "message が不正です"
    if message["type"] == "text" and not isinstance(message.get("text"), str):
        return "message.text が不正です"
    return None


def _postback_problem(postback: Any) -> str | None:
    if not isinstance(postback, dict):
        return "postback が不正です"
    data = postback.get("data")
    if not isinstance(data, str) or len(data) > MAX_POSTBACK_DATA:
        return "postback.data が不正です"
    params = postback.get("params")
    if params is not None and (
        not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values())
    ):
        return "postback.params が不正です"
    return None


def too_deep(body: bytes, payload: Any) -> bool:
    """True when the parsed body nests deeper than MAX_DEPTH. Counting brackets in the raw
    bytes is C-fast and bounds the depth, so ordinary bodies are never walked."""
    if body.count(b"{") + body.count(b"[") <= MAX_DEPTH:
        return False
    level: list[Any] = [payload]
    for _ in range(MAX_DEPTH):  # after the loop: the containers at depth MAX_DEPTH + 1
        if not level:
            return False
        nested: list[Any] = []
        for value in level:
            if isinstance(value, dict):
                nested.extend(v for v in value.values() if isinstance(v, dict | list))
            elif isinstance(value, list):
                nested.extend(v for v in value if isinstance(v, dict | list))
        level = nested
    return bool(level)


def scrubbed(value: Any) -> tuple[Any, bool]:
    """`value` with NUL and lone surrogates replaced by U+FFFD (PostgreSQL refuses them,
    UTF-8 cannot encode a lone surrogate), and whether there were any."""
    if isinstance(value, str):
        clean = _BAD_CHARS.sub("\ufffd", value)
        return clean, clean != value
    if isinstance(value, list):
        items = [scrubbed(v) for v in value]
        return [v for v, _ in items], any(bad for _, bad in items)
    if isinstance(value, dict):
        pairs = [(scrubbed(k), scrubbed(v)) for k, v in value.items()]
        return {k: v for (k, _), (v, _) in pairs}, any(a or b for (_, a), (_, b) in pairs)
    return value, False
