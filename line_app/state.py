"""Per-user conversation state for steps that wait for free text (with an expiry)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models.conversation import ConversationState
from shima.timeutil import now

DEFAULT_TTL = timedelta(minutes=30)


async def current(line_user_id: str) -> ConversationState | None:
    state = await ConversationState.get_or_none(line_user_id=line_user_id)
    if state is None:
        return None
    if state.expires_at <= now():
        await state.delete()
        return None
    return state


async def wait_for_text(
    line_user_id: str, flow: str, step: str, data: dict[str, Any], ttl: timedelta = DEFAULT_TTL
) -> None:
    await ConversationState.update_or_create(
        defaults={"flow": flow, "step": step, "data": data, "expires_at": now() + ttl},
        line_user_id=line_user_id,
    )


async def clear(line_user_id: str) -> None:
    await ConversationState.filter(line_user_id=line_user_id).delete()
