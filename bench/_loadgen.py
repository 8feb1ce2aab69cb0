"""A load generator on plain asyncio streams with pre-built raw HTTP/1.1 requests.

httpx and aiohttp clients spend more CPU per request than the servers under test, so on a
2-core machine they saturate a core first and measure themselves. Here every request is built
(and signed) before the clock starts; during the flood a connection only writes bytes and
parses a status line, headers and a Content-Length body.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

from line_app.signature import sign

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# What residents might type: words that start a menu item or show the menu. (Words that
# match nothing go to the desk, and the bot answers those only once per while: every event
# of the flood must get an answer for the timing to end.)
TEXTS = (
    "ヘルプ",
    "予約したいです",
    "寺子屋",
    "メニュー",
    "使い方",
    "マーケットに出店できますか？",
    "アンケート",
    "はじめに",
)


def ulid() -> str:
    """A ULID like LINE's `webhookEventId`: 48-bit ms time + 80 random bits, Crockford base32."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def user_id(index: int) -> str:
    """A LINE-shaped user id ("U" + 32 hex digits), stable per index."""
    return "U" + hashlib.md5(f"bench-user-{index}".encode()).hexdigest()


def _event_body(user: str, reply_token: str, destination: str, **what: object) -> bytes:
    """One LINE webhook body carrying one event of `user` (`what`: its type and content)."""
    event = {
        **what,
        "webhookEventId": ulid(),
        "deliveryContext": {"isRedelivery": False},
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "replyToken": reply_token,
        "mode": "active",
    }
    body = {"destination": destination, "events": [event]}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def text_event_body(user: str, reply_token: str, text: str, destination: str) -> bytes:
    """One LINE webhook body carrying one text message event (as LINE mostly sends them)."""
    message = {
        "type": "text",
        "id": str(secrets.randbelow(10**18)),
        "quoteToken": secrets.token_urlsafe(24),
        "text": text,
    }
    return _event_body(user, reply_token, destination, type="message", message=message)


def postback_event_body(user: str, reply_token: str, data: str, destination: str) -> bytes:
    """One LINE webhook body carrying one postback event (a button tap)."""
    return _event_body(user, reply_token, destination, type="postback", postback={"data": data})


def image_event_body(
    user: str,
    reply_token: str,
    message_id: str,
    destination: str,
    image_set: tuple[str, int, int] | None = None,
) -> bytes:
    """One LINE webhook body carrying one image message event (the picture itself is fetched
    from the content API by its message id); `image_set`: (id, index from 1, total) when it is
    one of several images sent at once."""
    message: dict[str, object] = {
        "type": "image",
        "id": message_id,
        "quoteToken": secrets.token_urlsafe(24),
        "contentProvider": {"type": "line"},
    }
    if image_set is not None:
        set_id, index, total = image_set
        message["imageSet"] = {"id": set_id, "index": index, "total": total}
    return _event_body(user, reply_token, destination, type="message", message=message)


def raw_post(host: str, port: int, path: str, body: bytes, signature: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "User-Agent: LineBotWebhook/2.0\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"X-Line-Signature: {signature}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


def signed_requests(
    host: str, port: int, bodies: list[bytes], channel_secret: str, path: str = "/callback"
) -> list[bytes]:
    return [raw_post(host, port, path, b, sign(channel_secret, b)) for b in bodies]


class HttpError(Exception):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Read one HTTP/1.1 response: (status, server keeps the connection, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HttpError(f"bad status line {lines[0][:80]!r}")
    status = int(parts[1])
    length = -1
    chunked = False
    keep = True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep = b"close" not in value.lower()
    if chunked:
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        return status, keep, b"".join(chunks)
    if length < 0:
        return status, False, await reader.read()
    return status, keep, await reader.readexactly(length) if length else b""


@dataclass
class FloodResult:
    started_wall: float = 0.0  # time.time() when the first request went out
    elapsed: float = 0.0  # seconds from the first request to the last response
    latencies: list[float] = field(default_factory=list)  # per acknowledged request
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    cpu_seconds: float = 0.0  # this process's CPU time during the flood

    @property
    def acked(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def acks_per_second(self) -> float:
        return self.acked / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the ack latency, in seconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1]


async def flood(
    host: str, servers: list[tuple[int, list[bytes]]], connections: int, timeout: float = 30.0
) -> FloodResult:
    """Send every request once over `connections` keep-alive connections (each connection
    takes the next unsent request as soon as its previous one is answered).

    `servers`: (port, the requests built for it) per server; the connections are dealt
    round-robin between the servers, and each takes the next request of its own server."""
    if connections < len(servers):
        raise ValueError("at least one connection per server")
    result = FloodResult()
    targets = [servers[i % len(servers)][0] for i in range(connections)]
    streams = await asyncio.gather(*(asyncio.open_connection(host, p) for p in targets))
    pending = {port: iter(requests) for port, requests in servers}
    perf = time.perf_counter

    async def run(port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for request in pending[port]:  # shared per server: no request is sent twice
            sent = perf()
            try:
                writer.write(request)
                status, keep, _ = await asyncio.wait_for(read_response(reader), timeout)
            except (OSError, asyncio.IncompleteReadError, HttpError, TimeoutError) as exc:
                result.errors[type(exc).__name__] += 1
                keep = False
                status = 0
            else:
                result.statuses[status] += 1
                if status == 200:
                    result.latencies.append(perf() - sent)
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
        writer.close()

    cpu0 = time.process_time()
    result.started_wall = time.time()
    t0 = perf()
    await asyncio.gather(*(run(p, r, w) for p, (r, w) in zip(targets, streams, strict=True)))
    result.elapsed = perf() - t0
    result.cpu_seconds = time.process_time() - cpu0
    return result


async def http_get(host: str, port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """One GET on a fresh connection (health checks, the fake platform's stats)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        status, _, body = await asyncio.wait_for(read_response(reader), timeout)
        return status, body
    finally:
        writer.close()
