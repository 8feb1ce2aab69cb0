"""`/simulator`: a LINE-like chat page for trying the account without a LINE channel.

Mounted only in simulator mode (see shima/app.py). The page acts as a LINE user; each action
becomes a webhook body built and signed exactly as LINE would, posted in-process to the app's
own `POST /callback`, so the real webhook → inbox → worker → outbox path runs. What the app
sends arrives at the fake LINE platform (`app.state.fake_line`) and the page polls for it.

The JSON API only answers same-origin script requests (`X-Requested-With: simulator` and a
JSON body), so a cross-site form cannot act as a resident.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_app.fake_line import FakeLinePlatform
from shima.settings import ROOT, Settings
from shima.templating import templates

BOT_NAME = "島フリーランス"
DEMO_USER_NAMES = ("奄美 花子", "名瀬 太郎", "笠利 さくら")
MAX_DISPLAY_NAME = 20  # LINE's limit for display names
MAX_TEXT = 5000
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # LINE accepts larger photos; a demo needs no more
MAX_KEPT_IMAGE_BYTES = 2 * 1024 * 1024  # larger images are not kept in the page's history
USER_ID = re.compile(r"^U[0-9a-f]{32}$")
KINDS = ("follow", "unfollow", "text", "postback", "image", "sticker", "location")
PARAM_KEYS = ("date", "time", "datetime", "newRichMenuAliasId", "status")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _line_user_id(seed: str) -> str:
    """A stable LINE-shaped user id ("U" + 32 hex digits) for a demo user."""
    return "U" + hashlib.sha256(f"shima-simulator:{seed}".encode()).hexdigest()[:32]


BOT_USER_ID = _line_user_id("bot")
DEMO_USERS = tuple({"id": _line_user_id(name), "name": name} for name in DEMO_USER_NAMES)


def ulid() -> str:
    """A ULID like LINE's `webhookEventId`: 48-bit ms timestamp + 80 random bits, base32."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def message_id() -> str:
    return str(10**17 + secrets.randbelow(9 * 10**17))


def sign(channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# ---- what the page remembers per user ------------------------------------------------------


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


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _fake_line(request: Request) -> FakeLinePlatform:
    fake = getattr(request.app.state, "fake_line", None)
    if not isinstance(fake, FakeLinePlatform):
        raise ApiError(404, "シミュレーターは無効です")
    return fake


def _transcript(request: Request) -> Transcript:
    transcript = getattr(request.app.state, "simulator_transcript", None)
    if transcript is None:
        transcript = Transcript()
        request.app.state.simulator_transcript = transcript
    return transcript


Endpoint = Callable[[Request], Awaitable[Response]]


def _api(handler: Endpoint) -> Endpoint:
    """JSON errors for the API, and the same-origin check for writes."""

    async def endpoint(request: Request) -> Response:
        try:
            _fake_line(request)
            if request.method == "POST":
                if request.headers.get("x-requested-with") != "simulator":
                    raise ApiError(403, "このリクエストは受け付けられません")
                if "application/json" not in request.headers.get("content-type", ""):
                    raise ApiError(415, "JSON で送信してください")
            response: Response = await handler(request)
            return response
        except ApiError as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)

    return endpoint


def _user_id(value: Any) -> str:
    if not isinstance(value, str) or not USER_ID.match(value):
        raise ApiError(400, "user_id が正しくありません")
    return value


