"""Route a stored event to its flow. Runs inside the event's transaction: flows change the
database and queue replies; they never call LINE."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import parse_qsl

from line_app import state
from line_app.client import LineClient
from line_app.flows import greeting, menu
from line_app.turn import Turn
from models.conversation import ConversationState
from models.inbox import InboxEvent


class Flow(Protocol):
    """A conversation flow: started by a postback `flow=<name>` (rich menu, quick reply) or
    a typed keyword; later steps arrive as postbacks carrying what they need."""

    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None: ...

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None: ...


FLOWS: dict[str, Flow] = {}


def register(name: str, flow: Flow) -> None:
    FLOWS[name] = flow


async def prefetch(event: InboxEvent, line: LineClient) -> str | None:
    """Network look-ups the flow needs, done before its transaction."""
    if event.event_type == "follow":
        return await line.display_name(event.line_user_id)
    return None


async def handle(turn: Turn) -> None:
    kind = turn.event.event_type
    if kind == "follow":
        await greeting.on_follow(turn)
        return
    if kind == "unfollow":
        await greeting.on_unfollow(turn)
        return
    if kind not in ("message", "postback"):
        return  # unknown and unused event types are ignored
    await greeting.ensure_privacy_notice(turn)
    if kind == "postback":
        await _postback(turn)
    else:
        await _message(turn)


async def _postback(turn: Turn) -> None:
    postback = turn.payload.get("postback") or {}
    params = dict(parse_qsl(str(postback.get("data", "")), keep_blank_values=True))
    picked = postback.get("params") or None
    flow_name = params.get("flow", "")
    if flow_name == "menu":
        await state.clear(turn.user_id)
        menu.show_menu(turn)
        return
    if flow_name == "cancel":
        await state.clear(turn.user_id)
        menu.cancelled(turn)
        return
    flow = FLOWS.get(flow_name)
    if flow is None:
        if flow_name in menu.BY_FLOW:
            menu.coming_soon(turn, flow_name)
        else:
            menu.not_understood(turn)  # an old or forged button: answer, change nothing
        return
    await flow.on_postback(turn, params, picked)


async def _message(turn: Turn) -> None:
    message = turn.payload.get("message") or {}
    if message.get("type") != "text":
        menu.unsupported_message(turn)
        return
    typed = str(message.get("text", "")).strip()
    if typed in menu.CANCEL_WORDS:
        await state.clear(turn.user_id)
        menu.cancelled(turn)
        return
    waiting = await state.current(turn.user_id)
    if waiting is not None and waiting.flow in FLOWS:
        await FLOWS[waiting.flow].on_text(turn, typed, waiting)
        return
    if typed.lower() in menu.MENU_WORDS or typed in menu.BACK_WORDS:
        menu.show_menu(turn)
        return
    item = menu.match_keyword(typed)
    if item is None:
        menu.not_understood(turn)
    elif item.flow in FLOWS:
        await FLOWS[item.flow].on_postback(turn, {"flow": item.flow}, None)
    else:
        menu.coming_soon(turn, item.flow)


# Flows register themselves on import (they need `register` defined above).
from line_app.flows import consult  # noqa: E402,F401
