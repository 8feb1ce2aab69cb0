"""Per-user conversation state for steps that wait for free text."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class ConversationState(Model):
    id = fields.IntField(primary_key=True)
    line_user_id = fields.CharField(max_length=64, unique=True)
    flow = fields.CharField(max_length=32)
    step = fields.CharField(max_length=32)
    data: fields.Field[Any] = fields.JSONField(default=dict)
    expires_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "conversation_states"
