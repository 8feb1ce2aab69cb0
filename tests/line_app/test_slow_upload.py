"""Slow uploads (slow-loris clients on a real uvicorn server on loopback): the body read is
time-limited (408), and a request still uploading does not make the worker give way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from line_app import webhook
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform, serve_on_loopback
from shima.app import create_app
from shima.settings import Settings
from shima.worker import Worker
from tests.line_app import events

SECRET = "test-channel-secret"
BODY_TIMEOUT = 2.0


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[tuple[int, Worker]]:
    """The app on a loopback port, with its in-process worker running."""
    settings = replace(settings, webhook_body_timeout_seconds=BODY_TIMEOUT)
    app = create_app(settings, init_db=False)
    line = LineClient(settings)
    worker = Worker(settings, line)
    app.state.worker = worker
    await worker.start()
    try:
        async with serve_on_loopback(app) as base_url:
            yield int(base_url.rsplit(":", 1)[1]), worker
    finally:
        await worker.stop(grace_seconds=2)
        await line.close()


async def slow_client(port: int, stop: asyncio.Event) -> int:
    """Announce a 1,000-byte signed body, then send one byte every 0.2 s; the status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
            b"X-Line-Signature: c2lnbmF0dXJl\r\nContent-Type: application/json\r\n\r\n{"
        )
        await writer.drain()
        answer = asyncio.ensure_future(reader.readline())
        while not stop.is_set() and not answer.done():
            await asyncio.wait({answer}, timeout=0.2)
            if not answer.done():
                writer.write(b" ")
                await writer.drain()
        line = await asyncio.wait_for(answer, BODY_TIMEOUT + 3)
        return int(line.split()[1])
    finally:
        writer.close()


async def test_a_body_slower_than_the_limit_gets_408(server: tuple[int, Worker]) -> None:
    port, _ = server
    started = time.monotonic()
    status = await asyncio.wait_for(slow_client(port, asyncio.Event()), BODY_TIMEOUT + 5)
    assert status == 408
    assert BODY_TIMEOUT - 0.1 <= time.monotonic() - started < BODY_TIMEOUT + 2


async def test_slow_uploads_do_not_slow_the_bot_down(
    server: tuple[int, Worker], fake_line: FakeLinePlatform
) -> None:
    port, _ = server
    stop = asyncio.Event()
    slow = [asyncio.create_task(slow_client(port, stop)) for _ in range(5)]
    try:
        await asyncio.sleep(0.3)  # all five are uploading now
        assert webhook.pressure.inflight == 0  # unverified bodies are no pressure

        token = fake_line.issue_reply_token("U1")
        raw = events.body(events.text("U1", token, "こんにちは"))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sent = time.monotonic()
        writer.write(
            b"POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
            b"X-Line-Signature: %s\r\n\r\n" % (len(raw), events.sign(SECRET, raw).encode()) + raw
        )
        assert b" 200 " in await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        await fake_line.wait_for_deliveries(1, timeout=BODY_TIMEOUT)
        # Before the fix each worker round gave way to the uploads for a second.
        assert time.monotonic() - sent < 0.9
        assert not any(t.done() for t in slow)  # still uploading all along
    finally:
        stop.set()
        statuses = await asyncio.gather(*slow, return_exceptions=True)
    assert statuses == [408] * 5
