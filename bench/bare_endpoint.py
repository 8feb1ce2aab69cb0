"""The floor for acknowledgements: a bare Starlette endpoint that only checks the signature.

BENCH_CHANNEL_SECRET=… uvicorn --app-dir bench bare_endpoint:app
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CHANNEL_SECRET = os.environ.get("BENCH_CHANNEL_SECRET", "bench-channel-secret").encode()


async def callback(request: Request) -> Response:
    body = await request.body()
    digest = base64.b64encode(hmac.new(CHANNEL_SECRET, body, hashlib.sha256).digest())
    if not hmac.compare_digest(digest, request.headers.get("x-line-signature", "").encode()):
        return Response("invalid signature", status_code=400)
    return Response(status_code=200)


async def healthz(request: Request) -> Response:
    return Response("ok")


app = Starlette(
    routes=[
        Route("/callback", callback, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
)
