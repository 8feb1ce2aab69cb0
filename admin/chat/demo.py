"""Demo data for チャット (shima seed-demo): two residents' conversations and the standard
定型文, so `make run` shows the chat populated. Idempotent: a demo resident who already
has messages is left as is."""

from __future__ import annotations

from datetime import timedelta

from admin.chat.replies import seed_saved_replies
from models.chat import ChatKind, ChatMessage, ChatThread, Direction, Sender
from models.residents import Resident
from shima.timeutil import now

DEMO = (
    (
        "Udemo0000000000000000000000chat01",
        "奄美 はるか",
        (
            (
                Direction.IN,
                Sender.RESIDENT,
                "来週のオンライン相談は、スマホからでも参加できますか？",
            ),
            (
                Direction.OUT,
                Sender.BOT,
                "メッセージありがとうございます。\n内容を窓口の担当者にお伝えしました。",
            ),
            (Direction.IN, Sender.RESIDENT, "カメラはオフでも大丈夫でしょうか。"),
        ),
        2,
    ),
    (
        "Udemo0000000000000000000000chat02",
        "名瀬 たろう",
        (
            (Direction.IN, Sender.RESIDENT, "確定申告の相談もできますか？"),
            (
                Direction.OUT,
                Sender.BOT,
                "メッセージありがとうございます。\n内容を窓口の担当者にお伝えしました。",
            ),
            (
                Direction.OUT,
                Sender.STAFF,
                "はい、できます。相談予約からご都合のよい日時をお選びください。",
            ),
            (Direction.IN, Sender.RESIDENT, "ありがとうございます！予約してみます。"),
        ),
        0,
    ),
)


async def seed_demo() -> str:
    added = await seed_saved_replies()
    conversations = 0
    for user_id, name, lines, unread in DEMO:
        resident, _ = await Resident.get_or_create(
            line_user_id=user_id, defaults={"display_name": name, "followed_at": now()}
        )
        if await ChatMessage.exists(resident_id=resident.id):
            continue
        start = now() - timedelta(minutes=10 * len(lines))
        for i, (direction, sender, body) in enumerate(lines):
            await ChatMessage.create(
                resident_id=resident.id,
                direction=direction,
                sender=sender,
                kind=ChatKind.TEXT,
                text=body,
                created_at=start + timedelta(minutes=10 * i),
            )
        last = start + timedelta(minutes=10 * (len(lines) - 1))
        await ChatThread.get_or_create(
            resident_id=resident.id,
            defaults={"last_message_at": last, "unread": unread, "handover_at": last},
        )
        conversations += 1
    parts = []
    if conversations:
        parts.append(f"チャット {conversations}件")
    if added:
        parts.append(f"定型文 {added}件")
    return ", ".join(parts)  # as `shima seed-demo` joins the areas
