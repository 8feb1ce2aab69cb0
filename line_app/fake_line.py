"""A fake LINE Messaging API platform (an ASGI app) for tests, benchmarks and the simulator.

The real line-bot-sdk v3 client talks to it through `Configuration(host=base_url)`, which sends
api.line.me and api-data.line.me paths alike to that base. It keeps everything in memory,
validates requests as strictly as LINE does (so message-builder bugs fail here, not in
production), issues single-use reply tokens, honours `X-Line-Retry-Key`, and can fail or stall
on demand. It logs nothing: request bodies carry residents' names and messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router, get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_RICH_MENU_IMAGE_BYTES = 1024 * 1024  # LINE: 1 MB
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ALIAS_ID = re.compile(r"^[a-z0-9_-]{1,32}$")

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Call:
    """One request the platform received, and the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    status: int = 0
    at: float = field(default_factory=time.time)


@dataclass
class Delivery:
    """Messages the platform accepted for a user (what the user would see in LINE)."""

    seq: int
    user_id: str
    via: str  # "reply" | "push"
    messages: list[dict[str, Any]]
    retry_key: str | None
    at: float  # time.time()


@dataclass
class _ReplyToken:
    user_id: str
    expires_at: float  # time.monotonic()
    used: bool = False


@dataclass
class _Rule:
    times: int
    path: str | None
    status: int = 0
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    seconds: float = 0.0

    def matches(self, path: str) -> bool:
        return self.times > 0 and (self.path is None or self.path in path)


@dataclass
class _Profile:
    display_name: str
    picture_url: str | None = None


@dataclass
class _Content:
    data: bytes
    content_type: str


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _validation_error(errors: list[tuple[str, str]]) -> JSONResponse:
    details = [{"message": m, "property": p} for m, p in errors]
    body = {"message": f"The request body has {len(errors)} error(s)", "details": details}
    return JSONResponse(body, status_code=400)


