"""A fake LINE Messaging API platform (an ASGI app) for tests, benchmarks and the simulator.

The real line-bot-sdk v3 client talks to it through `Configuration(host=base_url)`, which sends
api.line.me and api-data.line.me paths alike to that base. It keeps everything in memory,
validates requests as strictly as LINE does (so message-builder bugs fail here, not in
production), issues single-use reply tokens, honours `X-Line-Retry-Key` (push and multicast),
counts the month's message quota (push and multicast use it, replies are free), and can fail,
stall, or take a request and still answer an error on demand. It logs nothing: request bodies
carry residents' names and messages.
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router, get_route_path
from starlette.types import Message, Receive, Scope, Send

from line_app.fake_line.validation import validate_messages, validate_rich_menu

MAX_RICH_MENU_IMAGE_BYTES = 1024 * 1024  # LINE: 1 MB
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ALIAS_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
MAX_MULTICAST_TO = 500  # LINE: user ids per multicast request
MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."

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
    via: str  # "reply" | "push" | "multicast" (one Delivery per user)
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
        self._taken_failures: list[_Rule] = []
        # The month's message quota: None = no limit (LINE's type "none"). Push and multicast
        # use messages × users of it; replies are free.
        self.quota_limit: int | None = None
        self.quota_used = 0
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

    def accept_then_fail(
        self,
        status: int,
        times: int = 1,
        path: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Process the next `times` matching requests as usual (deliveries recorded, retry
        keys accepted, quota used) and then answer `status` instead of the real answer: LINE
        took the request but the answer was lost (a 500 from its front end, a proxy)."""
        self._taken_failures.append(_Rule(times, path, status=status, body=body))

    def delay_next(self, seconds: float, times: int = 1, path: str | None = None) -> None:
        """Stall the next matching requests for `seconds` before handling them. Like LINE, the
        request is still processed after the stall even if the client gave up waiting — so a
        timed-out push may well have been delivered (combine with `fail_next` if not)."""
        self._delays.append(_Rule(times, path, seconds=seconds))

    def clear_failures(self) -> None:
        """End every injected failure and stall (an outage is over)."""
        self._failures.clear()
        self._delays.clear()
        self._taken_failures.clear()

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
        taken = self._take(self._taken_failures, path)
        if taken is not None:

            async def lost(message: Message) -> None:
                """The real answer never reaches the client."""

            await self._router(scope, replay, lost)
            await self._failure_response(taken)(scope, replay, recording_send)
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
        return None if rule is None else self._failure_response(rule)

    @staticmethod
    def _failure_response(rule: _Rule) -> Response:
        body = rule.body or {"message": _DEFAULT_FAILURE_MESSAGES.get(rule.status, "Error")}
        return JSONResponse(body, status_code=rule.status, headers=rule.headers)

    # ---- routing -------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        def route(path: str, handler: Handler, method: str) -> Route:
            return Route(path, handler, methods=[method])

        return [
            route("/v2/bot/message/reply", self._reply, "POST"),
            route("/v2/bot/message/push", self._push, "POST"),
            route("/v2/bot/message/multicast", self._multicast, "POST"),
            route("/v2/bot/message/quota", self._quota, "GET"),
            route("/v2/bot/message/quota/consumption", self._consumption, "GET"),
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
    ) -> None:
        self._seq += 1
        self.deliveries.append(Delivery(self._seq, user_id, via, messages, retry_key, time.time()))

    def _sent(self, messages: list[dict[str, Any]]) -> JSONResponse:
        """Reply and push answer with the ids of the messages just recorded."""
        sent = [
            {"id": str(10**17 + self._seq * 10 + i), "quoteToken": secrets.token_urlsafe(24)}
            for i in range(len(messages))
        ]
        return JSONResponse(
            {"sentMessages": sent}, headers={"x-line-request-id": str(uuid.uuid4())}
        )

    def _already_accepted(self, retry_key: str | None) -> Response | None:
        """409 to a request whose retry key LINE took before (nothing is sent again)."""
        if retry_key is None or retry_key not in self._accepted_retry_keys:
            return None
        return _error(
            409,
            "The retry key is already accepted",
            headers={"x-line-accepted-request-id": self._accepted_retry_keys[retry_key]},
        )

    def _use_quota(self, count: int) -> Response | None:
        """Take `count` messages of the month's quota, or 429 when they would exceed it."""
        if self.quota_limit is not None and self.quota_used + count > self.quota_limit:
            return _error(429, MONTHLY_LIMIT_MESSAGE)
        self.quota_used += count
        return None

    def _accept(self, retry_key: str | None, response: Response) -> Response:
        if retry_key is not None:
            self._accepted_retry_keys[retry_key] = response.headers["x-line-request-id"]
        return response

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
        self._record(token.user_id, "reply", data["messages"], None)
        return self._sent(data["messages"])

    async def _sending(self, request: Request) -> tuple[str | None, dict[str, Any]] | Response:
        """A push or multicast request's retry key and JSON body, or LINE's 400 for either."""
        retry_key = request.headers.get("x-line-retry-key")
        if retry_key is not None and not _UUID.match(retry_key):
            return _error(400, "The value for the 'X-Line-Retry-Key' header is invalid")
        data = await self._json_object(request)
        if data is None:
            return _error(400, "The request body could not be parsed as JSON")
        return retry_key, data

    async def _push(self, request: Request) -> Response:
        got = await self._sending(request)
        if isinstance(got, Response):
            return got
        retry_key, data = got
        errors = validate_messages(data.get("messages"))
        to = data.get("to")
        if not isinstance(to, str) or not to:
            errors.insert(0, ("must be specified", "to"))
        if errors:
            return _validation_error(errors)
        refused = self._already_accepted(retry_key) or self._use_quota(len(data["messages"]))
        if refused is not None:
            return refused
        self._record(str(to), "push", data["messages"], retry_key)
        return self._accept(retry_key, self._sent(data["messages"]))

    async def _multicast(self, request: Request) -> Response:
        got = await self._sending(request)
        if isinstance(got, Response):
            return got
        retry_key, data = got
        errors = validate_messages(data.get("messages"))
        to = data.get("to")
        if not isinstance(to, list) or not to:
            errors.insert(0, ("must be specified", "to"))
        elif len(to) > MAX_MULTICAST_TO:
            errors.insert(0, (f"Size must be between 1 and {MAX_MULTICAST_TO}", "to"))
        else:
            errors[:0] = [
                ("must be a non-empty string", f"to[{i}]")
                for i, user in enumerate(to)
                if not isinstance(user, str) or not user
            ]
        if errors:
            return _validation_error(errors)
        # Every id as given, twice if listed twice: a sender that repeats a user shows up.
        users = [str(u) for u in to or ()]
        messages = data["messages"]
        refused = self._already_accepted(retry_key) or self._use_quota(len(messages) * len(users))
        if refused is not None:
            return refused
        for user in users:
            self._record(user, "multicast", messages, retry_key)
        # LINE answers a multicast with an empty object.
        response = JSONResponse({}, headers={"x-line-request-id": str(uuid.uuid4())})
        return self._accept(retry_key, response)

    async def _quota(self, request: Request) -> Response:
        if self.quota_limit is None:
            return JSONResponse({"type": "none"})
        return JSONResponse({"type": "limited", "value": self.quota_limit})

    async def _consumption(self, request: Request) -> Response:
        return JSONResponse({"totalUsage": self.quota_used})

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


def _image_size(data: bytes) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None
