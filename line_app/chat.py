"""The LINE side of the 1:1 chat (個別チャット): every message a resident sends is kept in the
chat log (models.chat) for staff; free text no flow takes is handed over to the desk; what
the account delivered is logged as the bot's (staff messages are logged when queued, by
line_app.notices.chat).

Residents' pictures are fetched from LINE before the event's transaction (network calls
never run inside one) into the data folder, named by LINE's message id, and served to
signed-in staff only.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

import aiohttp
from linebot.v3.messaging.exceptions import ApiException
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from line_app.client import LineClient
from line_app.messages import Action, text
from line_app.notices.chat import media_path
from line_app.notices.privacy import ERASED_KIND
from line_app.turn import Turn
from models.chat import ChatKind, ChatMessage, ChatThread, Direction, Sender
from models.inbox import InboxEvent
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.settings import desk_hours_text
from shima.timeutil import now

log = logging.getLogger("shima.chat")

# After the bot said it passed a message on (or staff wrote), it stays quiet this long, so
# the resident's next messages leave their reply tokens free for staff (free replies).
HANDOVER_QUIET = timedelta(hours=3)
FETCH_TIMEOUT = 10.0  # seconds for one picture
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_MESSAGE_ID = re.compile(r"[0-9A-Za-z]{1,64}")
_IMAGE_TYPES = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF8", "gif"))
IMAGE_EXTS = tuple(ext for _, ext in _IMAGE_TYPES)


def content_id(message: Any) -> str:
    """The id of a message whose content LINE keeps for us to fetch ("" for an image from
    an external provider, or a malformed id)."""
    if not isinstance(message, dict):
        return ""
    provider = message.get("contentProvider")
    kind = provider.get("type", "line") if isinstance(provider, dict) else "line"
    message_id = str(message.get("id", ""))
    return message_id if kind == "line" and _MESSAGE_ID.fullmatch(message_id) else ""


def _image_events(events: Sequence[InboxEvent]) -> list[str]:
    ids = []
    for event in events:
        message = (event.payload or {}).get("message") or {}
        if event.event_type != "message" or message.get("type") != "image":
            continue
        message_id = content_id(message)
        if message_id:
            ids.append(message_id)
    return ids


def stored_image(message_id: str) -> str:
    """The file name of a resident's picture we fetched ("" when we have none)."""
    if not _MESSAGE_ID.fullmatch(message_id):
        return ""
    for ext in IMAGE_EXTS:
        if media_path("in", f"{message_id}.{ext}").is_file():
            return f"{message_id}.{ext}"
    return ""


async def fetch_images(
    events: Sequence[InboxEvent], line: LineClient, skip: Collection[str] = ()
) -> int:
    """Fetch the pictures of a batch's image messages (before its transaction), except
    those in `skip` (taken by a flow: line_app.market_intake keeps artists' photos)."""
    wanted = [m for m in _image_events(events) if m not in skip and not stored_image(m)]
    if not wanted:
        return 0
    results = await asyncio.gather(*(_fetch(line, m) for m in wanted))
    return sum(results)


