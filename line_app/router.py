"""Route a stored event to its flow. Runs inside the event's transaction: flows change the
database and queue replies; they never call LINE. The flows and menu come from the area
registry (shima.areas): nothing registers itself on import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

from line_app import chat, state
from line_app.flows import greeting
from line_app.flows.menu import BACK_WORDS, CANCEL_WORDS, MENU_WORDS, MYPAGE, Menu, MenuItem
from line_app.flows.mypage import MyPageFlow, MyPageSection
from line_app.turn import Turn
from models.conversation import ConversationState


class Flow(Protocol):
    """A conversation flow: started by a postback `flow=<name>` (rich menu, quick reply) or
    a typed keyword; later steps arrive as postbacks carrying what they need."""

    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None: ...

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None: ...


@dataclass(frozen=True)
class LineArea:
    """What an area gives the LINE side (its part of an entry in shima.areas)."""

    item: MenuItem  # menu label and the typed keywords that start it
    flow: Flow | None = None  # None: the area is not built yet and answers 準備中
    mypage: MyPageSection | None = None  # its part of マイページ


class Router:
    """Sends each event to its flow; built by the worker from the area registry."""

    def __init__(self, areas: Sequence[LineArea]) -> None:
        self.menu = Menu([a.item for a in areas])
        self.flows: dict[str, Flow] = {a.item.flow: a.flow for a in areas if a.flow}
        self.flows[MYPAGE.flow] = MyPageFlow([a.mypage for a in areas if a.mypage])

    async def handle(self, turn: Turn) -> None:
        kind = turn.event.event_type
        if kind == "follow":
            await greeting.on_follow(turn, self.menu)
            return
        if kind == "unfollow":
            await greeting.on_unfollow(turn)
            return
        if kind not in ("message", "postback"):
            return  # unknown and unused event types are ignored
        await greeting.ensure_privacy_notice(turn)
        if kind == "postback":
            await self._postback(turn)
        else:
            await self._message(turn)
            await chat.record_inbound(turn)  # the chat log, for staff (個別チャット)

    async def _postback(self, turn: Turn) -> None:
        postback = turn.payload.get("postback") or {}
        params = dict(parse_qsl(str(postback.get("data", "")), keep_blank_values=True))
        picked = postback.get("params") or None
        flow_name = params.get("flow", "")
        if flow_name == "menu":
            await state.clear(turn.user_id)
            self.menu.show(turn)
            return
        if flow_name == "cancel":
            await state.clear(turn.user_id)
            self.menu.cancelled(turn)
            return
        flow = self.flows.get(flow_name)
        if flow is None:
            if flow_name in self.menu.by_flow:
                self.menu.coming_soon(turn, flow_name)
            else:
                self.menu.not_understood(turn)  # an old or forged button: answer, change nothing
            return
        await flow.on_postback(turn, params, picked)

    async def _message(self, turn: Turn) -> None:
        message = turn.payload.get("message") or {}
        if message.get("type") != "text":
            await chat.hand_over(turn, self.menu.actions())  # pictures, stickers: to the desk
            return
        typed = str(message.get("text", "")).strip()
        if typed in CANCEL_WORDS:
            await state.clear(turn.user_id)
            self.menu.cancelled(turn)
            return
        waiting = await state.current(turn.user_id)
        if waiting is not None and waiting.flow in self.flows:
            await self.flows[waiting.flow].on_text(turn, typed, waiting)
            return
        if typed.lower() in MENU_WORDS or typed in BACK_WORDS:
            self.menu.show(turn)
            return
        item = self.menu.match_keyword(typed)
        if item is None:
            await chat.hand_over(turn, self.menu.actions())  # no flow takes it: to the desk
        elif item.flow in self.flows:
            await self.flows[item.flow].on_postback(turn, {"flow": item.flow}, None)
        else:
            self.menu.coming_soon(turn, item.flow)
