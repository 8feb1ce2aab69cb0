"""1:1 chat (個別チャット): the conversation log between a resident and the desk, kept apart
from the inbox/outbox (those are purged for retention), and one thread row per resident."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.residents import Resident


class Direction(StrEnum):
    IN = "in"  # the resident wrote
    OUT = "out"  # the account sent


class Sender(StrEnum):
    RESIDENT = "resident"
    BOT = "bot"  # an automatic answer of a flow, a reminder or a notice
    STAFF = "staff"  # written by staff in the chat


class ChatKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    STICKER = "sticker"
    OTHER = "other"  # video, file, location, flex cards… shown by a short label


class ChatMessage(Model):
    id = fields.BigIntField(primary_key=True)
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name=False, on_delete=fields.CASCADE
    )
    resident_id: int
    direction = fields.CharEnumField(Direction, max_length=8)
    sender = fields.CharEnumField(Sender, max_length=16)
    staff_id = fields.IntField(null=True)  # who wrote it (sender staff)
    kind = fields.CharEnumField(ChatKind, max_length=16, default=ChatKind.TEXT)
    text = fields.TextField(default="")  # the text, or a label for other kinds
    # Images: a file under the data folder (resident's) or the public name of ours.
    image_path = fields.CharField(max_length=200, default="")
    line_message_id = fields.CharField(max_length=64, null=True, unique=True)
    outbox_id = fields.BigIntField(null=True, db_index=True)  # a row may hold up to 5
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chat_messages"
        indexes = (("resident_id", "id"),)


class ChatThread(Model):
    """Per resident: ordering of the chat list, unread count, the スタッフ対応中 switch, and the
    latest inbound reply token staff may still use (single use)."""

    id = fields.IntField(primary_key=True)
    resident: fields.OneToOneRelation[Resident] = fields.OneToOneField(
        "models.Resident", related_name=False, on_delete=fields.CASCADE
    )
    resident_id: int
    last_message_at = fields.DatetimeField(db_index=True)
    unread = fields.IntField(default=0)
    staff_handling = fields.BooleanField(default=False)  # スタッフ対応中: no fallback answers
    # When the bot last said it passed a message to the desk (None: since staff answered).
    handover_at = fields.DatetimeField(null=True)
    reply_token = fields.CharField(max_length=128, null=True)
    reply_deadline = fields.DatetimeField(null=True)
    reply_token_used = fields.BooleanField(default=True)

    class Meta:
        table = "chat_threads"


class SavedReply(Model):
    """定型文: a reply staff pick in the chat (e.g. the online meeting URL)."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "chat_saved_replies"
        ordering = ["title", "id"]
