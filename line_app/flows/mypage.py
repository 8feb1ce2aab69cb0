"""マイページ: each area shows its part (相談予約: the upcoming bookings). The parts come from
the area registry (shima.areas) through the router."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from line_app import state
from line_app.turn import Turn
from models.conversation import ConversationState

# An area's part of マイページ: replies with what the resident has in that area.
MyPageSection = Callable[[Turn], Awaitable[None]]


class MyPageFlow:
    def __init__(self, sections: Sequence[MyPageSection]) -> None:
        self.sections = tuple(sections)

    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        await state.clear(turn.user_id)
        await self.show(turn)

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        await self.show(turn)

    async def show(self, turn: Turn) -> None:
        for section in self.sections:
            await section(turn)
