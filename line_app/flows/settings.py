"""マイページ's 設定: お知らせの受け取り (opting out of segment messages) and
データの確認・削除の申請 (a request about their data, handled by staff)."""

from __future__ import annotations

from typing import Any

from line_app.turn import Turn
from models.conversation import ConversationState


async def show_settings(turn: Turn) -> None:
    """マイページ's last card: the two settings."""


class NotifyFlow:
    """`flow=notify`: お知らせの受け取り."""

    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        return None

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        return None


class DataRequestFlow:
    """`flow=privacy`: データの確認・削除の申請."""

    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        return None

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        return None