_DEFAULT_FAILURE_MESSAGES = {
    400: "Bad request",
    401: "Authentication failed. Confirm that the access token in the authorization header is valid.",  # noqa: E501
    403: "Access to this API is not available for your account",
    404: "Not found",
    409: "Conflict",
    429: "The API rate limit has been exceeded. Try again later.",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


class FakeLinePlatform:
    """In-memory LINE platform. Serve it with `serve_on_loopback` and set `base_url`."""

    def __init__(self, access_token: str = "test-access-token", reply_token_ttl: float = 60.0):
        self.access_token = access_token
        self.reply_token_ttl = reply_token_ttl
        self.base_url = ""
        self._router = Router(routes=self._routes(), default=self._not_found)
        self.reset()

    def reset(self) -> None:
        """Forget everything: calls, deliveries, tokens, failures, users, content, rich menus."""
        self.calls: list[Call] = []
        self.deliveries: list[Delivery] = []
        self.rich_menus: dict[str, dict[str, Any]] = {}
        self.rich_menu_images: dict[str, bytes] = {}
        self.default_rich_menu_id: str | None = None
        self.rich_menu_aliases: dict[str, str] = {}  # alias id -> rich menu id
        self.user_rich_menus: dict[str, str] = {}  # user id -> rich menu id
        self._tokens: dict[str, _ReplyToken] = {}
        self._accepted_retry_keys: dict[str, str] = {}  # retry key -> accepted request id
        self._failures: list[_Rule] = []
        self._delays: list[_Rule] = []
        self._profiles: dict[str, _Profile] = {}
        self._contents: dict[str, _Content] = {}
        self._seq = 0

    # ---- test controls -------------------------------------------------------------------

    def issue_reply_token(self, user_id: str) -> str:
        """A reply token for `user_id`: valid once, for `reply_token_ttl` seconds."""
        token = secrets.token_hex(16)
        self._tokens[token] = _ReplyToken(user_id, time.monotonic() + self.reply_token_ttl)
        return token

    def expire_reply_tokens(self) -> None:
        for token in self._tokens.values():
            token.expires_at = 0.0

    def fail_next(
        self,
        status: int,
        times: int = 1,
        path: str | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests whose path contains `path` with `status`
        (without processing them)."""
        self._failures.append(_Rule(times, path, status=status, body=body, headers=headers))

    def delay_next(self, seconds: float, times: int = 1, path: str | None = None) -> None:
        """Stall the next matching requests for `seconds` before handling them. Like LINE, the
        request is still processed after the stall even if the client gave up waiting — so a
        timed-out push may well have been delivered (combine with `fail_next` if not)."""
        self._delays.append(_Rule(times, path, seconds=seconds))

    def clear_failures(self) -> None:
        """End every injected failure and stall (an outage is over)."""
        self._failures.clear()
        self._delays.clear()

    def add_user(self, user_id: str, display_name: str, picture_url: str | None = None) -> None:
        self._profiles[user_id] = _Profile(display_name, picture_url)

    def add_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        self._contents[message_id] = _Content(data, content_type)

    @property
    def last_seq(self) -> int:
        """The `seq` of the latest delivery (0 before any)."""
        return self._seq

    def delivered(self, user_id: str | None = None) -> list[Delivery]:
        return [d for d in self.deliveries if user_id is None or d.user_id == user_id]

    async def wait_for_deliveries(
        self, count: int, user_id: str | None = None, timeout: float = 5.0
    ) -> list[Delivery]:
        """Wait until at least `count` deliveries (for `user_id`) exist; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.delivered(user_id)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                who = f" for {user_id}" if user_id else ""
                recent = [f"{c.method} {c.path} -> {c.status}" for c in self.calls[-10:]]
                raise AssertionError(
                    f"expected {count} deliveries{who} within {timeout}s, got {len(found)}; "
                    f"last calls: {recent}"
                )
            await asyncio.sleep(0.01)

    # ---- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan and websockets: nothing to do
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        path = get_route_path(scope)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        parsed: Any = None
        if body and "json" in headers.get("content-type", ""):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        call = Call(scope["method"], path, headers, bytes(body), parsed)
        self.calls.append(call)

        async def replay() -> Message:
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                call.status = int(message["status"])
            with contextlib.suppress(OSError):  # the client may have timed out and gone
                await send(message)

        delay = self._take(self._delays, path)
        if delay is not None:
            await asyncio.sleep(delay.seconds)
        response = self._injected_failure(path)
        if response is None and headers.get("authorization") != f"Bearer {self.access_token}":
            response = _error(401, _DEFAULT_FAILURE_MESSAGES[401])
        if response is not None:
            await response(scope, replay, recording_send)
            return
        await self._router(scope, replay, recording_send)

    @staticmethod
    def _take(rules: list[_Rule], path: str) -> _Rule | None:
        for rule in rules:
            if rule.matches(path):
                rule.times -= 1
                if rule.times <= 0:
                    rules.remove(rule)
                return rule
        return None

    def _injected_failure(self, path: str) -> Response | None:
        rule = self._take(self._failures, path)
        if rule is None:
            return None
        body = rule.body or {"message": _DEFAULT_FAILURE_MESSAGES.get(rule.status, "Error")}
        return JSONResponse(body, status_code=rule.status, headers=rule.headers)

    # ---- routing -------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        def route(path: str, handler: Handler, method: str) -> Route:
            return Route(path, handler, methods=[method])

        return [
            route("/v2/bot/message/reply", self._reply, "POST"),
            route("/v2/bot/message/push", self._push, "POST"),
            route("/v2/bot/message/{message_id}/content", self._content, "GET"),
            route("/v2/bot/profile/{user_id}", self._profile, "GET"),
            route("/v2/bot/chat/loading/start", self._loading, "POST"),
            route("/v2/bot/richmenu", self._create_rich_menu, "POST"),
            route("/v2/bot/richmenu/list", self._list_rich_menus, "GET"),
            route("/v2/bot/richmenu/alias", self._create_alias, "POST"),
            route("/v2/bot/richmenu/alias/list", self._list_aliases, "GET"),
            route("/v2/bot/richmenu/alias/{alias_id}", self._get_alias, "GET"),
            route("/v2/bot/richmenu/alias/{alias_id}", self._delete_alias, "DELETE"),
            route("/v2/bot/richmenu/{rich_menu_id}", self._get_rich_menu, "GET"),
            route("/v2/bot/richmenu/{rich_menu_id}", self._delete_rich_menu, "DELETE"),
            route("/v2/bot/richmenu/{rich_menu_id}/content", self._upload_image, "POST"),
            route("/v2/bot/richmenu/{rich_menu_id}/content", self._download_image, "GET"),
            route("/v2/bot/user/all/richmenu/{rich_menu_id}", self._set_default, "POST"),
            route("/v2/bot/user/all/richmenu", self._get_default, "GET"),
            route("/v2/bot/user/all/richmenu", self._cancel_default, "DELETE"),
            route("/v2/bot/user/{user_id}/richmenu/{rich_menu_id}", self._link_user, "POST"),
            route("/v2/bot/user/{user_id}/richmenu", self._get_user_menu, "GET"),
            route("/v2/bot/user/{user_id}/richmenu", self._unlink_user, "DELETE"),
        ]

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _error(404, "Not found")(scope, receive, send)

    # ---- messages ------------------------------------------------------------------------

    @staticmethod
    async def _json_object(request: Request) -> dict[str, Any] | None:
        try:
            data = json.loads(await request.body())
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _record(
        self, user_id: str, via: str, messages: list[dict[str, Any]], retry_key: str | None
    ) -> JSONResponse:
        self._seq += 1
        self.deliveries.append(Delivery(self._seq, user_id, via, messages, retry_key, time.time()))
        sent = [
            {"id": str(10**17 + self._seq * 10 + i), "quoteToken": secrets.token_urlsafe(24)}
            for i in range(len(messages))
        ]
        return JSONResponse(
            {"sentMessages": sent}, headers={"x-line-request-id": str(uuid.uuid4())}
        )

    async def _reply(self, request: Request) -> Response:
        if "x-line-retry-key" in request.headers:
            return _error(400, "X-Line-Retry-Key header is not supported for this API")
        data = await self._json_object(request)
        if data is None:
            return _error(400, "The request body could not be parsed as JSON")
        errors = validate_messages(data.get("messages"))
        if not isinstance(data.get("replyToken"), str) or not data["replyToken"]:
            errors.insert(0, ("must be specified", "replyToken"))
        if errors:
            return _validation_error(errors)
        token = self._tokens.get(data["replyToken"])
        if token is None or token.used or token.expires_at <= time.monotonic():
            return _error(400, "Invalid reply token")
        token.used = True
        return self._record(token.user_id, "reply", data["messages"], None)

    async def _push(self, request: Request) -> Response:
        retry_key = request.headers.get("x-line-retry-key")
        if retry_key is not None and not _UUID.match(retry_key):
            return _error(400, "The value for the 'X-Line-Retry-Key' header is invalid")
        data = await self._json_object(request)
        if data is None:
            return _error(400, "The request body could not be parsed as JSON")
        errors = validate_messages(data.get("messages"))
        to = data.get("to")
        if not isinstance(to, str) or not to:
            errors.insert(0, ("must be specified", "to"))
        if errors:
            return _validation_error(errors)
        if retry_key is not None and retry_key in self._accepted_retry_keys:
            return _error(
                409,
                "The retry key is already accepted",
                headers={"x-line-accepted-request-id": self._accepted_retry_keys[retry_key]},
            )
        response = self._record(str(to), "push", data["messages"], retry_key)
        if retry_key is not None:
            self._accepted_retry_keys[retry_key] = response.headers["x-line-request-id"]
        return response

    async def _content(self, request: Request) -> Response:
        content = self._contents.get(request.path_params["message_id"])
        if content is None:
            return _error(404, "Not found")
        return Response(content.data, media_type=content.content_type)

    async def _profile(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        profile = self._profiles.get(user_id)
        if profile is None:
            return _error(404, "Not found")
        body: dict[str, Any] = {
            "userId": user_id,
            "displayName": profile.display_name,
            "language": "ja",
        }
        if profile.picture_url:
            body["pictureUrl"] = profile.picture_url
        return JSONResponse(body)

    async def _loading(self, request: Request) -> Response:
        data = await self._json_object(request) or {}
        errors: list[tuple[str, str]] = []
        if not isinstance(data.get("chatId"), str) or not data["chatId"]:
            errors.append(("must be specified", "chatId"))
        seconds = data.get("loadingSeconds", 20)
        if not isinstance(seconds, int) or not 5 <= seconds <= 60 or seconds % 5:
            errors.append(("must be a multiple of 5 between 5 and 60", "loadingSeconds"))
        if errors:
            return _validation_error(errors)
        return JSONResponse({}, status_code=202)

    # ---- rich menus ----------------------------------------------------------------------

    async def _create_rich_menu(self, request: Request) -> Response:
        data = await self._json_object(request)
        if data is None:
            return _error(400, "The request body could not be parsed as JSON")
        errors = validate_rich_menu(data)
        if errors:
            return _validation_error(errors)
        rich_menu_id = f"richmenu-{secrets.token_hex(16)}"
        self.rich_menus[rich_menu_id] = {"richMenuId": rich_menu_id, **data}
        return JSONResponse({"richMenuId": rich_menu_id})

    async def _list_rich_menus(self, request: Request) -> Response:
        return JSONResponse({"richmenus": list(self.rich_menus.values())})

    async def _get_rich_menu(self, request: Request) -> Response:
        menu = self.rich_menus.get(request.path_params["rich_menu_id"])
        return JSONResponse(menu) if menu else _error(404, "Not found")

    async def _delete_rich_menu(self, request: Request) -> Response:
        rich_menu_id = request.path_params["rich_menu_id"]
        if self.rich_menus.pop(rich_menu_id, None) is None:
            return _error(404, "Not found")
        self.rich_menu_images.pop(rich_menu_id, None)
        if self.default_rich_menu_id == rich_menu_id:
            self.default_rich_menu_id = None
        self.user_rich_menus = {u: m for u, m in self.user_rich_menus.items() if m != rich_menu_id}
        return JSONResponse({})

    async def _upload_image(self, request: Request) -> Response:
        rich_menu_id = request.path_params["rich_menu_id"]
        menu = self.rich_menus.get(rich_menu_id)
        if menu is None:
            return _error(404, "Not found")
        if rich_menu_id in self.rich_menu_images:
            return _error(400, "An image has already been uploaded to the richmenu")
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in ("image/png", "image/jpeg"):
            return _error(415, "Unsupported Media Type")
        data = await request.body()
        if len(data) > MAX_RICH_MENU_IMAGE_BYTES:
            return _error(413, "Request Entity Too Large")
        is_png = data.startswith(b"\x89PNG\r\n\x1a\n")
        is_jpeg = data.startswith(b"\xff\xd8\xff")
        if not (is_png or is_jpeg) or is_png != (content_type == "image/png"):
            return _error(400, "The image is not a valid PNG or JPEG file")
        size = _image_size(data)
        expected = (menu["size"]["width"], menu["size"]["height"])
        if size != expected:
            return _error(400, f"The image size {size} must match the rich menu size {expected}")
        self.rich_menu_images[rich_menu_id] = data
        return JSONResponse({})

    async def _download_image(self, request: Request) -> Response:
        rich_menu_id = request.path_params["rich_menu_id"]
        data = self.rich_menu_images.get(rich_menu_id)
        if data is None:
            return _error(404, "Not found")
        media = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        return Response(data, media_type=media)

    def _linkable(self, rich_menu_id: str) -> Response | None:
        if rich_menu_id not in self.rich_menus:
            return _error(404, "Not found")
        if rich_menu_id not in self.rich_menu_images:
            return _error(400, "An image has not been uploaded to the richmenu")
        return None

    async def _set_default(self, request: Request) -> Response:
        rich_menu_id = request.path_params["rich_menu_id"]
        problem = self._linkable(rich_menu_id)
        if problem is not None:
            return problem
        self.default_rich_menu_id = rich_menu_id
        return JSONResponse({})

    async def _get_default(self, request: Request) -> Response:
        if self.default_rich_menu_id is None:
            return _error(404, "no default richmenu")
        return JSONResponse({"richMenuId": self.default_rich_menu_id})

    async def _cancel_default(self, request: Request) -> Response:
        self.default_rich_menu_id = None
        return JSONResponse({})

    async def _link_user(self, request: Request) -> Response:
        rich_menu_id = request.path_params["rich_menu_id"]
        problem = self._linkable(rich_menu_id)
        if problem is not None:
            return problem
        self.user_rich_menus[request.path_params["user_id"]] = rich_menu_id
        return JSONResponse({})

    async def _get_user_menu(self, request: Request) -> Response:
        rich_menu_id = self.user_rich_menus.get(request.path_params["user_id"])
        if rich_menu_id is None:
            return _error(404, "the user has no richmenu")
        return JSONResponse({"richMenuId": rich_menu_id})

    async def _unlink_user(self, request: Request) -> Response:
        self.user_rich_menus.pop(request.path_params["user_id"], None)
        return JSONResponse({})

    async def _create_alias(self, request: Request) -> Response:
        data = await self._json_object(request) or {}
        alias_id, rich_menu_id = data.get("richMenuAliasId"), data.get("richMenuId")
        if not isinstance(alias_id, str) or not _ALIAS_ID.match(alias_id):
            return _validation_error([("must match [a-z0-9_-]{1,32}", "richMenuAliasId")])
        if alias_id in self.rich_menu_aliases:
            return _error(400, "conflict richmenu alias id")
        if not isinstance(rich_menu_id, str) or rich_menu_id not in self.rich_menus:
            return _error(400, "richmenu not found")
        if rich_menu_id not in self.rich_menu_images:
            return _error(400, "An image has not been uploaded to the richmenu")
        self.rich_menu_aliases[alias_id] = rich_menu_id
        return JSONResponse({})

    async def _list_aliases(self, request: Request) -> Response:
        aliases = [
            {"richMenuAliasId": a, "richMenuId": m} for a, m in self.rich_menu_aliases.items()
        ]
        return JSONResponse({"aliases": aliases})

    async def _get_alias(self, request: Request) -> Response:
        alias_id = request.path_params["alias_id"]
        if alias_id not in self.rich_menu_aliases:
            return _error(404, "richmenu alias not found")
        return JSONResponse(
            {"richMenuAliasId": alias_id, "richMenuId": self.rich_menu_aliases[alias_id]}
        )

    async def _delete_alias(self, request: Request) -> Response:
        if self.rich_menu_aliases.pop(request.path_params["alias_id"], None) is None:
            return _error(404, "richmenu alias not found")
        return JSONResponse({})


# ---- validation: what LINE answers 400 for ---------------------------------------------------

MESSAGE_TYPES = (
    "text",
    "sticker",
    "image",
    "video",
    "audio",
    "location",
    "imagemap",
    "template",
    "flex",
)
ACTION_TYPES = (
    "postback",
    "message",
    "uri",
    "datetimepicker",
    "camera",
    "cameraRoll",
    "location",
    "richmenuswitch",
    "clipboard",
)
QUICK_REPLY_ONLY = ("camera", "cameraRoll", "location")
FLEX_COMPONENTS = ("box", "button", "image", "video", "icon", "text", "span", "separator", "filler")
FLEX_SIZES = ("nano", "micro", "deca", "hecto", "kilo", "mega", "giga")
SPACINGS = ("none", "xs", "sm", "md", "lg", "xl", "xxl")
TEXT_SIZES = ("xxs", "xs", "sm", "md", "lg", "xl", "xxl", "3xl", "4xl", "5xl")
PICKER_FORMATS = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "time": re.compile(r"^\d{2}:\d{2}$"),
    "datetime": re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}$"),
}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")
_PIXELS = re.compile(r"^\d+(\.\d+)?px$")
_RATIO = re.compile(r"^\d+(\.\d+)?:\d+(\.\d+)?$")
MAX_BUBBLE_JSON = 30 * 1024  # LINE: a bubble's JSON may be up to 30 KB, a carousel 50 KB
MAX_CAROUSEL_JSON = 50 * 1024

Errors = list[tuple[str, str]]  # (message, property) as in LINE's "details"


def _utf16_len(text: str) -> int:
    """LINE counts message text in UTF-16 code units (an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2


class _Checker:
    def __init__(self) -> None:
        self.errors: Errors = []

    def add(self, prop: str, message: str) -> None:
        self.errors.append((message, prop))

    def string(
        self,
        obj: dict[str, Any],
        key: str,
        prop: str,
        max_len: int,
        *,
        required: bool = True,
        utf16: bool = False,
    ) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.add(f"{prop}.{key}", "must be specified")
            return None
        if not isinstance(value, str):
            self.add(f"{prop}.{key}", "must be a string")
            return None
        length = _utf16_len(value) if utf16 else len(value)
        if length < 1 or length > max_len:
            self.add(f"{prop}.{key}", f"Length must be between 1 and {max_len}")
        return value

    def url(self, obj: dict[str, Any], key: str, prop: str, *, required: bool = True) -> None:
        value = self.string(obj, key, prop, 2000, required=required)
        if value is not None and not value.startswith("https://"):
            self.add(f"{prop}.{key}", "must be an HTTPS URL")

    def enum(
        self,
        obj: dict[str, Any],
        key: str,
        prop: str,
        allowed: tuple[str, ...],
        *,
        px: bool = False,
    ) -> None:
        value = obj.get(key)
        if value is None:
            return
        if not (value in allowed or (px and isinstance(value, str) and _PIXELS.match(value))):
            self.add(f"{prop}.{key}", f"Must be one of the following values: {list(allowed)}")

    def color(self, obj: dict[str, Any], key: str, prop: str) -> None:
        value = obj.get(key)
        if value is not None and not (isinstance(value, str) and _COLOR.match(value)):
            self.add(f"{prop}.{key}", "Invalid color code")

    def sized_list(
        self, obj: dict[str, Any], key: str, prop: str, low: int, high: int
    ) -> list[Any]:
        value = obj.get(key)
        if not isinstance(value, list):
            self.add(f"{prop}.{key}", "must be specified")
            return []
        if not low <= len(value) <= high:
            self.add(f"{prop}.{key}", f"Size must be between {low} and {high}")
        return value

    def obj(self, value: Any, prop: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(prop, "must be an object")
            return None
        return value

    # ---- actions ----

    def action(
        self,
        value: Any,
        prop: str,
        *,
        label_required: bool,
        label_max: int = 20,
        quick_reply: bool = False,
    ) -> None:
        action = self.obj(value, prop)
        if action is None:
            return
        kind = action.get("type")
        allowed = (
            ACTION_TYPES
            if quick_reply
            else tuple(t for t in ACTION_TYPES if t not in QUICK_REPLY_ONLY)
        )
        if kind not in allowed:
            self.add(f"{prop}.type", f"Must be one of the following values: {list(allowed)}")
            return
        # LINE counts labels in grapheme clusters; code points are close enough for our copy.
        self.string(action, "label", prop, label_max, required=label_required)
        if kind == "postback":
            self.string(action, "data", prop, 300)
            self.string(action, "displayText", prop, 300, required=False)
            self.string(action, "text", prop, 300, required=False)
            if "displayText" in action and "text" in action:
                self.add(f"{prop}.text", "displayText and text cannot both be specified")
            self.enum(
                action,
                "inputOption",
                prop,
                ("closeRichMenu", "openRichMenu", "openKeyboard", "openVoice"),
            )
            self.string(action, "fillInText", prop, 300, required=False)
        elif kind == "message":
            self.string(action, "text", prop, 300)
        elif kind == "uri":
            uri = self.string(action, "uri", prop, 1000)
            if uri is not None and not uri.startswith(("http://", "https://", "tel:", "line://")):
                self.add(f"{prop}.uri", "must start with http, https, tel or line")
        elif kind == "datetimepicker":
            self.string(action, "data", prop, 300)
            self._picker(action, prop)
        elif kind == "richmenuswitch":
            self.string(action, "richMenuAliasId", prop, 32)
            self.string(action, "data", prop, 300)
        elif kind == "clipboard":
            self.string(action, "clipboardText", prop, 1000)

    def _picker(self, action: dict[str, Any], prop: str) -> None:
        mode = action.get("mode")
        if mode not in PICKER_FORMATS:
            self.add(f"{prop}.mode", "Must be one of the following values: [date, time, datetime]")
            return
        pattern = PICKER_FORMATS[mode]
        values: dict[str, str] = {}
        for key in ("initial", "min", "max"):
            value = action.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not pattern.match(value):
                self.add(f"{prop}.{key}", f"Invalid format for mode {mode}")
            else:
                values[key] = value.lower()
        low, high, initial = values.get("min"), values.get("max"), values.get("initial")
        if low and high and not low < high:
            self.add(f"{prop}.max", "max must be greater than min")
        if initial and ((low and initial < low) or (high and initial > high)):
            self.add(f"{prop}.initial", "initial must be between min and max")

    # ---- messages ----

    def message(self, value: Any, prop: str) -> None:
        message = self.obj(value, prop)
        if message is None:
            return
        kind = message.get("type")
        if kind not in MESSAGE_TYPES:
            self.add(f"{prop}.type", f"Must be one of the following values: {list(MESSAGE_TYPES)}")
            return
        if kind == "text":
            self.string(message, "text", prop, 5000, utf16=True)
        elif kind == "sticker":
            self.string(message, "packageId", prop, 100)
            self.string(message, "stickerId", prop, 100)
        elif kind in ("image", "video"):
            self.url(message, "originalContentUrl", prop)
            self.url(message, "previewImageUrl", prop)
        elif kind == "audio":
            self.url(message, "originalContentUrl", prop)
            if not isinstance(message.get("duration"), int):
                self.add(f"{prop}.duration", "must be specified")
        elif kind == "location":
            self.string(message, "title", prop, 100)
            self.string(message, "address", prop, 100)
            for key in ("latitude", "longitude"):
                if not isinstance(message.get(key), int | float):
                    self.add(f"{prop}.{key}", "must be specified")
        elif kind == "imagemap":
            self.string(message, "altText", prop, 1500, utf16=True)
            self.url(message, "baseUrl", prop)
            self.obj(message.get("baseSize"), f"{prop}.baseSize")
            self.sized_list(message, "actions", prop, 0, 50)
        elif kind == "template":
            self.string(message, "altText", prop, 400, utf16=True)
            template = self.obj(message.get("template"), f"{prop}.template")
            if template is not None:
                self.template(template, f"{prop}.template")
        elif kind == "flex":
            self.string(message, "altText", prop, 1500, utf16=True)
            contents = self.obj(message.get("contents"), f"{prop}.contents")
            if contents is not None:
                self.flex_container(contents, f"{prop}.contents")
        quick_reply = message.get("quickReply")
        if quick_reply is not None:
            self.quick_reply(quick_reply, f"{prop}.quickReply")

    def quick_reply(self, value: Any, prop: str) -> None:
        quick_reply = self.obj(value, prop)
        if quick_reply is None:
            return
        for i, item in enumerate(self.sized_list(quick_reply, "items", prop, 1, 13)):
            item_prop = f"{prop}.items[{i}]"
            item_obj = self.obj(item, item_prop)
            if item_obj is None:
                continue
            if item_obj.get("type") != "action":
                self.add(f"{item_prop}.type", "Must be one of the following values: [action]")
            self.url(item_obj, "imageUrl", item_prop, required=False)
            self.action(
                item_obj.get("action"), f"{item_prop}.action", label_required=True, quick_reply=True
            )

    def template(self, template: dict[str, Any], prop: str) -> None:
        kind = template.get("type")
        if kind == "buttons":
            rich = "thumbnailImageUrl" in template or "title" in template
            self.string(template, "title", prop, 40, required=False)
            self.string(template, "text", prop, 60 if rich else 160)
            self.url(template, "thumbnailImageUrl", prop, required=False)
            for i, action in enumerate(self.sized_list(template, "actions", prop, 1, 4)):
                self.action(action, f"{prop}.actions[{i}]", label_required=True)
        elif kind == "confirm":
            self.string(template, "text", prop, 240)
            for i, action in enumerate(self.sized_list(template, "actions", prop, 2, 2)):
                self.action(action, f"{prop}.actions[{i}]", label_required=True)
        elif kind == "carousel":
            counts = set()
            for i, column in enumerate(self.sized_list(template, "columns", prop, 1, 10)):
                col_prop = f"{prop}.columns[{i}]"
                col = self.obj(column, col_prop)
                if col is None:
                    continue
                rich = "thumbnailImageUrl" in col or "title" in col
                self.string(col, "title", col_prop, 40, required=False)
                self.string(col, "text", col_prop, 60 if rich else 120)
                actions = self.sized_list(col, "actions", col_prop, 1, 3)
                counts.add(len(actions))
                for j, action in enumerate(actions):
                    self.action(action, f"{col_prop}.actions[{j}]", label_required=True)
            if len(counts) > 1:
                self.add(f"{prop}.columns", "All columns must have the same number of actions")
        elif kind == "image_carousel":
            for i, column in enumerate(self.sized_list(template, "columns", prop, 1, 10)):
                col_prop = f"{prop}.columns[{i}]"
                col = self.obj(column, col_prop)
                if col is not None:
                    self.url(col, "imageUrl", col_prop)
                    self.action(
                        col.get("action"), f"{col_prop}.action", label_required=False, label_max=12
                    )
        else:
            self.add(
                f"{prop}.type",
                "Must be one of the following values: [buttons, confirm, carousel, image_carousel]",
            )

    # ---- flex ----

    def flex_container(self, container: dict[str, Any], prop: str) -> None:
        kind = container.get("type")
        size = len(json.dumps(container, ensure_ascii=False).encode())
        if kind == "bubble":
            if size > MAX_BUBBLE_JSON:
                self.add(prop, "A bubble must be 30 KB or less")
            self.bubble(container, prop)
        elif kind == "carousel":
            if size > MAX_CAROUSEL_JSON:
                self.add(prop, "A carousel must be 50 KB or less")
            for i, bubble in enumerate(self.sized_list(container, "contents", prop, 1, 12)):
                bubble_prop = f"{prop}.contents[{i}]"
                bubble_obj = self.obj(bubble, bubble_prop)
                if bubble_obj is None:
                    continue
                if bubble_obj.get("type") != "bubble":
                    self.add(f"{bubble_prop}.type", "Must be one of the following values: [bubble]")
                else:
                    self.bubble(bubble_obj, bubble_prop)
        else:
            self.add(f"{prop}.type", "Must be one of the following values: [bubble, carousel]")

    def bubble(self, bubble: dict[str, Any], prop: str) -> None:
        self.enum(bubble, "size", prop, FLEX_SIZES)
        self.enum(bubble, "direction", prop, ("ltr", "rtl"))
        for block in ("header", "hero", "body", "footer"):
            value = bubble.get(block)
            if value is None:
                continue
            block_obj = self.obj(value, f"{prop}.{block}")
            if block_obj is None:
                continue
            allowed = ("box", "image", "video") if block == "hero" else ("box",)
            if block_obj.get("type") not in allowed:
                self.add(
                    f"{prop}.{block}.type", f"Must be one of the following values: {list(allowed)}"
                )
            else:
                self.component(block_obj, f"{prop}.{block}")
        if "action" in bubble:
            self.action(bubble["action"], f"{prop}.action", label_required=False)

    def component(self, component: dict[str, Any], prop: str) -> None:
        kind = component.get("type")
        if kind not in FLEX_COMPONENTS:
            self.add(
                f"{prop}.type", f"Must be one of the following values: {list(FLEX_COMPONENTS)}"
            )
            return
        self.enum(component, "margin", prop, SPACINGS, px=True)
        flex = component.get("flex")
        if flex is not None and (not isinstance(flex, int) or flex < 0):
            self.add(f"{prop}.flex", "must be an integer of 0 or more")
        for key in ("color", "backgroundColor", "borderColor"):
            self.color(component, key, prop)
        if kind == "box":
            if component.get("layout") not in ("horizontal", "vertical", "baseline"):
                self.add(
                    f"{prop}.layout",
                    "Must be one of the following values: [horizontal, vertical, baseline]",
                )
            self.enum(component, "spacing", prop, SPACINGS, px=True)
            contents = component.get("contents")
            if not isinstance(contents, list):
                self.add(f"{prop}.contents", "must be specified")
            else:
                for i, child in enumerate(contents):
                    child_prop = f"{prop}.contents[{i}]"
                    child_obj = self.obj(child, child_prop)
                    if child_obj is not None:
                        self.component(child_obj, child_prop)
        elif kind == "text":
            if "contents" not in component:
                self.string(component, "text", prop, 2000, utf16=True)
            self.enum(component, "size", prop, TEXT_SIZES, px=True)
            self.enum(component, "weight", prop, ("regular", "bold"))
            self.enum(component, "align", prop, ("start", "end", "center"))
            wrap = component.get("wrap")
            if wrap is not None and not isinstance(wrap, bool):
                self.add(f"{prop}.wrap", "must be a boolean")
        elif kind == "span":
            self.string(component, "text", prop, 2000, utf16=True)
        elif kind == "button":
            self.enum(component, "style", prop, ("primary", "secondary", "link"))
            self.enum(component, "height", prop, ("sm", "md"))
            self.action(component.get("action"), f"{prop}.action", label_required=True)
        elif kind in ("image", "icon"):
            self.url(component, "url", prop)
            ratio = component.get("aspectRatio")
            if ratio is not None and not (isinstance(ratio, str) and _RATIO.match(ratio)):
                self.add(f"{prop}.aspectRatio", "must be {width}:{height}")
        elif kind == "video":
            self.url(component, "url", prop)
            self.url(component, "previewUrl", prop)
        if kind != "button" and "action" in component:
            self.action(component["action"], f"{prop}.action", label_required=False)


def validate_messages(messages: Any) -> Errors:
    """The errors LINE would list for a reply/push `messages` array (empty when valid)."""
    checker = _Checker()
    if not isinstance(messages, list):
        checker.add("messages", "must be specified")
        return checker.errors
    if not 1 <= len(messages) <= 5:
        checker.add("messages", "Size must be between 1 and 5")
    for i, message in enumerate(messages):
        checker.message(message, f"messages[{i}]")
    return checker.errors


def validate_rich_menu(menu: dict[str, Any]) -> Errors:
    """The errors LINE would list for a rich menu object (empty when valid)."""
    checker = _Checker()
    size = checker.obj(menu.get("size"), "size") or {}
    width, height = size.get("width"), size.get("height")
    if not isinstance(width, int) or not 800 <= width <= 2500:
        checker.add("size.width", "must be between 800 and 2500")
    if not isinstance(height, int) or height < 250:
        checker.add("size.height", "must be 250 or more")
    elif isinstance(width, int) and width / height < 1.45:
        checker.add("size", "width / height must be 1.45 or more")
    if not isinstance(menu.get("selected"), bool):
        checker.add("selected", "must be specified")
    checker.string(menu, "name", "", 300)
    checker.string(menu, "chatBarText", "", 14)
    for i, area in enumerate(checker.sized_list(menu, "areas", "", 1, 20)):
        prop = f"areas[{i}]"
        area_obj = checker.obj(area, prop)
        if area_obj is None:
            continue
        bounds = checker.obj(area_obj.get("bounds"), f"{prop}.bounds") or {}
        raw = [bounds.get(k) for k in ("x", "y", "width", "height")]
        numbers = [n for n in raw if isinstance(n, int) and n >= 0]
        if len(numbers) != 4:
            checker.add(f"{prop}.bounds", "x, y, width and height must be integers of 0 or more")
        elif isinstance(width, int) and isinstance(height, int):
            x, y, w, h = numbers
            if x + w > width or y + h > height:
                checker.add(f"{prop}.bounds", "must be within the rich menu size")
        checker.action(area_obj.get("action"), f"{prop}.action", label_required=False)
    # `checker.string(menu, key, "")` names the property ".key"; LINE says "key".
    return [(m, p.lstrip(".")) for m, p in checker.errors]


def _image_size(data: bytes) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None


@contextlib.asynccontextmanager
async def serve_on_loopback(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 (ephemeral port) in the running event loop;
    yields the base URL, e.g. "http://127.0.0.1:54321"."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    # uvicorn's signal capture would swallow the test runner's Ctrl-C; the owner stops us.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise why it could not start
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
