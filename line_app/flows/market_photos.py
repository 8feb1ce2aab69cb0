"""ハンドメイドマーケット: the photo step of an application — photos of the artist's work sent
as images in the chat (several at once too: LINE's imageSet), each acknowledged with the
count, and an unsent photo taken off the draft.

line_app.flows.market asks for the photos with `ask_for_photos` (it sets the photo step's
state) and delegates `on_image` / `on_unsend` here; the router calls them (a flow attribute
check). The pictures themselves were fetched, checked and re-encoded before the event's
transaction by line_app.market_intake (MarketPhoto rows with no application yet): here they
are attached through the rules (`rules.attach_photo`), or the artist is told, clearly, why
not — nothing already entered is lost either way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from line_app import chat, inbox, state
from line_app.flows import market_cards as cards
from line_app.messages import Action, postback, postback_data, text
from line_app.turn import Turn
from models.conversation import ConversationState
from models.market import MarketApplication, MarketPhoto
from shima.domain import market as rules
from shima.domain import market_photos as photo_rules

FLOW = "market"
STEP = PHOTO_STEP = "photos"  # shima.domain.market.STEPS' photo step, and the state's step
# The photo step waits this long for pictures (an artist may take them later in the day).
PHOTO_STATE_TTL = timedelta(hours=24)
# An image whose content could not be fetched yet (LINE 5xx, timeout) is retried by the
# inbox with backoff; at this attempt the artist is asked to send it again instead.
RETRY_LIMIT = 3
CAMERA: Action = {"type": "camera", "label": "カメラ"}
CAMERA_ROLL: Action = {"type": "cameraRoll", "label": "カメラロール"}

# What the chat log shows staff instead of the picture (the market keeps it, not the chat).
CHAT_NOTE = "出店申込の写真（マーケットの審査画面で見られます）"
CHAT_NOTE_REFUSED = "出店申込の写真（受け取れませんでした）"

KEPT = "ここまでの入力内容は保存されています。"
RESET_LABEL = "写真を送り直す"
SEND_AGAIN = "写真をうまく受け取れませんでした。お手数ですが、もう一度送ってください。"
REFUSALS = {
    "too_large": (
        "この写真はサイズが大きすぎるため受け取れませんでした"
        f"（{photo_rules.MAX_BYTES // (1024 * 1024)}MBまで）。"
        "別の写真を選ぶか、サイズを小さくしてから送ってください。"
    ),
    "not_image": (
        "送っていただいたファイルを写真として読み取れませんでした。"
        "JPEG・PNGなどの写真を送ってください。"
    ),
    "gone": (
        "LINEから写真を受け取れませんでした（LINE側で写真の保存期間が過ぎたようです）。"
        "お手数ですが、もう一度送ってください。"
    ),
}


class PhotoNotReady(inbox.RetryLater):
    """The picture of an image event was not fetched (LINE failed for now): the worker
    retries the event with backoff, which fetches it again first."""


def _stop_default() -> Action:
    return postback("やめる", postback_data("cancel", of=FLOW), "やめる")


def _buttons(
    data: dict[str, Any], count: int, market_min: int, *, room: bool = True
) -> list[Action]:
    """カメラ, カメラロール (while photos may be added), 次へ (once enough), 写真を送り直す
    (once there are some), 戻る, やめる."""
    actions: list[Action] = [CAMERA, CAMERA_ROLL] if room else []
    if count >= market_min and data.get("done"):
        actions.append(postback("次へ", str(data["done"]), "次へ"))
    if count > 0 and data.get("reset"):
        actions.append(postback(RESET_LABEL, str(data["reset"]), RESET_LABEL))
    if data.get("back"):
        actions.append(postback("戻る", str(data["back"]), "戻る"))
    stop = data.get("stop")
    actions.append(stop if isinstance(stop, dict) else _stop_default())
    return actions


def _count_text(count: int, app: MarketApplication) -> str:
    market = app.market
    if count <= 0:
        return ""
    if count >= market.photos_max:
        return f"いま{count}枚受け取っています（上限の{market.photos_max}枚です）。"
    if count < market.photos_min:
        return f"いま{count}枚受け取っています（あと{market.photos_min - count}枚以上）。"
    return f"いま{count}枚受け取っています（あと{market.photos_max - count}枚まで送れます）。"


async def ask_for_photos(
    turn: Turn,
    app: MarketApplication,
    *,
    lead: str = "",
    back: str = "",
    done: str = "",
    reset: str = "",
    stop: Action | None = None,
) -> None:
    """Ask for the photos (app.market loaded) and wait for them: the state remembers the
    application and the step's buttons (`done`: 次へ's data, `back`: 戻る's data, `reset`:
    写真を送り直す's data)."""
    market = app.market
    edit = dict(parse_qsl(done)).get("e")
    data: dict[str, Any] = {"a": app.id, "back": back, "done": done, "reset": reset, "stop": stop}
    if edit:
        data["e"] = int(edit) if edit.isdigit() else 1
    await state.wait_for_text(turn.user_id, FLOW, STEP, data, ttl=PHOTO_STATE_TTL)
    count = await rules.photo_count(app.id)
    room = count < market.photos_max
    lines = [lead] if lead else []
    if room:
        lines.append(
            f"作品の写真を送ってください（{cards.photos_rule(market)}）。\n"
            "下の「カメラロール」から選ぶか、「カメラ」で撮って送れます。"
            "何枚かまとめて選んで送っても大丈夫です。"
        )
    counted = _count_text(count, app)
    if counted:
        lines.append(counted)
    if count >= market.photos_min and done:
        lines.append(
            "写真がそろったら「次へ」を押してください。"
            if room
            else "写真を入れ替えたいときは「写真を送り直す」、このままでよければ「次へ」を"
            "押してください。"
        )
    turn.reply(text("\n".join(lines), _buttons(data, count, market.photos_min, room=room)))


