"""`POST /callback`: verify, store once, acknowledge. Nothing here waits for a flow or LINE.

A plain ASGI endpoint (no Request/Response objects): it is the hottest path of the app, and
LINE wants its answer within two seconds even during a burst (see bench/webhook.py).
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from line_app import inbox, webhook_events
from line_app.signature import is_valid
from shima.settings import Settings

log = logging.getLogger("shima.webhook")


class BodyTooLarge(Exception):
    pass


class Disconnected(Exception):
    pass


class BodyTooSlow(Exception):
    pass


class Pressure:
    """Webhook requests in this process whose body is complete and verified and which are
    not yet acknowledged. The in-process worker gives way to them for a moment (see
    Worker._give_way): LINE waits for our acknowledgement, while the answers can follow a
    fraction of a second later. A request still uploading is no pressure: a client that
    sends a byte a second must not slow the bot down."""

    inflight = 0


pressure = Pressure()


def signature_is_valid(channel_secret: str, body: bytes, signature: str) -> bool:
    """LINE's `x-line-signature`: base64(HMAC-SHA256(channel secret, raw body))."""
    return is_valid(channel_secret, body, signature)


async def _read_body(receive: Receive, declared: bytes | None, limit: int, timeout: float) -> bytes:
    """The whole body, within `limit` bytes and `timeout` seconds (a slow upload holds a
    connection and memory; LINE sends its few kilobytes at once)."""
    try:
        async with asyncio.timeout(timeout):
            return await _read_body_unbounded(receive, declared, limit)
    except TimeoutError:
        raise BodyTooSlow from None


async def _read_body_unbounded(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge
        except ValueError:
            raise BodyTooLarge from None
    chunks: list[bytes] = []
    size = 0
    while True:  # chunked bodies: stop as soon as we pass the limit
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, message: str = "") -> None:
    body = json.dumps({"message": message}).encode() if message else b""
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Callback:
    """The ASGI endpoint (a class, so Starlette's Route passes scope/receive/send as is)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        verified = _Verified()
        try:
            status, message = await _handle(scope, receive, verified)
            await _answer(send, status, message)
        finally:
            verified.done()


callback = Callback()


class _Verified:
    """Counts the request as webhook pressure from verification until it is answered."""

    __slots__ = ("counted",)

    def __init__(self) -> None:
        self.counted = False

    def start(self) -> None:
        self.counted = True
        pressure.inflight += 1

    def done(self) -> None:
        if self.counted:
            self.counted = False
            pressure.inflight -= 1


class WebhookFirst:
    """Middleware: `POST /callback` goes straight to the endpoint, past the admin's
    security headers (a webhook answer is no page: four headers h11 validates per request
    cost about a tenth of the acknowledgement path, see bench/webhook.py), the exception
    middleware and the router. Everything else goes on down the stack."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/callback" and scope["method"] == "POST":
            await callback(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _handle(scope: Scope, receive: Receive, verified: _Verified) -> tuple[int, str]:
    app = scope["app"]
    settings: Settings = app.state.settings
    headers = dict(scope["headers"])
    signature = headers.get(b"x-line-signature", b"").decode("latin-1")
    if not signature:
        return 400, "missing signature"
    try:
        body = await _read_body(
            receive,
            headers.get(b"content-length"),
            settings.max_webhook_bytes,
            settings.webhook_body_timeout_seconds,
        )
    except BodyTooLarge:
        return 413, "body too large"
    except BodyTooSlow:
        return 408, "body not received in time"
    except Disconnected:
        return 400, "client disconnected"
    if not signature_is_valid(settings.channel_secret, body, signature):
        return 400, "invalid signature"
    verified.start()
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return 400, "invalid JSON"
    except RecursionError:
        return 400, "JSON nested too deeply"
    if not isinstance(payload, dict) or not isinstance(payload.get("events", []), list):
        return 400, "invalid webhook body"
    if webhook_events.too_deep(body, payload):
        return 400, "JSON nested too deeply"

    stored = await inbox.store_events(payload.get("events", []), scrub=b"\\u" in body)
    worker = getattr(app.state, "worker", None)
    if stored and worker is not None:
        worker.wake()
    return 200, ""
