"""The floor for acknowledgements: a bare Starlette endpoint that only checks the signature.

BENCH_CHANNEL_SECRET=… uvicorn --app-dir bench bare_endpoint:app
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from line_app.signature import is_valid

CHANNEL_SECRET = os.environ.get("BENCH_CHANNEL_SECRET", "bench-channel-secret")


async def callback(request: Request) -> Response:
    body = await request.body()
    if not is_valid(CHANNEL_SECRET, body, request.headers.get("x-line-signature", "")):
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
