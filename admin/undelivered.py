"""Undelivered messages (outbox dead letters, and 配信状況不明: LINE may or may not have shown
them): what, to whom, why; resend or discard.

The rules for both actions live in line_app.outbox; this module only translates.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin import audit
from admin.auth import staff_required
from admin.listing import page_of
from admin.pages import render
from line_app import outbox
from models.outbox import OutboxMessage, OutboxStatus
from models.residents import Resident

LIST_PATH = "/admin/undelivered"
SUMMARY_CHARS = 200

MESSAGE_TYPE_LABELS = {
    "image": "［画像］",
    "video": "［動画］",
    "audio": "［音声］",
    "sticker": "［スタンプ］",
    "location": "［位置情報］",
    "imagemap": "［イメージマップ］",
    "template": "［テンプレート］",
    "flex": "［Flex メッセージ］",
}
# Outcome codes in the redirect's query string; only these fixed texts are ever shown.
OUTCOMES = {
    "requeued": ("success", "再送を予約しました。まもなく送信されます。"),
    "discarded": ("success", "メッセージを破棄しました。"),
    "stale": ("warning", "このメッセージはすでに処理されています。一覧を更新しました。"),
}


def summarise(messages: Any) -> str:
    """A readable one-line summary of LINE message objects (text, else altText, else type)."""
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list):
        return ""
    parts: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        kind = str(message.get("type", ""))
        if kind == "text":
            parts.append(str(message.get("text", "")))
        elif message.get("altText"):
            parts.append(str(message["altText"]))
        else:
            parts.append(MESSAGE_TYPE_LABELS.get(kind, f"［{kind or '不明'}］"))
    summary = " ／ ".join(part.replace("\n", " ") for part in parts)
    return summary if len(summary) <= SUMMARY_CHARS else summary[: SUMMARY_CHARS - 1] + "…"


@staff_required
async def undelivered_list(request: Request) -> Response:
    dead = OutboxMessage.filter(status__in=outbox.FOR_STAFF)
    page, rows = await page_of(request, dead, "-id")
    user_ids = {row.line_user_id for row in rows}
    residents = {r.line_user_id: r for r in await Resident.filter(line_user_id__in=list(user_ids))}
    items = [
        {
            "message": row,
            "resident": residents.get(row.line_user_id),
            "summary": summarise(row.messages),
            "count": len(row.messages) if isinstance(row.messages, list) else 1,
            "unknown": row.status == OutboxStatus.UNKNOWN,
        }
        for row in rows
    ]
    await audit.record(request, "outbox.dead.list", "outbox_message", "", {"page": page.number})
    outcome = OUTCOMES.get(request.query_params.get("done", ""))
    return render(
        request,
        "admin/undelivered.html",
        {
            "items": items,
            "page": page,
            "outcome": outcome,
        },
        active="undelivered",
    )


async def _act(request: Request, action: str) -> Response:
    message_id: int = request.path_params["message_id"]
    if action == "requeue":
        changed = await outbox.requeue_dead(message_id)
    else:
        changed = await outbox.discard_dead(message_id)
    await audit.record(
        request, f"outbox.{action}", "outbox_message", message_id, {"changed": changed}
    )
    outcome = ("requeued" if action == "requeue" else "discarded") if changed else "stale"
    return RedirectResponse(f"{LIST_PATH}?done={outcome}", status_code=303)


@staff_required
async def requeue(request: Request) -> Response:
    return await _act(request, "requeue")


@staff_required
async def discard(request: Request) -> Response:
    return await _act(request, "discard")
