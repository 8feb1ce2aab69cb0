"""The bot a developer would write instead: a minimal line-bot-sdk echo bot.

`WebhookParser` checks the signature and parses; each text message is echoed with
`AsyncMessagingApi.reply_message` inline, before the webhook answers 200. Nothing is stored,
so a crash or a LINE hiccup loses the answer. Shaped after line-bot-sdk-python's
examples/fastapi-echo, on Starlette.

    BENCH_CHANNEL_SECRET=… BENCH_ACCESS_TOKEN=… LINE_API_BASE_URL=http://127.0.0.1:P \\
        uvicorn --app-dir bench echo_bot:app
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import MessageEvent, TextMessageContent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

parser = WebhookParser(os.environ.get("BENCH_CHANNEL_SECRET", "bench-channel-secret"))
configuration = Configuration(
    host=os.environ.get("LINE_API_BASE_URL", "https://api.line.me"),
    access_token=os.environ.get("BENCH_ACCESS_TOKEN", "bench-access-token"),
)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    client = AsyncApiClient(configuration)  # aiohttp needs the running loop
    app.state.api = AsyncMessagingApi(client)
    try:
        yield
    finally:
        await client.close()


async def callback(request: Request) -> Response:
    signature = request.headers.get("x-line-signature", "")
    body = (await request.body()).decode()
    try:
        events = parser.parse(body, signature)
    except InvalidSignatureError:
        return PlainTextResponse("Invalid signature", status_code=400)
    api: AsyncMessagingApi = request.app.state.api
    for event in events:
        if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
            await api.reply_message(
                ReplyMessageRequest(
                    reply_token=event.reply_token,
                    messages=[TextMessage(text=event.message.text)],
                )
            )
    return PlainTextResponse("OK")


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[
        Route("/callback", callback, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ],
    lifespan=lifespan,
)