def _message_id(turn: Turn) -> str:
    message = turn.payload.get("message") or {}
    return str(message.get("id", ""))[:64] if isinstance(message, dict) else ""


async def _application(turn: Turn, waiting: ConversationState) -> MarketApplication | None:
    raw = waiting.data.get("a") if isinstance(waiting.data, dict) else None
    try:
        return await rules.get_own(turn.resident, int(str(raw)))
    except (rules.NotYours, ValueError):
        return None


def _answer(
    turn: Turn,
    app: MarketApplication,
    waiting: ConversationState,
    count: int,
    words: str,
    *,
    counted: bool = True,
) -> None:
    """Reply `words` (and how many photos there are now) with the step's buttons again."""
    data = waiting.data if isinstance(waiting.data, dict) else {}
    room = count < app.market.photos_max
    body = "\n".join(w for w in (words, _count_text(count, app) if counted else "") if w)
    turn.reply(text(body, _buttons(data, count, app.market.photos_min, room=room)))


async def on_image(turn: Turn, waiting: ConversationState) -> str | None:
    """An image at the photo step: attach it (「2枚目を受け取りました」), or say why not.
    Returns the chat log's note for staff, or None when the image is not the market's (not
    at the photo step: the router hands it to the desk as usual). PhotoNotReady when its
    content could not be fetched yet (retried), until RETRY_LIMIT."""
    if waiting.step != STEP:
        return None
    message_id = _message_id(turn)
    photo = (
        await MarketPhoto.filter(line_message_id=message_id, resident_id=turn.resident.id)
        .only("id", "resident_id", "application_id", "error")
        .first()
        if message_id
        else None
    )
    app = await _application(turn, waiting)
    if app is None:
        if photo is not None and photo.application_id is None:
            await MarketPhoto.filter(id=photo.id).delete()
        await state.clear(turn.user_id)
        turn.reply(text(rules.NotYours.message, [postback("メニュー", postback_data("menu"))]))
        return CHAT_NOTE_REFUSED
    if photo is None:
        fetchable = bool(chat.content_id(turn.payload.get("message") or {}))
        if fetchable and turn.event.attempts < RETRY_LIMIT:
            raise PhotoNotReady(message_id)
        _answer(turn, app, waiting, await rules.photo_count(app.id), f"{SEND_AGAIN}\n{KEPT}")
        return CHAT_NOTE_REFUSED
    if photo.error:
        await MarketPhoto.filter(id=photo.id).delete()  # answered: the record has served
        words = REFUSALS.get(photo.error, SEND_AGAIN)
        _answer(turn, app, waiting, await rules.photo_count(app.id), f"{words}\n{KEPT}")
        return CHAT_NOTE_REFUSED
    try:
        count = await rules.attach_photo(turn.resident, app.id, photo)
    except rules.PhotoLimit:
        await MarketPhoto.filter(id=photo.id, application_id=None).delete()
        count = await rules.photo_count(app.id)
        words = (
            f"写真は{app.market.photos_max}枚までのため、この写真は受け取っていません"
            f"（受け取った写真は{count}枚です）。\n"
            "写真を入れ替えたいときは「写真を送り直す」を押してください。"
        )
        _answer(turn, app, waiting, count, words, counted=False)
        return CHAT_NOTE_REFUSED
    except rules.MarketError as exc:  # no longer editable (window closed, decided, …)
        await MarketPhoto.filter(id=photo.id, application_id=None).delete()
        await state.clear(turn.user_id)
        turn.reply(text(exc.message, [postback("メニュー", postback_data("menu"))]))
        return CHAT_NOTE_REFUSED
    words = _received(count, app, more_coming=_more_in_set(turn))
    _answer(turn, app, waiting, count, words, counted=False)
    return CHAT_NOTE


def _more_in_set(turn: Turn) -> bool:
    """Whether this picture is one of several sent at once (LINE's imageSet) and not the
    last of them: its acknowledgement then leaves out what to do next (said once, with the
    last)."""
    message = turn.payload.get("message") or {}
    image_set = message.get("imageSet") if isinstance(message, dict) else None
    if not isinstance(image_set, dict):
        return False
    index, total = image_set.get("index"), image_set.get("total")
    return isinstance(index, int) and isinstance(total, int) and index < total


def _received(count: int, app: MarketApplication, *, more_coming: bool = False) -> str:
    market = app.market
    left = market.photos_max - count
    if left <= 0:
        head = f"{count}枚目を受け取りました。写真はこれで上限（{market.photos_max}枚）です。"
        if count < market.photos_min or more_coming:
            return head
        return f"{head}\n「次へ」で先に進んでください。"
    head = f"{count}枚目を受け取りました（あと{left}枚まで送れます）"
    if count < market.photos_min:
        return f"{head}\nあと{market.photos_min - count}枚以上送ってください。"
    if more_coming:
        return head
    return f"{head}\n写真がそろったら「次へ」を押してください。"


async def on_unsend(turn: Turn) -> None:
    """The artist unsent a message: if it was one of their photos, it leaves the draft
    (attached or not). Quiet: an unsend has no reply token, and a push would cost a message
    of the quota; the count is shown with the next photo and in the summary."""
    unsent = turn.payload.get("unsend") or {}
    message_id = str(unsent.get("messageId", "")) if isinstance(unsent, dict) else ""
    if message_id:
        await rules.unsend(turn.resident, message_id[:64])
