"""個別チャット's part of a resident's data: the conversation log (what they wrote, what the
account and staff sent them), their pictures (files under the data folder) and their thread.

Erasure keeps each message row (direction, sender, kind, time: a message stays a message) and
empties its words and picture; the resident's pictures and the ones staff sent only them are
deleted from disk once the erasure has committed; LINE's message ids go (LINE would serve a
picture's content by its id for a while: line_app.chat fetches missing ones again by it); the
thread forgets its unused reply token and unread count."""

from __future__ import annotations

import re
from pathlib import Path

from models.chat import ChatKind, ChatMessage, ChatThread, Direction, Sender
from models.residents import Resident
from shima.domain.personal_data import Erasure, ExportTable
from shima.domain.personal_data.cells import row, yes_no
from shima.settings import CHAT_MEDIA_DIR
from shima.timeutil import format_jst

MEDIA_DIR = CHAT_MEDIA_DIR
_IN_NAME = re.compile(r"[0-9A-Za-z]{1,64}\.(jpg|png|gif)")
# A staff picture's message keeps its public URL; the file is named by its last part.
_OUT_NAME = re.compile(r"([A-Za-z0-9_-]{32})\.jpg")
PHOTO_FOLDER = "写真/チャット"

DIRECTIONS = {Direction.IN: "利用者から", Direction.OUT: "窓口から"}
SENDERS = {Sender.RESIDENT: "ご本人", Sender.BOT: "自動の返信・お知らせ", Sender.STAFF: "スタッフ"}
KINDS = {ChatKind.TEXT: "文字", ChatKind.IMAGE: "画像", ChatKind.STICKER: "スタンプ"}

MESSAGE_COLUMNS = ("番号", "日時", "向き", "送った人", "種類", "内容", "画像ファイル")
THREAD_COLUMNS = ("最後のやりとりの日時", "未読", "スタッフ対応中")


def picture_files(message: ChatMessage) -> list[Path]:
    """The files of a message's picture that are the resident's: theirs, or one staff sent
    them (original and preview). A picture of a notice (a programme's image) is shared: none."""
    if message.kind != ChatKind.IMAGE or not message.image_path:
        return []
    if message.sender == Sender.RESIDENT and _IN_NAME.fullmatch(message.image_path):
        return [MEDIA_DIR / "in" / message.image_path]
    name = message.image_path.rsplit("/", 1)[-1]
    found = _OUT_NAME.fullmatch(name)
    if message.sender == Sender.STAFF and found:
        return [MEDIA_DIR / "out" / name, MEDIA_DIR / "out" / f"{found.group(1)}_p.jpg"]
    return []


async def export(resident: Resident) -> list[ExportTable]:
    messages = await ChatMessage.filter(resident_id=resident.id).order_by("id")
    rows, files = [], {}
    for m in messages:
        shown = ""
        for path in picture_files(m)[:1]:  # the original, not its preview
            if path.is_file():
                shown = f"{PHOTO_FOLDER}/{m.id}_{path.name}"
                files[shown] = path.read_bytes()
        rows.append(
            row(
                MESSAGE_COLUMNS,
                (
                    m.id,
                    format_jst(m.created_at),
                    DIRECTIONS.get(m.direction, str(m.direction)),
                    SENDERS.get(m.sender, str(m.sender)),
                    KINDS.get(m.kind, "その他"),
                    m.text,
                    shown,
                ),
            )
        )
    threads = await ChatThread.filter(resident_id=resident.id)
    thread_rows = [
        row(THREAD_COLUMNS, (format_jst(t.last_message_at), t.unread, yes_no(t.staff_handling)))
        for t in threads
    ]
    return [
        ExportTable(
            ChatMessage,
            "チャット",
            rows,
            files,
            columns=MESSAGE_COLUMNS,
            about="窓口とのやりとり（LINE のトーク）の記録",
        ),
        ExportTable(
            ChatThread,
            "チャットの状況",
            thread_rows,
            columns=THREAD_COLUMNS,
            about="窓口でのチャットの対応状況",
        ),
    ]


async def erase(e: Erasure) -> None:
    pictures = await ChatMessage.filter(resident_id=e.resident.id, kind=ChatKind.IMAGE).exclude(
        image_path=""
    )
    for message in pictures:
        e.files.extend(picture_files(message))
    await ChatMessage.filter(resident_id=e.resident.id).update(
        text="", image_path="", line_message_id=None
    )
    await ChatThread.filter(resident_id=e.resident.id).update(
        reply_token=None, reply_deadline=None, reply_token_used=True, unread=0
    )
