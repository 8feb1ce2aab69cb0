"""Route a stored event to its flow. Runs inside the event's transaction: flows change the
database and queue replies; they never call LINE. The flows and menu come from the area
registry (shima.areas): nothing registers itself on import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from line_app import chat, intents, state
from line_app.flows import greeting
from line_app.flows.menu import MYPAGE, Menu, MenuItem
from line_app.flows.mypage import MyPageFlow, MyPageSection
from line_app.intents import Intent
from line_app.messages import text
from line_app.turn import Turn
from models.conversation import ConversationState


class CancelBookingSection(Protocol):
    async def __call__(self, turn: Turn, *, stopped: bool) -> None: ...


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

    # Menu label and the typed keywords that start it; None: the area has no menu item of its
    # own (お知らせの受け取り and データの申請 are reached from マイページ).
    item: MenuItem | None = None
    flow: Flow | None = None  # None: the area is not built yet and answers 準備中
    mypage: MyPageSection | None = None  # its part of マイページ
    # What a typed 「キャンセル」/「予約をキャンセルしたい」 shows: the bookings with their
    # cancel buttons; `stopped` says whether a flow in progress was just stopped.
    cancel_booking: CancelBookingSection | None = None
    # Further flows the area owns that are not menu items, reached by postback only
    # (`flow=<name>`), e.g. プロフィール from マイページ.
    flows: Mapping[str, Flow] = field(default_factory=dict)
    # Whole typed messages that act like a button: phrase → postback data (「配信停止」 →
    # "flow=notify"); matched after intents.normalize, before the areas' keywords.
    phrases: Mapping[str, str] = field(default_factory=dict)


class Router:
    """Sends each event to its flow; built by the worker from the area registry."""

    def __init__(self, areas: Sequence[LineArea]) -> None:
        items = [a.item for a in areas if a.item]
        self.menu = Menu(items, ready={a.item.flow for a in areas if a.item and a.flow})
        self.flows: dict[str, Flow] = {a.item.flow: a.flow for a in areas if a.item and a.flow}
        for area in areas:
            self.flows.update(area.flows)
        self.flows[MYPAGE.flow] = MyPageFlow([a.mypage for a in areas if a.mypage])
        self.cancel_sections = [a.cancel_booking for a in areas if a.cancel_booking]
        self.phrases = {
            intents.normalize(phrase): data for a in areas for phrase, data in a.phrases.items()
        }

    async def handle(self, turn: Turn) -> None:
        kind = turn.event.event_type
        if kind == "follow":
            await greeting.on_follow(turn, self.menu)
            return
        if kind == "unfollow":
            await greeting.on_unfollow(turn)
            return
        if kind == "unsend":
            await self._unsend(turn)
            return
        if kind not in ("message", "postback"):
            return  # unknown and unused event types are ignored
        await greeting.ensure_privacy_notice(turn)
        if kind == "postback":
            await self._postback(turn)
        else:
            note = await self._message(turn)
            await chat.record_inbound(turn, note)  # the chat log, for staff (個別チャット)

    async def _unsend(self, turn: Turn) -> None:
        """The resident unsent a message: every flow with an `on_unsend(turn)` hook hears of
        it (a photo sent for an application leaves the draft)."""
        for flow in self.flows.values():
            hook = getattr(flow, "on_unsend", None)
            if hook is not None:
                await hook(turn)

    async def _postback(self, turn: Turn) -> None:
        postback = turn.payload.get("postback") or {}
        waiting = await state.current(turn.user_id)
        if waiting is not None and waiting.step == state.BUTTONS:
            await state.clear(turn.user_id)  # a tap answers (or leaves) the button step
        await self._dispatch(turn, str(postback.get("data", "")), postback.get("params") or None)

    async def _dispatch(self, turn: Turn, data: str, picked: dict[str, Any] | None) -> None:
        params = dict(parse_qsl(data, keep_blank_values=True))
        flow_name = params.get("flow", "")
        if flow_name == "menu":
            await state.clear(turn.user_id)
            self.menu.show(turn)
            return
        if flow_name == "cancel":
            # A flow's やめる names the flow and attempt (`of`, `k`): one that already finished
            # is answered by its flow with what happened, never "stopped" as if undone.
            owner = self.flows.get(params.get("of", ""))
            finished = getattr(owner, "finished", None)
            if finished is not None and await finished(turn, params):
                return
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

    async def _message(self, turn: Turn) -> str | None:
        """Route a message; returns what the chat log shows instead of a picture a flow took
        (None: logged as it is)."""
        message = turn.payload.get("message") or {}
        if message.get("type") != "text":
            if message.get("type") == "image":
                note = await self._image(turn)
                if note is not None:
                    return note
            await chat.hand_over(turn, self.menu.ready_actions())  # pictures, stickers: to the desk
            return None
        await self._text(turn, str(message.get("text", "")).strip())
        return None

    async def _text(self, turn: Turn, typed: str) -> None:
        waiting = await state.current(turn.user_id)
        if waiting is not None and waiting.step == state.BUTTONS:
            await self._typed_at_buttons(turn, typed, waiting)
            return
        if waiting is not None and waiting.flow in self.flows:
            # In a step waiting for free text only whole-message phrases leave the flow.
            leave = intents.in_flow(typed)
            if leave is None:
                await self.flows[waiting.flow].on_text(turn, typed, waiting)
                return
            await state.clear(turn.user_id)
            await self._intent(turn, intents.Match(leave), stopped=True)
            return
        phrase = self.phrases.get(intents.normalize(typed))
        if phrase is not None:
            await self._dispatch(turn, phrase, None)
            return
        match = intents.classify(typed, self.menu.items, first=MYPAGE.flow)
        if match is None:
            await chat.hand_over(turn, self.menu.ready_actions())  # no flow takes it: to the desk
            return
        await self._intent(turn, match, stopped=False)

    async def _image(self, turn: Turn) -> str | None:
        """A picture sent where the waiting step's flow takes pictures (its `on_image(turn,
        waiting)` returns the chat log's note; None: not at a step that takes them)."""
        waiting = await state.current(turn.user_id)
        flow = self.flows.get(waiting.flow) if waiting is not None else None
        on_image = getattr(flow, "on_image", None)
        if waiting is None or on_image is None:
            return None
        note: str | None = await on_image(turn, waiting)
        return note

    async def _typed_at_buttons(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        """Text typed where the last answer offered buttons: a button's label (or the label
        and a polite ending) taps it; stop, cancel, the menu or an area's keyword leave;
        anything else gets the same question and buttons again."""
        buttons = [b for b in waiting.data.get("a") or [] if isinstance(b, dict)]
        index = intents.pick_label(typed, [str(b.get("label", "")) for b in buttons])
        await state.clear(turn.user_id)
        if index is not None:
            await self._dispatch(turn, str(buttons[index].get("data", "")), None)
            return
        phrase = self.phrases.get(intents.normalize(typed))
        if phrase is not None:
            await self._dispatch(turn, phrase, None)
            return
        match = intents.classify(typed, self.menu.items, first=MYPAGE.flow)
        if match is not None and intents.leaves_buttons(match):
            await self._intent(turn, match, stopped=True)
            return
        question = str(waiting.data.get("q", ""))
        actions = [{"type": "postback", **b} for b in buttons]
        await state.wait_for_buttons(turn.user_id, waiting.flow, question, actions)
        turn.reply(text("すみません、ここでは下のボタンからお選びください。\n" + question, actions))

    async def _intent(self, turn: Turn, match: intents.Match, *, stopped: bool) -> None:
        if match.intent == Intent.STOP:
            await state.clear(turn.user_id)
            self.menu.cancelled(turn)
        elif match.intent == Intent.CANCEL_BOOKING:
            # 「キャンセル」 means the booking; typed mid-flow it also stops the flow (said so).
            if not self.cancel_sections:
                await self.flows[MYPAGE.flow].on_postback(turn, {"flow": MYPAGE.flow}, None)
            for section in self.cancel_sections:
                await section(turn, stopped=stopped)
        elif match.intent in (Intent.MENU, Intent.BACK):
            self.menu.show(turn)
        elif match.intent == Intent.THANKS:
            self.menu.thanked(turn)
        elif match.intent == Intent.GREETING:
            self.menu.greeted(turn)
        elif match.item is not None and match.item.flow in self.flows:
            await self.flows[match.item.flow].on_postback(turn, {"flow": match.item.flow}, None)
        elif match.item is not None:
            self.menu.coming_soon(turn, match.item.flow)
