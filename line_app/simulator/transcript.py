"""What the simulator page remembers per demo user (its own side of the chat)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SimUser:
    user_id: str
    display_name: str
    following: bool = False
    ever_followed: bool = False
    bubbles: list[dict[str, Any]] = field(default_factory=list)  # the user's own side


@dataclass
class Transcript:
    users: dict[str, SimUser] = field(default_factory=dict)

    def user(self, user_id: str, display_name: str | None) -> SimUser:
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = SimUser(user_id, display_name or "LINEユーザー")
        elif display_name:
            user.display_name = display_name
        return user
