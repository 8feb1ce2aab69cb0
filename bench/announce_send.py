"""お知らせ配信 to 10,000 followers (`make bench`; issue 12's figures): the time to hand every
message to the fake LINE platform, and the sending process's peak memory growth.

Each run gets a fresh migrated database (a SQLite file, or a PostgreSQL database created beside
`--database-url` and dropped afterwards) holding `--residents` following residents (default
10,000), and the fake LINE platform (line_app.fake_line.FakeLinePlatform) in a process of its
own under uvicorn on 127.0.0.1 — as bench/webhook.py serves it — with a monthly quota, plus a
read-only `/_stats` (what it received: deliveries per user, multicast and push requests and
their statuses, the time of the last one).

The announcement is made as staff make it (shima.domain.announcements: a draft to everyone,
request_send — over the approval size, so an admin approves it — SCHEDULED now). Then this
process sends it exactly as the worker's announcements loop does (line_app.announcements.
run_once, rounds until nothing is left) against the fake over HTTP:

- start: the quota read from LINE, the recipients and their batches fixed (one transaction);
- sent: every batch handed over (multicast, 500 a request) and recorded; the clock stops
  when the last batch is SENT — checked against the fake: everyone got it exactly once;
- memory: the process's peak RSS growth during the send (VmHWM, reset through
  /proc/self/clear_refs just before, against VmRSS then), and in a second send of another
  announcement with tracemalloc on (slower, so not timed) the peak of Python's allocations.

    .venv/bin/python bench/announce_send.py [--residents 10000]
    .venv/bin/python bench/announce_send.py --database-url postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/announce_send.py --personalised   # {名前} in the text: one push each
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from webhook import (
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    HOST,
    ROOT,
    SECRET_KEY,
    Databases,
    child_env,
    fake_stats,
    free_port,
    migrate,
    run_main,
    secs,
    started,
    wait_ready,
)

QUOTA = 10_000_000  # the fake's monthly limit: read by the sender, never reached here
STAFF = "bench@example.jp"


# ---- the fake LINE platform's process ------------------------------------------------------


def serve_fake(port: int, quota: int) -> None:
    """The fake platform with a quota, and /_stats: what it received so far."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from line_app.fake_line import FakeLinePlatform

    fake = FakeLinePlatform(access_token=ACCESS_TOKEN)
    fake.base_url = f"http://{HOST}:{port}"
    fake.quota_limit = quota

    async def stats(request: Request) -> JSONResponse:
        sends = [c for c in fake.calls if c.path.endswith(("/multicast", "/push"))]
        per_user = Counter(d.user_id for d in fake.deliveries)
        return JSONResponse(
            {
                "deliveries": len(fake.deliveries),
                "users": len(per_user),
                "most_per_user": max(per_user.values(), default=0),
                "requests": Counter(c.path.rsplit("/", 1)[-1] for c in sends),
                "statuses": Counter(str(c.status) for c in sends),
                "last_at": max((d.at for d in fake.deliveries), default=0.0),
                "quota_used": fake.quota_used,
            }
        )

    app = Starlette(routes=[Route("/_stats", stats), Mount("/", app=fake)])
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False, lifespan="off")


# ---- this process: the database, the announcement, the send --------------------------------


def settings_for(database_url: str, fake_url: str) -> Any:
    from shima.settings import Settings

    return Settings(
        database_url=database_url,
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        simulator=False,
        line_api_base_url=fake_url,
        secret_key=SECRET_KEY,
        run_worker=False,
        allowed_hosts=("shima-line.example.jp",),
    )


async def add_residents(count: int) -> None:
    from models.residents import Resident
    from shima.timeutil import now

    at = now()
    for start in range(0, count, 2_000):
        await Resident.bulk_create(
            [
                Resident(
                    line_user_id=f"U{n:032x}",
                    display_name=f"住民{n}",
                    followed_at=at - timedelta(days=n % 400),
                    created_at=at,
                    updated_at=at,
                )
                for n in range(start + 1, min(start + 2_000, count) + 1)
            ]
        )


async def scheduled_announcement(settings: Any, personalised: bool) -> int:
    """A draft to everyone, asked to be sent now and approved (over the approval size)."""
    from models.announcements import Announcement, AnnouncementStatus
    from shima.domain import announcements as rules

    body = "{名前}さん、" if personalised else ""
    a = await Announcement.create(
        title="12月の寺子屋のご案内",
        body=body + "12月の寺子屋は託児つきです。お申し込みはメニューの「寺子屋・交流会」から。",
        card_title="12月の寺子屋",
        card_text="12月13日(土) 10:00〜12:00 AiAi ひろば",
        card_label="詳しく見る",
        card_url="https://shima-line.example.jp/terakoya",
        audience={},
        created_by=STAFF,
    )
    a = await rules.request_send(a.id, by=STAFF, send_at=None, settings=settings)
    if a.status == AnnouncementStatus.AWAITING_APPROVAL:
        a = await rules.approve(a.id, by=STAFF, by_role_admin=True)
    assert a.status == AnnouncementStatus.SCHEDULED, a.status
    return int(a.id)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Send:
    started_s: float = 0.0  # the quota read, recipients and batches fixed
    handed_s: float = 0.0  # first round → the last batch SENT
    rounds: int = 0
    cpu_s: float = 0.0
    rss_growth_mb: float | None = None  # VmHWM − VmRSS before
    traced_peak_mb: float | None = None  # tracemalloc's peak
    delivered: int = 0
    status: str = ""


