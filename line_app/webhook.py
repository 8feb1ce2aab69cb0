"""`POST /callback`: verify, store once, acknowledge. Nothing here waits for a flow or LINE.

A plain ASGI endpoint (no Request/Response objects): it is the hottest path of the app, and
LINE wants its answer within two seconds even during a burst (see bench/webhook.py).
"""

from __future__ import annotations

import json
import logging

from starlette.types import Receive, Scope, Send

from line_app import inbox
from line_app.signature import is_valid
from shima.settings import Settings

log = logging.getLogger("shima.webhook")


class BodyTooLarge(Exception):
    pass


class Disconnected(Exception):
    pass


class Pressure:
    """Webhook requests in flight in this process. The in-process worker gives way to them
    for a moment (see Worker._give_way): LINE waits for our acknowledgement, while the
    answers can follow a fraction of a second later."""

    inflight = 0


pressure = Pressure()


def signature_is_valid(channel_secret: str, body: bytes, signature: str) -> bool:
    """LINE's `x-line-signature`: base64(HMAC-SHA256(channel secret, raw body))."""
    return is_valid(channel_secret, body, signature)


async def _read_body(receive: Receive, declared: bytes | None, limit: int) -> bytes:
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
        pressure.inflight += 1
        try:
            status, message = await _handle(scope, receive)
            await _answer(send, status, message)
        finally:
            pressure.inflight -= 1


callback = Callback()


async def _handle(scope: Scope, receive: Receive) -> tuple[int, str]:
    app = scope["app"]
    settings: Settings = app.state.settings
    headers = dict(scope["headers"])
    signature = headers.get(b"x-line-signature", b"").decode("latin-1")
    if not signature:
        return 400, "missing signature"
    try:
        body = await _read_body(receive, headers.get(b"content-length"), settings.max_webhook_bytes)
    except BodyTooLarge:
        return 413, "body too large"
    except Disconnected:
        return 400, "client disconnected"
    if not signature_is_valid(settings.channel_secret, body, signature):
        return 400, "invalid signature"
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return 400, "invalid JSON"
    if not isinstance(payload, dict) or not isinstance(payload.get("events", []), list):
        return 400, "invalid webhook body"

    stored = await inbox.store_events(payload.get("events", []))
    worker = getattr(app.state, "worker", None)
    if stored and worker is not None:
        worker.wake()
    return 200, ""
