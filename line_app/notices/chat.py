"""Staff messages in the 1:1 chat (the admin calls these; never a flow).

A staff message goes out exactly once through the outbox: its dedupe key comes from the
form's nonce, so a double submit queues nothing the second time. It replies with the
resident's latest unused reply token while that is fresh (free), else it is pushed (one
message of the monthly quota per message object).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from line_app import outbox
from line_app.messages import Message, text
from models.chat import ChatKind, ChatMessage, ChatThread, Direction, Sender
from models.residents import Resident
from shima.settings import CHAT_MEDIA_DIR
from shima.timeutil import now

MEDIA_DIR = CHAT_MEDIA_DIR
# A reply needs a moment to reach LINE: a token this close to its end is not offered.
REPLY_MARGIN = timedelta(seconds=5)


def media_path(kind: str, name: str) -> Path:
    return MEDIA_DIR / kind / name


@dataclass(frozen=True)
class Plan:
    """How the next staff message will go out, shown before sending."""

    via: str  # "reply" | "push"
    blocked: bool

    def cost(self, count: int = 1) -> int:
        """Messages of the monthly quota it uses (replies are free)."""
        return 0 if self.via == "reply" else count


@dataclass(frozen=True)
class Sent:
    ok: bool
    via: str = ""
    duplicate: bool = False
    blocked: bool = False


def _token_fresh(thread: ChatThread | None, at: datetime) -> bool:
    return bool(
        thread
        and thread.reply_token
        and not thread.reply_token_used
        and thread.reply_deadline
        and at + REPLY_MARGIN < thread.reply_deadline
    )


async def plan(resident: Resident) -> Plan:
    thread = await ChatThread.get_or_none(resident_id=resident.id)
    via = "reply" if _token_fresh(thread, now()) else "push"
    return Plan(via=via, blocked=not resident.is_following)


async def send(
    resident: Resident,
    staff_id: int,
    nonce: str,
    *,
    body: str = "",
    image: tuple[str, str] | None = None,
) -> Sent:
    """Queue a staff message (text `body`, or `image` = (original URL, preview URL)).
    Refused for a resident who blocked the account; the same nonce sends once."""
    if not resident.is_following:
        return Sent(ok=False, blocked=True)
    key = f"chat:{nonce}"[:128]
    message: Message
    if image is not None:
        message = {"type": "image", "originalContentUrl": image[0], "previewImageUrl": image[1]}
    else:
        message = text(body)
    try:
        async with in_transaction():
            if await outbox.OutboxMessage.exists(dedupe_key=key):
                return Sent(ok=True, duplicate=True)
            at = now()
            thread = await ChatThread.get_or_none(resident_id=resident.id)
            token = deadline = None
            if thread is not None and _token_fresh(thread, at):
                # Single use: only one staff message may take it (a conditional update).
                taken = await ChatThread.filter(
                    id=thread.id, reply_token=thread.reply_token, reply_token_used=False
                ).update(reply_token_used=True)
                if taken:
                    token, deadline = thread.reply_token, thread.reply_deadline
            rows = await outbox.enqueue(
                resident.line_user_id,
                [message],
                reply_token=token,
                reply_deadline=deadline,
                kind="chat",
                dedupe_key=key,
            )
            await ChatMessage.create(
                resident_id=resident.id,
                direction=Direction.OUT,
                sender=Sender.STAFF,
                staff_id=staff_id,
                kind=ChatKind.IMAGE if image else ChatKind.TEXT,
                text=body[:5000] if image is None else "",
                image_path=image[0] if image else "",
                outbox_id=rows[0].id if rows else None,
            )
            # Staff answered: the bot's hand-over answer stays quiet for a while from now.
            if thread is None:
                await ChatThread.create(resident_id=resident.id, last_message_at=at, handover_at=at)
            else:
                await ChatThread.filter(id=thread.id).update(last_message_at=at, handover_at=at)
    except IntegrityError:  # the same nonce raced in from a second request
        return Sent(ok=True, duplicate=True)
    return Sent(ok=True, via="reply" if token else "push")
