"""`POST /callback`: verify, store once, acknowledge. Nothing here waits for a flow or LINE."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from line_app import inbox
from shima.settings import Settings

log = logging.getLogger("shima.webhook")


class BodyTooLarge(Exception):
    pass


class Pressure:
    """Webhook requests in flight in this process. The in-process worker gives way to them
    for a moment (see Worker._give_way): LINE waits for our acknowledgement, while the
    answers can follow a fraction of a second later."""

    inflight = 0


pressure = Pressure()


def signature_is_valid(channel_secret: str, body: bytes, signature: str) -> bool:
    """LINE's `x-line-signature`: base64(HMAC-SHA256(channel secret, raw body))."""
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode())


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge
        except ValueError:
            raise BodyTooLarge from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # chunked bodies: stop as soon as we pass the limit
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> Response:
    return JSONResponse({"message": message}, status_code=status)


async def callback(request: Request) -> Response:
    pressure.inflight += 1
    try:
        return await _callback(request)
    finally:
        pressure.inflight -= 1


async def _callback(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    signature = request.headers.get("x-line-signature", "")
    if not signature:
        return _error(400, "missing signature")
    try:
        body = await _read_body(request, settings.max_webhook_bytes)
    except BodyTooLarge:
        return _error(413, "body too large")
    except ClientDisconnect:
        return _error(400, "client disconnected")
    if not signature_is_valid(settings.channel_secret, body, signature):
        return _error(400, "invalid signature")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return _error(400, "invalid JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("events", []), list):
        return _error(400, "invalid webhook body")

    stored = await inbox.store_events(payload.get("events", []))
    worker = getattr(request.app.state, "worker", None)
    if stored and worker is not None:
        worker.wake()
    return Response(status_code=200)
