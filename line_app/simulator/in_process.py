"""Post a request to this very ASGI app without a network or an HTTP client library.

The simulator hands its signed webhooks to the app's own `POST /callback` this way, so the
real middleware → webhook → inbox path runs, and nothing test-only is needed at run time.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Scope


async def post(app: ASGIApp, like: Scope, path: str, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to `path` of `app` as a request like `like` (same host, client, server);
    the response status (the response body is dropped: nobody reads it)."""
    host = next((v for k, v in like.get("headers", []) if k == b"host"), b"localhost")
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": like.get("scheme", "http"),
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", host), (b"content-length", str(len(body)).encode())]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": like.get("client"),
        "server": like.get("server"),
        "state": dict(like.get("state", {})),
    }
    sent = False
    status = 500  # an app that answers nothing failed
    done = asyncio.Event()

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # as a real client: "disconnected" only once the answer is in
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return status
