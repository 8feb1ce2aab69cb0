"""Serve an ASGI app (the fake platform, or the whole app) on 127.0.0.1 for tests and benches."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.types import ASGIApp


@contextlib.asynccontextmanager
async def serve_on_loopback(app: ASGIApp, **config_overrides: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 (ephemeral port) in the running event loop;
    yields the base URL, e.g. "http://127.0.0.1:54321". `config_overrides` go to
    uvicorn.Config (e.g. a test of the logs serves with `log_config` and the access log)."""
    import uvicorn

    settings: dict[str, Any] = {
        "lifespan": "off",
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": 2,
    }
    config = uvicorn.Config(app, host="127.0.0.1", port=0, **{**settings, **config_overrides})
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
