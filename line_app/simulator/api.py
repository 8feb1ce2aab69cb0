"""`/simulator`: a LINE-like chat page for trying the account without a LINE channel.

Mounted only in simulator mode (see shima/app.py). The page acts as a LINE user; each action
becomes a webhook body built and signed exactly as LINE would, posted in-process to the app's
own `POST /callback`, so the real webhook → inbox → worker → outbox path runs. What the app
sends arrives at the fake LINE platform (`app.state.fake_line`) and the page polls for it.

The JSON API only answers same-origin script requests (`X-Requested-With: simulator` and a
JSON body), so a cross-site form cannot act as a resident.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from line_app.fake_line import FakeLinePlatform
from line_app.signature import sign
from line_app.simulator import in_process
from line_app.simulator.events import (
    BOT_NAME,
    BOT_USER_ID,
    DEMO_USERS,
    KINDS,
    MAX_DISPLAY_NAME,
    ApiError,
    build_event,
    short_text,
)
from line_app.simulator.transcript import Transcript
from shima.settings import STATIC_DIR, Settings
from shima.templating import templates

ASSETS_DIR = STATIC_DIR / "simulator"
USER_ID = re.compile(r"^U[0-9a-f]{32}$")


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


async def deliver_webhook(request: Request, events: list[dict[str, Any]]) -> int:
    """Sign the body as LINE does and post it to this app's own `/callback`; the status."""
    settings: Settings = request.app.state.settings
    body = json.dumps(
        {"destination": BOT_USER_ID, "events": events}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    headers = {
        "content-type": "application/json; charset=utf-8",
        "x-line-signature": sign(settings.channel_secret, body),
        "user-agent": "LineBotWebhook/2.0",
    }
    return await in_process.post(request.app, request.scope, "/callback", body, headers)


# ---- endpoints -----------------------------------------------------------------------------


async def page(request: Request) -> Response:
    if getattr(request.app.state, "fake_line", None) is None:
        return Response("Not Found", status_code=404)

    version = _assets_version()

    def asset(path: str) -> str:
        return request.url_for("simulator:assets", version=version, path=path).path

    return templates.TemplateResponse(
        request,
        "simulator/index.html",
        {
            "bot_name": BOT_NAME,
            "css_url": asset("simulator.css"),
            "js_url": asset("main.js"),
            "api_base": request.url_for("simulator:page").path.rstrip("/") + "/api",
        },
    )


def _assets_version() -> str:
    """The newest change among the page's files. It is a path segment, not a `?v=` query,
    because the ES modules import each other by relative URL: each module then loads from the
    same versioned directory, so no browser runs a cached module next to a changed one."""
    return str(max(int(p.stat().st_mtime) for p in ASSETS_DIR.iterdir() if p.is_file()))


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
    name = short_text(payload.get("display_name"), MAX_DISPLAY_NAME, "表示名", required=False)
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
    path = richmenu.IMAGE_PATH.relative_to(STATIC_DIR).as_posix()
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
        Mount("/assets/{version}", app=StaticFiles(directory=ASSETS_DIR), name="assets"),
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
