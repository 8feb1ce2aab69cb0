"""One turn of the conversation: the event, the resident, and what we answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from line_app import outbox
from line_app.messages import Message
from models.inbox import InboxEvent
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.settings import Settings


@dataclass
class Turn:
    event: InboxEvent
    resident: Resident
    settings: Settings
    # Looked up before the transaction (network calls never run inside one).
    profile_name: str | None = None
    replies: list[Message] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, Any]:
        return self.event.payload  # type: ignore[no-any-return]

    @property
    def user_id(self) -> str:
        return self.event.line_user_id

    def reply(self, *messages: Message) -> None:
        self.replies.extend(messages)

    def outbox_rows(self) -> list[OutboxMessage]:
        """The answer as unsaved outbox rows (replying with the event's token while fresh)."""
        if not self.replies:
            return []
        deadline = None
        if self.event.reply_token:
            deadline = self.event.event_time + timedelta(
                seconds=self.settings.reply_token_ttl_seconds
            )
        rows = outbox.build_rows(
            self.user_id,
            self.replies,
            reply_token=self.event.reply_token,
            reply_deadline=deadline,
            inbox_event_id=self.event.id,
        )
        self.replies = []
        return rows
