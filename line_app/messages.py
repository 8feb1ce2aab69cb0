"""Builders for Messaging API message objects (LINE's JSON, camelCase)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

Message = dict[str, Any]
Action = dict[str, Any]

MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL = 20


def postback_data(flow: str, step: str | None = None, **params: object) -> str:
    """`flow=consult&step=slot&id=42` — everything the next step needs (≤ 300 chars)."""
    fields: dict[str, object] = {"flow": flow}
    if step:
        fields["step"] = step
    fields.update({k: v for k, v in params.items() if v is not None})
    data = urlencode(fields)
    if len(data) > 300:
        raise ValueError(f"postback data too long ({len(data)} chars)")
    return data


def postback(label: str, data: str, display_text: str | None = None) -> Action:
    action: Action = {"type": "postback", "label": label[:MAX_LABEL], "data": data}
    if display_text:
        action["displayText"] = display_text
    return action


def uri_action(label: str, uri: str) -> Action:
    return {"type": "uri", "label": label[:MAX_LABEL], "uri": uri}


def text(body: str, quick_replies: list[Action] | None = None) -> Message:
    message: Message = {"type": "text", "text": body[:5000]}
    if quick_replies:
        message["quickReply"] = quick_reply(quick_replies)
    return message


def quick_reply(actions: list[Action]) -> dict[str, Any]:
    return {"items": [{"type": "action", "action": a} for a in actions[:MAX_QUICK_REPLY_ITEMS]]}


def flex(
    alt_text: str, contents: dict[str, Any], quick_replies: list[Action] | None = None
) -> Message:
    message: Message = {"type": "flex", "altText": alt_text[:1500], "contents": contents}
    if quick_replies:
        message["quickReply"] = quick_reply(quick_replies)
    return message


def confirm(alt_text: str, body: str, yes: Action, no: Action) -> Message:
    return {
        "type": "template",
        "altText": alt_text[:400],
        "template": {"type": "confirm", "text": body[:240], "actions": [yes, no]},
    }
