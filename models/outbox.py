"""Outbox: messages a flow decided to send, delivered by the sender after commit."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"  # gave up: shown to staff as undelivered
    # LINE may or may not have taken it (no answer came back and it can no longer be
    # retried safely): shown to staff as 配信状況不明, never pushed blindly.
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"  # staff discarded a dead letter


class OutboxMessage(Model):
    id = fields.BigIntField(primary_key=True)
    line_user_id = fields.CharField(max_length=64)
    # Up to five Messaging API message objects (LINE's JSON, camelCase).
    messages: fields.Field[Any] = fields.JSONField()
    reply_token = fields.CharField(max_length=128, null=True)
    reply_deadline = fields.DatetimeField(null=True)  # after this, push instead
    # Sent on every push attempt; LINE answers 409 to a retry of an accepted push.
    retry_key = fields.CharField(max_length=36, unique=True)
    # Optional idempotency key for messages not caused by one event (reminders, notices).
    dedupe_key = fields.CharField(max_length=128, unique=True, null=True)
    kind = fields.CharField(max_length=32, default="reply")
    inbox_event_id = fields.BigIntField(null=True)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    worker_id = fields.CharField(max_length=64, null=True)
    # Set (and committed) before a reply call: a reply token is single use, so after a
    # crash mid-call we must not assume the token is still unused.
    reply_attempted_at = fields.DatetimeField(null=True)
    # A push got no answer (timeout, cut connection): LINE may have taken it. Retrying with
    # the same retry key is safe only while LINE remembers the key (24 h).
    push_outcome_unknown = fields.BooleanField(default=False)
    # When the first attempt failed: retries stop `send_give_up_hours` after it.
    failing_since = fields.DatetimeField(null=True)
    sent_via = fields.CharField(max_length=8, null=True)  # "reply" | "push"
    sent_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_messages"
        indexes = (("status", "next_attempt_at"), ("line_user_id", "id"))
