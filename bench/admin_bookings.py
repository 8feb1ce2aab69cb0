"""Admin bookings list and CSV export with 100,000 bookings: page times and export memory.

.venv/bin/python bench/admin_bookings.py                       # SQLite file in a temp dir
.venv/bin/python bench/admin_bookings.py --database-url postgres://postgres@127.0.0.1:5432/test
    (a throwaway database is created next to the one named, and dropped afterwards)

Prints p50/p95 of the list page (page 1, a deep page, filtered queries) through the ASGI app,
signed in as staff, and the CSV export of every booking: rows/s and peak memory growth.
Targets: list p50 < 150 ms; export peak growth < 50 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tortoise import Tortoise  # noqa: E402

from admin.passwords import create_staff  # noqa: E402
from models.consultation import (  # noqa: E402
    BookedBy,
    Booking,
    BookingStatus,
    ConsultationSlot,
    Method,
    Topic,
)
from models.residents import Resident  # noqa: E402
from shima.app import create_app  # noqa: E402
from shima.db import init as init_db  # noqa: E402
from shima.settings import Settings  # noqa: E402

EMAIL, PASSWORD = "bench@example.jp", "bench-password-2026"
COUNSELLORS = ("田中", "森", "山下", "大島", "中村")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def vm_hwm_kib() -> int:
    """Peak resident memory of this process (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def vm_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


async def fill(bookings: int, batch: int = 5000) -> None:
    """Residents, slots over ~3 years (two seats each) and `bookings` bookings, ~15% cancelled."""
    rng = random.Random(7)
    resident_count = max(100, bookings // 20)
    for start in range(0, resident_count, batch):
        await Resident.bulk_create(
            [
                Resident(line_user_id=f"U{i:032x}", display_name=f"利用者{i:05d} {'島' * (i % 3)}")
                for i in range(start, min(resident_count, start + batch))
            ]
        )
    slot_count = (bookings + 1) // 2
    base = datetime(2025, 4, 1, 0, tzinfo=UTC)
    for start in range(0, slot_count, batch):
        await ConsultationSlot.bulk_create(
            [
                ConsultationSlot(
                    starts_at=base + timedelta(minutes=30 * i),
                    ends_at=base + timedelta(minutes=30 * i + 60),
                    counsellor=COUNSELLORS[i % len(COUNSELLORS)],
                    capacity=2,
                    booked_count=2,
                )
                for i in range(start, min(slot_count, start + batch))
            ]
        )
    first_slot = await ConsultationSlot.all().order_by("id").first().values_list("id", flat=True)
    first_resident = await Resident.all().order_by("id").first().values_list("id", flat=True)
    assert isinstance(first_slot, int) and isinstance(first_resident, int)
    topics, methods = list(Topic), list(Method)
    for start in range(0, bookings, batch):
        rows = []
        for i in range(start, min(bookings, start + batch)):
            cancelled = rng.random() < 0.15
            slot_id = first_slot + i // 2
            resident_id = first_resident + rng.randrange(resident_count)
            rows.append(
                Booking(
                    resident_id=resident_id,
                    slot_id=slot_id,
                    topic=topics[i % len(topics)],
                    method=methods[i % len(methods)],
                    note=rng.choice(["", "資料を持参します", "=1+1", "子連れ, 可"]),
                    status=BookingStatus.CANCELLED
                    if cancelled
                    else rng.choice([BookingStatus.BOOKED, BookingStatus.ATTENDED]),
                    active_key=None if cancelled else f"{slot_id}:{resident_id}:{i}",
                    booked_by=BookedBy.RESIDENT,
                )
            )
        await Booking.bulk_create(rows)


async def login(client: httpx2.AsyncClient) -> None:
    page = await client.get("/admin/login")
    token = CSRF.search(page.text)
    assert token, "no login form"
    response = await client.post(
        "/admin/login", data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD}
    )
    assert response.status_code == 303, response.text[:300]


async def timed(label: str, call: Callable[[], Awaitable[httpx2.Response]], n: int) -> float:
    for _ in range(3):  # warm-up
        assert (await call()).status_code == 200
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = await call()
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    times.sort()
    p50 = statistics.median(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"  {label:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    return p50


async def export_through_asgi(app: Any, cookie: str) -> tuple[int, int, float]:
    """GET the CSV straight through the ASGI app, dropping chunks as they arrive (an httpx
    ASGI transport would buffer the whole body and measure itself, not the app)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/admin/consult/bookings.csv",
        "raw_path": b"/admin/consult/bookings.csv",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    sent = {"bytes": 0, "lines": 0, "status": 0}

    finished = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # the client stays connected until the body is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            sent["bytes"] += len(body)
            sent["lines"] += body.count(b"\r\n")
            if not message.get("more_body", False):
                finished.set()

    t0 = time.perf_counter()
    await app(scope, receive, send)
    elapsed = time.perf_counter() - t0
    assert sent["status"] == 200, sent
    return sent["lines"] - 1, sent["bytes"], elapsed  # minus the header line


async def fresh_postgres(url: str) -> tuple[str, Callable[[], Awaitable[None]]]:
    import asyncpg

    name = f"shima_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    return url.rsplit("/", 1)[0] + "/" + name, drop


async def main(args: argparse.Namespace) -> None:
    drop: Callable[[], Awaitable[None]] | None = None
    tmp = tempfile.TemporaryDirectory(prefix="shima-bench-")
    if args.database_url:
        url, drop = await fresh_postgres(args.database_url)
        backend = "PostgreSQL"
    else:
        url, backend = f"sqlite://{Path(tmp.name) / 'bench.sqlite3'}", "SQLite"
    try:
        await init_db(url)
        await Tortoise.generate_schemas()
        conn = Tortoise.get_connection("default")
        if args.slot_index:
            await conn.execute_script(
                'CREATE INDEX "idx_bench_booking_slot" '
                'ON "consultation_bookings" ("slot_id", "status")'
            )
        t0 = time.perf_counter()
        await fill(args.bookings)
        await conn.execute_script("ANALYZE")  # planner statistics, as after a day in production
        print(
            f"{backend}: {await Booking.all().count():,} bookings, "
            f"{await ConsultationSlot.all().count():,} slots, "
            f"{await Resident.all().count():,} residents  (filled in {time.perf_counter() - t0:.1f} s)"  # noqa: E501
            + ("  [+ index on consultation_bookings (slot_id, status)]" if args.slot_index else "")
        )
        await create_staff(EMAIL, PASSWORD, display_name="ベンチ")
        settings = Settings(
            database_url=url,
            simulator=False,
            channel_secret="bench",
            channel_access_token="bench",
            line_api_base_url="http://127.0.0.1:9",
            run_worker=False,
            secret_key="bench-secret",
            session_idle_minutes=600,
        )
        app = create_app(settings, init_db=False)
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await login(client)
            n = args.requests
            path = "/admin/consult/bookings"
            print(f"\nBookings list, {n} requests each (through the ASGI app, signed in):")
            p50s = [
                await timed("page 1", lambda: client.get(path), n),
                await timed(
                    "page 1000 (rows 49,951–50,000)",
                    lambda: client.get(path, params={"page": "1000"}),
                    n,
                ),
                await timed(
                    "filtered: 1 month + 予約中 + topic",
                    lambda: client.get(
                        path,
                        params={
                            "from": "2026-01-01",
                            "to": "2026-01-31",
                            "status": "booked",
                            "topic": "start",
                        },
                    ),
                    n,
                ),
                await timed(
                    "filtered: counsellor 森, page 20",
                    lambda: client.get(path, params={"counsellor": "森", "page": "20"}),
                    n,
                ),
                await timed(
                    "search: 利用者名 '利用者0123'",
                    lambda: client.get(path, params={"q": "利用者0123"}),
                    n,
                ),
            ]
            cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
        print(f"  worst p50: {max(p50s):.1f} ms (target < 150 ms)")

        print("\nCSV export of every booking (streamed, chunks dropped as they arrive):")
        rss_before = vm_rss_kib()
        can_reset = reset_hwm()
        hwm_before = vm_hwm_kib()
        rows, size, elapsed = await export_through_asgi(app, cookie)
        growth = (vm_hwm_kib() - hwm_before) / 1024
        print(
            f"  {rows:,} rows, {size / 1e6:.1f} MB in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s"  # noqa: E501
        )
        if can_reset:
            print(
                f"  peak RSS growth (VmHWM): {growth:.1f} MB  (RSS before {rss_before / 1024:.0f} MB)"  # noqa: E501
            )
        tracemalloc.start()
        rows2, _, elapsed2 = await export_through_asgi(app, cookie)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"  Python heap peak during export (tracemalloc, second run): {peak / 1e6:.1f} MB "
            f"(target < 50 MB; {rows2 / elapsed2:,.0f} rows/s with tracing on)"
        )
    finally:
        await Tortoise.close_connections()
        if drop is not None:
            await drop()
        tmp.cleanup()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL admin URL (default SQLite)")
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--slot-index",
        action="store_true",
        help="also index consultation_bookings (slot_id, status): the index proposed for models",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
