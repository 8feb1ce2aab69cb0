"""Per-user conversation state for steps that wait for free text (with an expiry), and for
button steps (`BUTTONS`: the question and its quick replies, so typed text there can be
answered with the same buttons again, or pick one of them).

A worker batch preloads its users' states in one query (`preload`); within that batch the
lookups are answered from the preloaded rows, and writes keep them up to date.
"""

from __future__ import annotations

import contextvars
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from line_app.messages import Action, Message
from models.conversation import ConversationState
from shima.timeutil import now

if TYPE_CHECKING:
    from line_app.turn import Turn

DEFAULT_TTL = timedelta(minutes=30)
BUTTONS = "buttons"  # the step of a state recorded by `wait_for_buttons`
BUTTONS_TTL = timedelta(minutes=15)

# user id → state (or None: known to have none) for the users of the batch being handled.
_preloaded: contextvars.ContextVar[dict[str, ConversationState | None] | None] = (
    contextvars.ContextVar("preloaded_states", default=None)
)


async def preload(line_user_ids: list[str]) -> contextvars.Token[Any]:
    rows = await ConversationState.filter(line_user_id__in=line_user_ids)
    known: dict[str, ConversationState | None] = dict.fromkeys(line_user_ids)
    known.update({row.line_user_id: row for row in rows})
    return _preloaded.set(known)


def forget(token: contextvars.Token[Any]) -> None:
    _preloaded.reset(token)


async def current(line_user_id: str) -> ConversationState | None:
    known = _preloaded.get()
    if known is not None and line_user_id in known:
        state = known[line_user_id]
    else:
        state = await ConversationState.get_or_none(line_user_id=line_user_id)
    if state is None:
        return None
    if state.expires_at <= now():
        await clear(line_user_id)
        return None
    return state


async def wait_for_text(
    line_user_id: str, flow: str, step: str, data: dict[str, Any], ttl: timedelta = DEFAULT_TTL
) -> None:
    state, _ = await ConversationState.update_or_create(
        defaults={"flow": flow, "step": step, "data": data, "expires_at": now() + ttl},
        line_user_id=line_user_id,
    )
    known = _preloaded.get()
    if known is not None and line_user_id in known:
        known[line_user_id] = state


async def clear(line_user_id: str) -> None:
    known = _preloaded.get()
    if known is not None and line_user_id in known:
        if known[line_user_id] is None:
            return  # nothing to delete
        known[line_user_id] = None
    await ConversationState.filter(line_user_id=line_user_id).delete()


async def wait_for_buttons(
    line_user_id: str, flow: str, question: str, actions: list[dict[str, Any]]
) -> None:
    """A step answered by its quick replies: remember the question and its postback buttons
    (label, data, displayText) for a short while."""
    buttons = [
        {k: a[k] for k in ("label", "data", "displayText") if k in a}
        for a in actions
        if a.get("type") == "postback"
    ]
    await wait_for_text(line_user_id, flow, BUTTONS, {"q": question, "a": buttons}, ttl=BUTTONS_TTL)


async def ask(turn: Turn, flow: str, message: Message, actions: list[Action] | None = None) -> None:
    """A button step of `flow`: reply with `message`, and remember its question and buttons
    (its quick replies unless `actions` says which) for a while, so text typed here taps the
    one it names or gets the same buttons again (see the router)."""
    turn.reply(message)
    if actions is None:
        actions = [item["action"] for item in message.get("quickReply", {}).get("items", [])]
    question = str(message.get("text") or message.get("altText") or "")
    await wait_for_buttons(turn.user_id, flow, question, actions)