async def send(a_id: int, settings: Any, line: Any, traced: bool) -> Send:
    """Send the announcement as the worker's loop does, measuring this process."""
    from line_app import announcements
    from models.announcements import Announcement

    result = Send()
    gc.collect()
    rss_before = _status_kb("VmRSS")
    peak_ok = reset_peak()
    if traced:
        tracemalloc.start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    assert await announcements.start_due(line) == 1
    result.started_s = time.perf_counter() - t0
    while await announcements.run_once(line, settings, "bench-sender"):
        result.rounds += 1
    result.handed_s = time.perf_counter() - t0
    result.cpu_s = time.process_time() - cpu0
    if traced:
        result.traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    elif peak_ok:
        result.rss_growth_mb = (_status_kb("VmHWM") - rss_before) / 1024
    a = await Announcement.get(id=a_id)
    result.delivered, result.status = a.delivered, a.status.value
    return result


async def run(args: argparse.Namespace, work: Path) -> int:
    from tortoise import Tortoise

    from line_app.client import LineClient
    from shima.db import init as init_db

    dbs = Databases(args.database_url or None)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    fake_port = free_port()
    fake_cmd = [sys.executable, __file__, "--serve-fake", str(fake_port), "--quota", str(QUOTA)]
    fake_log = work / "fake.log"
    try:
        with started(fake_cmd, child_env(), ROOT, fake_log) as fake:
            await wait_ready(fake_port, "/_stats", fake, fake_log)
            url = await dbs.fresh(work)
            await migrate(url, work)
            settings = settings_for(url, f"http://{HOST}:{fake_port}")
            await init_db(url)
            line = LineClient(settings)
            try:
                await add_residents(args.residents)
                timed = await send(
                    await scheduled_announcement(settings, args.personalised), settings, line, False
                )
                after_timed = await fake_stats(fake_port, "/_stats")
                traced = await send(
                    await scheduled_announcement(settings, args.personalised), settings, line, True
                )
                after_both = await fake_stats(fake_port, "/_stats")
            finally:
                await line.close()
                await Tortoise.close_connections()
    finally:
        await dbs.drop_all()
    return report(args, backend, timed, traced, after_timed, after_both)


def report(
    args: argparse.Namespace,
    backend: str,
    timed: Send,
    traced: Send,
    after_timed: dict[str, Any],
    after_both: dict[str, Any],
) -> int:
    n = args.residents
    how = "push each ({名前})" if args.personalised else "multicast, 500 a request"
    print()
    print(
        f"お知らせ配信 — {n:,} following residents, text + card (2 messages each), {how}, {backend}"
    )
    print(f"  start (quota read, recipients and batches fixed)  {secs(timed.started_s)}")
    print(
        f"  everything handed to LINE (from the start)         {secs(timed.handed_s)}"
        f"  ({n / timed.handed_s:,.0f} residents/s, {timed.rounds} worker rounds, "
        f"CPU {timed.cpu_s:.2f} s)"
    )
    growth = "n/a" if timed.rss_growth_mb is None else f"{timed.rss_growth_mb:,.1f} MB"
    print(f"  peak RSS growth of the sending process             {growth}")
    print(
        f"  peak of Python allocations (tracemalloc, 2nd send) {traced.traced_peak_mb:,.1f} MB"
        f"  (that send took {secs(traced.handed_s)} traced)"
    )
    requests = dict(after_timed["requests"])
    print(
        f"  at the fake: {after_timed['deliveries']:,} deliveries to {after_timed['users']:,} "
        f"users (at most {after_timed['most_per_user']} each), requests {requests}, "
        f"statuses {dict(after_timed['statuses'])}, quota used {after_timed['quota_used']:,}"
    )
    ok = (
        timed.status == traced.status == "sent"
        and timed.delivered == traced.delivered == n
        and after_timed["deliveries"] == after_timed["users"] == n
        and after_timed["most_per_user"] == 1
        and after_both["deliveries"] == 2 * n
        and after_both["most_per_user"] == 2
        and set(after_both["statuses"]) == {"200"}
    )
    print(
        "  check: everyone got each announcement exactly once"
        if ok
        else "  CHECK FAILED: " + json.dumps([timed.__dict__, traced.__dict__, after_both])
    )
    return 0 if ok else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres: a fresh "
        "database is created beside this one and dropped afterwards (default: SQLite)",
    )
    parser.add_argument(
        "--personalised", action="store_true", help="{名前} in the text: one push per resident"
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs and SQLite file")
    parser.add_argument("--serve-fake", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--quota", type=int, default=QUOTA, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    if args.residents < 1:
        parser.error("--residents must be positive")
    args.rounds = 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_fake:
        with contextlib.suppress(KeyboardInterrupt):
            serve_fake(args.serve_fake, args.quota)
        return 0
    headline = "Benchmarking お知らせ配信 in {work}…"
    return run_main(args, "shima-announce-", headline, run)


if __name__ == "__main__":
    sys.exit(main())
