"""Inbox: every webhook event, stored once, then handled by the worker."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"  # the flow raised too often; kept for staff, never retried by itself
    IGNORED = "ignored"  # malformed at ingestion (reason in last_error); never handled


class InboxEvent(Model):
    id = fields.BigIntField(primary_key=True)
    # LINE's ULID for the event; unique, so a redelivery inserts nothing.
    webhook_event_id = fields.CharField(max_length=64, unique=True)
    line_user_id = fields.CharField(max_length=64)
    event_type = fields.CharField(max_length=32)
    payload: fields.Field[Any] = fields.JSONField()
    reply_token = fields.CharField(max_length=128, null=True)
    event_time = fields.DatetimeField()  # LINE's timestamp (kept on redelivery)
    received_at = fields.DatetimeField(auto_now_add=True)
    status = fields.CharEnumField(InboxStatus, max_length=16, default=InboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    lease_until = fields.DatetimeField(null=True)
    worker_id = fields.CharField(max_length=64, null=True)
    processed_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)  # or, for IGNORED, why it was not handled

    class Meta:
        table = "inbox_events"
        indexes = (("status", "id"), ("line_user_id", "id"))