def _short_text(value: Any, limit: int, what: str, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise ApiError(400, f"{what}を入力してください")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(400, f"{what}は{limit}文字以内で入力してください")
    return value


# ---- webhook events ------------------------------------------------------------------------


def _event(kind: str, user_id: str, reply_token: str | None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": ulid(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token is not None:
        event["replyToken"] = reply_token
    event.update(extra)
    return event


def _decode_image(data_url: Any) -> tuple[bytes, str]:
    """The page's chosen photo (a data: URL), or a generated placeholder photo."""
    if data_url is None:
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (640, 480), "#13929F").save(out, "JPEG", quality=80)
        return out.getvalue(), "image/jpeg"
    if not isinstance(data_url, str) or not data_url.startswith("data:image/"):
        raise ApiError(400, "画像を読み込めませんでした")
    try:
        header, encoded = data_url.split(",", 1)
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise ApiError(400, "画像を読み込めませんでした") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError(413, "画像が大きすぎます（10MBまで）")
    if data.startswith(b"\xff\xd8\xff"):
        return data, "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data, "image/png"
    raise ApiError(400, "JPEG か PNG の画像を選んでください")


def build_event(
    fake: FakeLinePlatform, user: SimUser, kind: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The webhook event for the page's action, and the bubble the user sees for it."""
    uid = user.user_id
    bubble: dict[str, Any] | None = None
    message: dict[str, Any]
    if kind == "follow":
        event = _event(
            "follow",
            uid,
            fake.issue_reply_token(uid),
            follow={"isUnblocked": user.ever_followed},
        )
        bubble = {"type": "system", "text": f"{BOT_NAME}を友だち追加しました"}
    elif kind == "unfollow":
        event = _event("unfollow", uid, None)  # LINE gives no reply token: nobody to answer
        bubble = {"type": "system", "text": f"{BOT_NAME}をブロックしました"}
    elif kind == "text":
        text = _short_text(payload.get("text"), MAX_TEXT, "メッセージ")
        message = {"id": message_id(), "type": "text", "text": text, "quoteToken": _quote()}
        event = _event("message", uid, fake.issue_reply_token(uid), message=message)
        bubble = {"type": "text", "text": text}
    elif kind == "postback":
        data = _short_text(payload.get("data"), 300, "data")
        postback: dict[str, Any] = {"data": data}
        params = payload.get("params")
        if params:
            if not isinstance(params, dict) or not all(
                k in PARAM_KEYS and isinstance(v, str) and len(v) <= 64 for k, v in params.items()
            ):
                raise ApiError(400, "params が正しくありません")
            postback["params"] = params
        event = _event("postback", uid, fake.issue_reply_token(uid), postback=postback)
        shown = _short_text(payload.get("display_text"), 300, "表示テキスト", required=False)
        if shown:
            bubble = {"type": "text", "text": shown}
    elif kind == "image":
        data_bytes, content_type = _decode_image(payload.get("image"))
        mid = message_id()
        fake.add_content(mid, data_bytes, content_type)
        message = {
            "id": mid,
            "type": "image",
            "quoteToken": _quote(),
            "contentProvider": {"type": "line"},
        }
        event = _event("message", uid, fake.issue_reply_token(uid), message=message)
        kept = payload.get("image") if len(data_bytes) <= MAX_KEPT_IMAGE_BYTES else None
        bubble = {"type": "image", "src": kept}
    elif kind == "sticker":
        message = {
            "id": message_id(),
            "type": "sticker",
            "quoteToken": _quote(),
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "STATIC",
            "keywords": ["OK", "Thanks"],
        }
        event = _event("message", uid, fake.issue_reply_token(uid), message=message)
        bubble = {"type": "sticker"}
    elif kind == "location":
        message = {
            "id": message_id(),
            "type": "location",
            "title": "奄美市役所",
            "address": "鹿児島県奄美市名瀬幸町25-8",
            "latitude": 28.3771,
            "longitude": 129.4938,
        }
        event = _event("message", uid, fake.issue_reply_token(uid), message=message)
        bubble = {"type": "location", "title": message["title"], "address": message["address"]}
    else:
        raise ApiError(400, "kind が正しくありません")
    return event, bubble


def _quote() -> str:
    return secrets.token_urlsafe(48)


async def deliver_webhook(request: Request, events: list[dict[str, Any]]) -> int:
    """Sign the body as LINE does and post it to this app's own `/callback`; the status."""
    settings: Settings = request.app.state.settings
    body = json.dumps(
        {"destination": BOT_USER_ID, "events": events}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    transport = httpx2.ASGITransport(app=request.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://simulator.local") as c:
        response = await c.post(
            "/callback",
            content=body,
            headers={
                "content-type": "application/json; charset=utf-8",
                "x-line-signature": sign(settings.channel_secret, body),
                "user-agent": "LineBotWebhook/2.0",
            },
        )
    return response.status_code


# ---- endpoints -----------------------------------------------------------------------------


async def page(request: Request) -> Response:
    if getattr(request.app.state, "fake_line", None) is None:
        return Response("Not Found", status_code=404)

    def asset(path: str) -> str:
        version = int((ROOT / "static" / path).stat().st_mtime)
        return f"{request.url_for('static', path=path).path}?v={version}"

    return templates.TemplateResponse(
        request,
        "simulator/index.html",
        {
            "bot_name": BOT_NAME,
            "css_url": asset("simulator/simulator.css"),
            "js_url": asset("simulator/simulator.js"),
            "api_base": request.url_for("simulator:page").path.rstrip("/") + "/api",
        },
    )


async def config(request: Request) -> Response:
    return JSONResponse({"bot_name": BOT_NAME, "demo_users": list(DEMO_USERS)})


async def post_event(request: Request) -> Response:
    fake = _fake_line(request)
    try:
        payload = await request.json()
    except ValueError:
        raise ApiError(400, "JSON を読み取れませんでした") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "JSON オブジェクトを送信してください")
    user_id = _user_id(payload.get("user_id"))
    kind = payload.get("kind")
    if kind not in KINDS:
        raise ApiError(400, "kind が正しくありません")
    name = _short_text(payload.get("display_name"), MAX_DISPLAY_NAME, "表示名", required=False)
    user = _transcript(request).user(user_id, name)
    if kind not in ("follow", "unfollow") and not user.following:
        raise ApiError(409, "友だち追加するとメッセージを送れます")
    fake.add_user(user_id, user.display_name)  # what the profile API answers
    event, bubble = build_event(fake, user, kind, payload)
    status = await deliver_webhook(request, [event])
    if status != 200:
        return JSONResponse(
            {"error": f"Webhook が {status} を返しました", "webhook_status": status},
            status_code=502,
        )
    if kind == "follow":
        user.following = user.ever_followed = True
    elif kind == "unfollow":
        user.following = False
    if bubble is not None:
        bubble["at"] = event["timestamp"]
        user.bubbles.append(bubble)
    return JSONResponse(
        {
            "ok": True,
            "webhook_status": status,
            "webhook_event_id": event["webhookEventId"],
            "bubble": bubble,
            "following": user.following,
        }
    )


def _loading_until(fake: FakeLinePlatform, user_id: str, last_delivery_at: float) -> float:
    """When the app's loading animation (if any) for this user ends, in ms."""
    for call in reversed(fake.calls):
        if call.path.endswith("/v2/bot/chat/loading/start") and call.status == 202:
            if isinstance(call.json, dict) and call.json.get("chatId") == user_id:
                if call.at <= last_delivery_at:
                    return 0.0
                return (call.at + float(call.json.get("loadingSeconds", 20))) * 1000
    return 0.0


async def get_messages(request: Request) -> Response:
    fake = _fake_line(request)
    user_id = _user_id(request.query_params.get("user_id"))
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        raise ApiError(400, "after が正しくありません") from None
    mine = fake.delivered(user_id)
    items: list[dict[str, Any]] = [
        {"kind": "bot", "seq": d.seq, "at": int(d.at * 1000), "messages": d.messages}
        for d in mine
        if d.seq > after
    ]
    user = _transcript(request).users.get(user_id)
    if after == 0 and user is not None:  # a fresh page: the user's own side too
        items += [{"kind": "user", "at": b["at"], "bubble": b} for b in user.bubbles]
        items.sort(key=lambda item: item["at"])
    last_at = mine[-1].at if mine else 0.0
    return JSONResponse(
        {
            "items": items,
            "last_seq": fake.last_seq,
            "following": bool(user and user.following),
            "ever_followed": bool(user and user.ever_followed),
            "loading_until": _loading_until(fake, user_id, last_at),
        }
    )


def _menu_for(request: Request, fake: FakeLinePlatform, menu_id: str | None) -> dict[str, Any]:
    if menu_id and menu_id in fake.rich_menus and menu_id in fake.rich_menu_images:
        url = request.url_for("simulator:richmenu_image", rich_menu_id=menu_id).path
        return {"definition": fake.rich_menus[menu_id], "image_url": url}
    return {}


async def rich_menu(request: Request) -> Response:
    """The menu LINE would show this user: an alias being switched to, the user's linked menu,
    the default one deployed to the fake platform, else the repository's own definition."""
    fake = _fake_line(request)
    user_id = _user_id(request.query_params.get("user_id"))
    alias = request.query_params.get("alias")
    if alias:
        menu = _menu_for(request, fake, fake.rich_menu_aliases.get(alias))
        if not menu:
            raise ApiError(404, "リッチメニューが見つかりません")
        return JSONResponse(menu)
    menu_id = fake.user_rich_menus.get(user_id) or fake.default_rich_menu_id
    menu = _menu_for(request, fake, menu_id)
    if not menu:
        menu = _repository_menu(request)
    return JSONResponse(menu or {"definition": None})


def _repository_menu(request: Request) -> dict[str, Any]:
    try:
        from line_app import richmenu
    except ImportError:  # not written yet: no menu
        return {}
    if not richmenu.IMAGE_PATH.is_file():
        return {}
    path = richmenu.IMAGE_PATH.relative_to(ROOT / "static").as_posix()
    version = int(richmenu.IMAGE_PATH.stat().st_mtime)
    url = f"{request.url_for('static', path=path).path}?v={version}"
    return {"definition": richmenu.definition(), "image_url": url}


async def rich_menu_image(request: Request) -> Response:
    fake = _fake_line(request)
    data = fake.rich_menu_images.get(request.path_params["rich_menu_id"])
    if data is None:
        raise ApiError(404, "画像がありません")
    media = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return Response(data, media_type=media, headers={"cache-control": "max-age=3600"})


async def api_not_found(request: Request) -> Response:
    return JSONResponse({"error": "見つかりません"}, status_code=404)


def routes() -> list[BaseRoute]:
    return [
        Route("/", page, methods=["GET"], name="page"),
        Route("/api/config", _api(config), methods=["GET"], name="config"),
        Route("/api/events", _api(post_event), methods=["POST"], name="events"),
        Route("/api/messages", _api(get_messages), methods=["GET"], name="messages"),
        Route("/api/richmenu", _api(rich_menu), methods=["GET"], name="richmenu"),
        Route(
            "/api/richmenu/{rich_menu_id}/image",
            _api(rich_menu_image),
            methods=["GET"],
            name="richmenu_image",
        ),
        Route("/api/{rest:path}", api_not_found, name="api_not_found"),
    ]