async def _fetch(line: LineClient, message_id: str) -> bool:
    try:
        data = await asyncio.wait_for(
            line.blob.get_message_content(message_id, _request_timeout=FETCH_TIMEOUT),
            FETCH_TIMEOUT,
        )
    except (ApiException, aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.warning("image %s could not be fetched: %s", message_id, type(exc).__name__)
        return False
    raw = bytes(data)
    ext = next((e for magic, e in _IMAGE_TYPES if raw.startswith(magic)), "")
    if not ext or len(raw) > MAX_IMAGE_BYTES:
        log.warning("image %s is not a picture we keep", message_id)
        return False
    path = media_path("in", f"{message_id}.{ext}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(raw)
    tmp.replace(path)
    return True


async def thread_of(resident: Resident) -> ChatThread:
    thread = await ChatThread.get_or_none(resident_id=resident.id)
    if thread is None:
        try:
            thread = await ChatThread.create(resident_id=resident.id, last_message_at=now())
        except IntegrityError:  # created meanwhile
            thread = await ChatThread.get(resident_id=resident.id)
    return thread


def handover_text(turn: Turn) -> str:
    settings = turn.settings
    return (
        "メッセージありがとうございます。\n"
        "内容を窓口の担当者にお伝えしました。担当者から、このトークでお返事いたします。\n\n"
        f"受付時間：{desk_hours_text(settings)}\n"
        "時間外にいただいたメッセージには、次の受付時間にお返事します。\n"
        f"お急ぎの場合は、お電話（{settings.desk_phone}）でもご相談いただけます。\n\n"
        "ご予約やお申込みは、下のボタンからもお手続きいただけます。"
    )


async def hand_over(turn: Turn, menu_actions: list[Action]) -> None:
    """A message no flow takes: pass it to the desk (staff see it as unread). The bot says
    so at most once per HANDOVER_QUIET (and never while スタッフ対応中), so staff can answer
    later messages by reply."""
    thread = await thread_of(turn.resident)
    at = now()
    update: dict[str, Any] = {"unread": F("unread") + 1}  # staff should read this one
    answer = not thread.staff_handling and (
        thread.handover_at is None or at - thread.handover_at >= HANDOVER_QUIET
    )
    if answer:
        update["handover_at"] = at
        turn.reply(text(handover_text(turn), menu_actions))
    await ChatThread.filter(id=thread.id).update(**update)


def _describe(message: dict[str, Any]) -> tuple[ChatKind, str]:
    kind = message.get("type")
    if kind == "text":
        return ChatKind.TEXT, str(message.get("text", ""))
    if kind == "image":
        return ChatKind.IMAGE, ""
    if kind == "sticker":
        return ChatKind.STICKER, "スタンプ"
    labels = {"video": "動画", "audio": "音声", "file": "ファイル", "location": "位置情報"}
    return ChatKind.OTHER, labels.get(str(kind), "メッセージ")


async def record_inbound(turn: Turn, note: str | None = None) -> None:
    """Log a resident's message (after the router answered it, so we know whether its reply
    token is still free for staff). `note`: a picture a flow took (an artist's photo for
    the market) is logged as this text, not as a picture the chat should fetch."""
    message = turn.payload.get("message") or {}
    message_id = str(message.get("id", ""))[:64] or None
    if message_id and await ChatMessage.exists(line_message_id=message_id):
        return
    kind, body = (ChatKind.OTHER, note) if note else _describe(message)
    thread = await thread_of(turn.resident)
    await ChatMessage.create(
        resident_id=turn.resident.id,
        direction=Direction.IN,
        sender=Sender.RESIDENT,
        kind=kind,
        text=body[:5000],
        image_path=stored_image(message_id) if kind == ChatKind.IMAGE and message_id else "",
        line_message_id=message_id,
    )
    # Unread counts only what no flow took (hand_over): keyword and flow steps are logged
    # for context but need no one's attention.
    update: dict[str, Any] = {"last_message_at": now()}
    if turn.event.reply_token and not turn.replies:
        update.update(
            reply_token=turn.event.reply_token,
            reply_deadline=turn.event.event_time
            + timedelta(seconds=turn.settings.reply_token_ttl_seconds),
            reply_token_used=False,
        )
    await ChatThread.filter(id=thread.id).update(**update)


def _out_entry(message: dict[str, Any]) -> tuple[ChatKind, str, str]:
    kind = message.get("type")
    if kind == "text":
        return ChatKind.TEXT, str(message.get("text", "")), ""
    if kind == "image":
        return ChatKind.IMAGE, "", str(message.get("previewImageUrl", ""))[:200]
    if kind == "sticker":
        return ChatKind.STICKER, "スタンプ", ""
    return ChatKind.OTHER, str(message.get("altText", "カード"))[:500], ""


async def record_delivered(rows: Sequence[OutboxMessage]) -> None:
    """Log what the account delivered on its own (flows' answers, reminders, notices).
    Staff messages (kind "chat") were logged when queued; an erasure's 「削除が完了しました」
    (line_app.notices.privacy.ERASED_KIND) goes to a LINE id no resident holds any more."""
    rows = [r for r in rows if r.kind not in ("chat", ERASED_KIND)]
    if not rows:
        return
    residents = dict(
        await Resident.filter(line_user_id__in={r.line_user_id for r in rows}).values_list(
            "line_user_id", "id"
        )
    )
    entries = []
    for row in rows:
        resident_id = residents.get(row.line_user_id)
        if resident_id is None:
            continue
        for message in row.messages or []:
            kind, body, image = _out_entry(message)
            entries.append(
                ChatMessage(
                    resident_id=resident_id,
                    direction=Direction.OUT,
                    sender=Sender.BOT,
                    kind=kind,
                    text=body[:5000],
                    image_path=image,
                    outbox_id=row.id,
                    created_at=now(),
                )
            )
    if entries:
        await ChatMessage.bulk_create(entries)


REFETCH_WITHIN = timedelta(hours=6)  # LINE keeps a message's content only for a while
REFETCH_BATCH = 10


async def fill_missing_images(line: LineClient) -> int:
    """Pictures a batch could not fetch at once: asked again by the worker's schedule loop
    (outside any transaction), a few per round, for REFETCH_WITHIN. Pictures a flow took
    (artists' photos: `record_inbound`'s note) are logged as text and never fetched here."""
    due = (
        await ChatMessage.filter(
            direction=Direction.IN,
            kind=ChatKind.IMAGE,
            image_path="",
            line_message_id__not_isnull=True,
            created_at__gte=now() - REFETCH_WITHIN,
            resident__erased_at__isnull=True,  # erasure clears the ids too; never theirs
        )
        .order_by("-id")
        .limit(REFETCH_BATCH)
        .values_list("id", "line_message_id")
    )
    filled = 0
    for row_id, message_id in due:
        if not stored_image(str(message_id)) and not await _fetch(line, str(message_id)):
            continue
        name = stored_image(str(message_id))
        if name:
            await ChatMessage.filter(id=row_id, image_path="").update(image_path=name)
            filled += 1
    return filled
