"""The 交流会 rush (`make bench`): 500 residents sign up for one 30-seat 交流会 within 5 seconds,
through the real webhook, against the fake LINE platform — as bench/webhook.py starts them.

Each run gets a fresh migrated database holding one published 交流会 session (30 seats), then
starts the fake LINE platform (bench/_fake_platform.py) and `shima serve` exactly as
bench/webhook.py does (real channel credentials, `LINE_API_BASE_URL` at the fake; with
`--web N`, N web processes plus one `shima worker` on PostgreSQL). A warm-up of one event per
connection is answered before the clock starts.

Then every resident taps through the real flow's buttons, one signed postback per request
(see line_app/flows/course.py):

    申し込む  flow=course&step=apply&s=<session>&k=<the resident's attempt key>
    託児 不要 flow=course&step=care&s=…&k=…&n=0
    確定      flow=course&step=confirm&s=…&k=…&n=0

`--tap-gap` seconds apart, the residents' first taps spread evenly so that all 500 確定 arrive
within `--window` seconds (resident i's 確定 arrives before resident i+1's). Measured: the
time from the first tap until every tap has been answered (a reply with its token, or a
push), then, from the database: how many registered (must be exactly the seats) and how many
waitlisted (the rest), whether the seats went to the first 確定 to arrive and whether the
waitlist order (shima.domain.course.waitlist) is the order the 確定 arrived in (the order the
webhook stored them), and that no request got anything but 200.

    .venv/bin/python bench/programme_rush.py [--residents 500 --seats 30 --window 5]
    .venv/bin/python bench/programme_rush.py --database-url postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/programme_rush.py --web 2 \\
        --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

from _loadgen import (
    HttpError,
    postback_event_body,
    read_response,
    signed_requests,
    text_event_body,
    user_id,
)
from webhook import (
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    DESTINATION,
    HOST,
    ROOT,
    SECRET_KEY,
    Databases,
    child_env,
    cpu_seconds,
    fake_platform_command,
    fake_stats,
    free_port,
    migrate,
    ms,
    percentile,
    run_main,
    secs,
    start_servers,
    started,
    tail,
    wait_ready,
)

ANSWER_ALL_TARGET = 10.0  # seconds, on SQLite (issue #9)


# ---- the residents' taps ------------------------------------------------------------------


def taps(session_id: int, key: str) -> list[str]:
    """申し込む → 託児 不要 → 確定, as the flow's buttons carry them."""
    base = f"flow=course&step={{}}&s={session_id}&k={key}"
    return [base.format("apply"), base.format("care") + "&n=0", base.format("confirm") + "&n=0"]


STEPS = ("apply", "care", "confirm")


@dataclass(order=True)
class Tap:
    at: float  # seconds after the first tap
    resident: int
    step: int  # index in STEPS
    request: bytes = field(compare=False, default=b"")


@dataclass
class Sent:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    late: list[float] = field(default_factory=list)  # how late each tap went out (s)
    latencies: list[float] = field(default_factory=list)  # ack latency of each 200 (s)
    confirm_acked: dict[int, float] = field(default_factory=dict)  # resident → ack time
    started_wall: float = 0.0
    elapsed: float = 0.0
    cpu_seconds: float = 0.0


async def send_on_time(port: int, plan: list[Tap], connections: int) -> Sent:
    """Send each tap at its time (relative to the start) over `connections` keep-alive
    connections; a connection takes the next tap in time order as soon as it is free."""
    sent = Sent()
    streams = await asyncio.gather(
        *(asyncio.open_connection(HOST, port) for _ in range(connections))
    )
    queue = iter(sorted(plan))
    perf = time.perf_counter
    t0 = 0.0

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for tap in queue:  # shared: no tap is sent twice
            wait = t0 + tap.at - perf()
            if wait > 0:
                await asyncio.sleep(wait)
            sent.late.append(max(0.0, perf() - t0 - tap.at))
            start = perf()
            try:
                writer.write(tap.request)
                status, keep, _ = await asyncio.wait_for(read_response(reader), 30)
            except (OSError, asyncio.IncompleteReadError, HttpError, TimeoutError) as exc:
                sent.errors[type(exc).__name__] += 1
                status, keep = 0, False
            else:
                sent.statuses[status] += 1
                if status == 200:
                    sent.latencies.append(perf() - start)
                    if STEPS[tap.step] == "confirm":
                        sent.confirm_acked[tap.resident] = perf() - t0
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
        writer.close()

    cpu0 = time.process_time()
    sent.started_wall = time.time()
    t0 = perf()
    await asyncio.gather(*(run(r, w) for r, w in streams))
    sent.elapsed = perf() - t0
    sent.cpu_seconds = time.process_time() - cpu0
    return sent


# ---- the database: the session before, the registrations after ---------------------------


async def create_session(database_url: str, seats: int) -> int:
    """One published 交流会 session three days ahead (15:00 JST), sign-up open."""
    from tortoise import Tortoise

    from models.course import Programme, ProgrammeKind, SessionStatus
    from shima.db import init as init_db
    from shima.domain import course as rules
    from shima.timeutil import jst_datetime, today_jst

    await init_db(database_url)
    try:
        programme = await Programme.create(
            kind=ProgrammeKind.MEETUP,
            title="島フリーランス交流会",
            instructor="WorkStyle Lab Inno",
            fee=500,
        )
        day = today_jst() + timedelta(days=3)
        starts_at = jst_datetime(day, clock_time(15))
        spec = rules.SessionSpec(
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            seats=seats,
            childcare_places=5,
            deadline=jst_datetime(day - timedelta(days=1), clock_time(17)),
            status=SessionStatus.PUBLISHED,
        )
        session = await rules.create_session(programme, spec)
        return int(session.id)
    finally:
        await Tortoise.close_connections()


@dataclass
class Outcome:
    registered: list[str]  # line user ids, by registered_at
    waitlist: list[str]  # line user ids, in the waitlist's order
    other: Counter[str]  # any other status
    taken: int
    waiting: int
    arrivals: list[str]  # line user ids of the 確定 taps, in the order the webhook stored them


async def read_outcome(database_url: str, session_id: int) -> Outcome:
    from tortoise import Tortoise

    from models.course import ProgrammeSession, Registration, RegistrationStatus
    from models.inbox import InboxEvent
    from shima.db import init as init_db
    from shima.domain import course as rules

    await init_db(database_url)
    try:
        session = await ProgrammeSession.get(id=session_id)
        rows = await Registration.filter(session_id=session_id).prefetch_related("resident")
        registered = [
            r
            for r in sorted(rows, key=lambda r: (r.registered_at or r.created_at, r.id))
            if r.status == RegistrationStatus.REGISTERED
        ]
        waitlist = await rules.waitlist(session_id)
        resident_of = {r.id: r.resident.line_user_id for r in rows if r.resident is not None}
        other = Counter(
            str(r.status)
            for r in rows
            if r.status not in (RegistrationStatus.REGISTERED, RegistrationStatus.WAITING)
        )
        arrivals = []
        for event in await InboxEvent.filter(event_type="postback").order_by("id"):
            data = str((event.payload.get("postback") or {}).get("data", ""))
            if "step=confirm" in data:
                arrivals.append(event.line_user_id)
        return Outcome(
            registered=[resident_of[r.id] for r in registered],
            waitlist=[resident_of[r.id] for r in waitlist],
            other=other,
            taken=session.taken,
            waiting=session.waiting,
            arrivals=arrivals,
        )
    finally:
        await Tortoise.close_connections()


# ---- one run ------------------------------------------------------------------------------


@dataclass
class Run:
    round: int
    residents: int
    seats: int
    sent: Sent
    outcome: Outcome
    taps: int = 0  # the taps timed (all, or with --at-summary the 確定 only)
    answered: int = 0
    replies: int = 0
    pushes: int = 0
    failed_line_calls: int = 0
    answered_all_s: float | None = None  # first tap → last answer (None: not all)
    confirms_answered_s: float | None = None  # first tap → last 確定 answered
    server_cpu_s: float = float("nan")

    @property
    def seats_to_first(self) -> bool:
        o = self.outcome
        return sorted(o.registered) == sorted(o.arrivals[: self.seats])

    @property
    def waitlist_in_arrival_order(self) -> bool:
        o = self.outcome
        return o.waitlist == o.arrivals[self.seats :]

    @property
    def counts_right(self) -> bool:
        o = self.outcome
        rest = self.residents - self.seats
        return (
            len(o.registered) == o.taken == self.seats
            and len(o.waitlist) == o.waiting == rest
            and not o.other
            and len(o.arrivals) == self.residents
        )

    @property
    def all_acked(self) -> bool:
        return self.sent.statuses.get(200, 0) == self.taps and not self.sent.errors

    def ok(self, target: float | None) -> bool:
        fast = self.answered_all_s is not None and (target is None or self.answered_all_s < target)
        return (
            fast
            and self.counts_right
            and self.seats_to_first
            and self.waitlist_in_arrival_order
            and self.all_acked
        )


def build_plan(
    session_id: int, users: list[str], tokens: dict[str, list[str]], args: argparse.Namespace
) -> list[Tap]:
    """Every tap with its time and body (signed later, per web process). With `--at-summary`
    the 申し込む and 託児 taps are at 0 (sent before the clock) and the 確定 spread over the
    window."""
    n = len(users)
    span = args.window if args.at_summary else max(args.window - 2 * args.tap_gap, 0.0)
    firsts = [span * i / max(n - 1, 1) for i in range(n)]
    steps_tokens = iter(tokens["steps"])
    confirm_tokens = iter(tokens["confirm"])
    plan: list[Tap] = []
    for i, (user, first) in enumerate(zip(users, firsts, strict=True)):
        key = secrets.token_urlsafe(9)
        for step, data in enumerate(taps(session_id, key)):
            confirm = STEPS[step] == "confirm"
            token = next(confirm_tokens) if confirm else next(steps_tokens)
            if args.at_summary:
                at = first if confirm else 0.0
            else:
                at = first + step * args.tap_gap
            plan.append(Tap(at, i, step, postback_event_body(user, token, data, DESTINATION)))
    return plan


async def send_spread(ports: list[int], plan: list[Tap], connections: int) -> Sent:
    """Each resident's taps go to one web process (as a sticky load balancer would)."""
    results = await asyncio.gather(
        *(
            send_on_time(
                port,
                [t for t in plan if t.resident % len(ports) == n],
                max(1, connections // len(ports)),
            )
            for n, port in enumerate(ports)
        )
    )
    return merge(list(results))


async def run_once(round_no: int, args: argparse.Namespace, work: Path, dbs: Databases) -> Run:
    run_dir = work / f"round{round_no}"
    run_dir.mkdir()
    users = [user_id(2_000_000 + i) for i in range(args.residents)]
    warm_users = [user_id(3_000_000 + i) for i in range(args.connections)]
    # One reply token per tap: the 申し込む and 託児 taps ("steps"), the 確定 taps ("confirm").
    plan = {
        "warmup": warm_users,
        "steps": [u for u in users for _ in range(len(STEPS) - 1)],
        "confirm": users,
    }
    (run_dir / "plan.json").write_text(json.dumps(plan))

    database_url = await dbs.fresh(run_dir)
    await migrate(database_url, run_dir)
    session_id = await create_session(database_url, args.seats)

    fake_port = free_port()
    tokens_file = run_dir / "tokens.json"
    fake_cmd = fake_platform_command(fake_port, run_dir, tokens_file)
    fake_log = run_dir / "fake.log"
    with started(fake_cmd, child_env(), ROOT, fake_log) as fake:
        await wait_ready(fake_port, "/_stats", fake, fake_log)
        tokens: dict[str, list[str]] = json.loads(tokens_file.read_text())
        env = child_env(
            LINE_CHANNEL_SECRET=CHANNEL_SECRET,
            LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
            SECRET_KEY=SECRET_KEY,
            SHIMA_ALLOWED_HOSTS="127.0.0.1,localhost",
            LINE_API_BASE_URL=f"http://{HOST}:{fake_port}",
            DATABASE_URL=database_url,
        )
        env.update(item.split("=", 1) for item in args.project_env)
        scaled = args.web is not None
        ports = [free_port() for _ in range(args.web if scaled else 1)]
        with contextlib.ExitStack() as stack:
            servers, server_log = await start_servers(stack, "project", ports, env, run_dir, scaled)
            if args.profile_pid_file:
                Path(args.profile_pid_file).write_text(str(servers[-1].pid))

            # Warm-up: one text per connection, answered before the clock starts.
            warm_bodies = [
                text_event_body(u, t, "メニュー", DESTINATION)
                for u, t in zip(warm_users, tokens["warmup"], strict=True)
            ]
            per_port = len(warm_bodies) // len(ports) + 1
            for n, port in enumerate(ports):
                chunk = warm_bodies[n * per_port : (n + 1) * per_port]
                warm = await send_on_time(
                    port,
                    [
                        Tap(0.0, i, 0, r)
                        for i, r in enumerate(signed_requests(HOST, port, chunk, CHANNEL_SECRET))
                    ],
                    max(1, min(len(chunk), args.connections // len(ports))),
                )
                if warm.statuses.get(200, 0) != len(chunk):
                    raise RuntimeError(
                        f"warm-up not acknowledged ({dict(warm.statuses)}, "
                        f"{dict(warm.errors)}):\n{tail(server_log)}"
                    )
            stats = await fake_stats(
                fake_port, f"/_wait?kind=warmup&count={len(warm_bodies)}&timeout=30", 40
            )
            if stats["warmup"]["answered"] < len(warm_bodies):
                raise RuntimeError(f"warm-up not answered: {stats}\n{tail(server_log)}")

            # The rush. Bodies carry `timestamp` = now, so they are built just before it.
            plan = build_plan(session_id, users, tokens, args)
            for tap in plan:
                port = ports[tap.resident % len(ports)]
                tap.request = signed_requests(HOST, port, [tap.request], CHANNEL_SECRET)[0]
            if args.at_summary:  # 申し込む and 託児 不要 first, answered before the clock
                before = [t for t in plan if STEPS[t.step] != "confirm"]
                plan = [t for t in plan if STEPS[t.step] == "confirm"]
                ready = await send_spread(ports, before, args.connections)
                stats = await fake_stats(
                    fake_port, f"/_wait?kind=steps&count={len(before)}&timeout=120", 130
                )
                if ready.statuses.get(200, 0) != len(before) or (
                    stats["steps"]["answered"] < len(before)
                ):
                    raise RuntimeError(
                        f"the taps before 確定 were not all answered ({dict(ready.statuses)}, "
                        f"{stats['steps']}):\n{tail(server_log)}"
                    )
            cpu0 = sum(cpu_seconds(p.pid) for p in servers)
            sent = await send_spread(ports, plan, args.connections)
            left = max(1.0, args.answer_timeout - (time.time() - sent.started_wall))
            stats = await fake_stats(
                fake_port, f"/_wait?kind=confirm&count={len(users)}&timeout={left:.1f}", left + 10
            )
            left = max(1.0, args.answer_timeout - (time.time() - sent.started_wall))
            stats = await fake_stats(
                fake_port,
                f"/_wait?kind=steps&count={len(users) * (len(STEPS) - 1)}&timeout={left:.1f}",
                left + 10,
            )
            server_cpu = sum(cpu_seconds(p.pid) for p in servers) - cpu0

    outcome = await read_outcome(database_url, session_id)
    run = Run(round_no, len(users), args.seats, sent, outcome, server_cpu_s=server_cpu)
    run.taps = len(plan)
    timed = [stats["confirm"]] if args.at_summary else [stats["steps"], stats["confirm"]]
    run.answered = sum(int(k["answered"]) for k in timed)
    run.replies = sum(int(k["replies"]) for k in timed)
    run.pushes = sum(int(k["pushes"]) for k in timed)
    run.failed_line_calls = int(stats["failed_calls"])
    if int(stats["confirm"]["answered"]) >= len(users):
        run.confirms_answered_s = float(stats["confirm"]["last_at"]) - sent.started_wall
    if run.answered >= run.taps:
        run.answered_all_s = max(float(k["last_at"]) for k in timed) - sent.started_wall
    return run


def merge(results: list[Sent]) -> Sent:
    if len(results) == 1:
        return results[0]
    total = Sent(started_wall=min(r.started_wall for r in results))
    for r in results:
        total.statuses += r.statuses
        total.errors += r.errors
        total.late += r.late
        total.latencies += r.latencies
        total.confirm_acked |= r.confirm_acked
        total.elapsed = max(total.elapsed, r.elapsed)
        total.cpu_seconds += r.cpu_seconds
    return total


# ---- reporting ----------------------------------------------------------------------------


def yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def describe(run: Run) -> str:
    s, o = run.sent, run.outcome
    problems = {str(k): v for k, v in s.statuses.items() if k != 200} | dict(s.errors)
    what = "確定, at the summary" if run.taps == run.residents else "申し込む・不要・確定"
    lines = [
        f"  round {run.round}: {run.taps:,} taps ({run.residents} residents × {what})"
        f" sent over {s.elapsed:.2f} s "
        f"(late by at most {ms(max(s.late, default=0.0))}), acks {s.statuses.get(200, 0)}/"
        f"{run.taps}, ack p50 {ms(percentile(s.latencies, 50))} "
        f"p99 {ms(percentile(s.latencies, 99))}" + (f"  NOT ACKED: {problems}" if problems else ""),
        f"    answered {run.answered}/{run.taps} (replies {run.replies}, pushes {run.pushes})"
        f" — every tap answered {secs(run.answered_all_s)} after the first, every 確定 "
        f"{secs(run.confirms_answered_s)}; server CPU {run.server_cpu_s:.2f} s"
        + (f"; failed LINE calls: {run.failed_line_calls}" if run.failed_line_calls else ""),
        f"    registered {len(o.registered)} (session.taken {o.taken}), waitlisted "
        f"{len(o.waitlist)} (session.waiting {o.waiting})"
        + (f", other: {dict(o.other)}" if o.other else "")
        + f"; 確定 stored {len(o.arrivals)}",
        f"    seats went to the first {run.seats} 確定 to arrive: {yes(run.seats_to_first)}; "
        f"waitlist order = arrival order: {yes(run.waitlist_in_arrival_order)}",
    ]
    if not run.waitlist_in_arrival_order and o.waitlist:
        expected = o.arrivals[run.seats :]
        first = next(
            (i for i, (a, b) in enumerate(zip(o.waitlist, expected, strict=False)) if a != b),
            min(len(o.waitlist), len(expected)),
        )
        lines.append(f"    (the waitlist first differs from the arrivals at place {first + 1})")
    return "\n".join(lines)


def report(runs: list[Run], args: argparse.Namespace, backend: str) -> bool:
    target = ANSWER_ALL_TARGET if backend == "SQLite" else None
    answered = [r.answered_all_s if r.answered_all_s is not None else math.inf for r in runs]
    med = statistics.median(answered)
    print()
    print(
        f"交流会 rush — {args.residents} residents, {args.seats} seats, every 確定 within "
        f"{args.window:g} s "
        + (
            "(申し込む and 託児 不要 answered before the clock)"
            if args.at_summary
            else f"(申し込む → 不要 → 確定, {args.tap_gap:g} s apart)"
        )
        + f", {args.connections} connections, "
        f"{backend}{'' if args.web is None else f', shima serve ×{args.web} + shima worker'}, "
        f"{os.cpu_count()} CPUs, {len(runs)} round{'s' if len(runs) > 1 else ''}"
    )
    checks = [
        (
            ("every 確定" if args.at_summary else "every tap")
            + " answered"
            + (f" within {ANSWER_ALL_TARGET:.0f} s" if target else "")
            + " (median)",
            "not all" if med == math.inf else secs(med),
            all(r.answered_all_s is not None for r in runs) and (target is None or med < target),
        ),
        (
            f"exactly {args.seats} registered, {args.residents - args.seats} waitlisted",
            ", ".join(f"{len(r.outcome.registered)}/{len(r.outcome.waitlist)}" for r in runs),
            all(r.counts_right for r in runs),
        ),
        (
            f"the seats went to the first {args.seats} to confirm",
            ", ".join(yes(r.seats_to_first) for r in runs),
            all(r.seats_to_first for r in runs),
        ),
        (
            "waitlist in arrival order",
            ", ".join(yes(r.waitlist_in_arrival_order) for r in runs),
            all(r.waitlist_in_arrival_order for r in runs),
        ),
        (
            "every request acknowledged with 200",
            ", ".join(f"{r.sent.statuses.get(200, 0)}/{r.taps}" for r in runs),
            all(r.all_acked for r in runs),
        ),
    ]
    ok = True
    for name, figures, passed in checks:
        ok = ok and passed
        print(f"  {'PASS' if passed else 'MISS'}  {name:<48}{figures}")
    return ok


# ---- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--seats", type=int, default=30)
    parser.add_argument(
        "--window", type=float, default=5.0, help="seconds in which every 確定 arrives"
    )
    parser.add_argument(
        "--tap-gap", type=float, default=0.5, help="seconds between one resident's taps"
    )
    parser.add_argument(
        "--at-summary",
        action="store_true",
        help="the residents tap 申し込む and 託児 不要 before the clock (answered); only the "
        "確定 taps are timed, spread over --window",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server to run on, e.g. postgres://postgres@127.0.0.1:5432/postgres: "
        "each round gets a fresh database created beside this one and dropped afterwards "
        "(default: a fresh SQLite file)",
    )
    parser.add_argument(
        "--web",
        type=int,
        default=None,
        metavar="N",
        help="N `shima serve` web processes with SHIMA_RUN_WORKER=false and one `shima worker` "
        "(PostgreSQL only); a resident's taps all go to one web process",
    )
    parser.add_argument("--answer-timeout", type=float, default=60.0)
    parser.add_argument(
        "--project-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the project's processes",
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs and SQLite files")
    parser.add_argument(
        "--profile-pid-file",
        default="",
        help="write the answering process's PID here once it is up (for py-spy): the "
        "server, or with --web the worker",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    if args.web is not None and not args.database_url:
        parser.error("--web needs --database-url: several processes share one PostgreSQL")
    if args.web is not None and not 1 <= args.web <= args.connections:
        parser.error("--web wants 1 to --connections web processes")
    if not 1 <= args.seats <= args.residents:
        parser.error("--seats must be between 1 and --residents")
    if min(args.connections, args.rounds) < 1 or args.window <= 0 or args.tap_gap < 0:
        parser.error("--connections and --rounds must be positive, --window too")
    if 2 * args.tap_gap >= args.window and not args.at_summary:
        parser.error("--window must be longer than two --tap-gap")
    for item in args.project_env:
        if "=" not in item:
            parser.error(f"--project-env wants NAME=VALUE, not {item!r}")
    return args


async def bench(args: argparse.Namespace, work: Path) -> int:
    dbs = Databases(args.database_url or None)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    runs: list[Run] = []
    try:
        for round_no in range(1, args.rounds + 1):
            run = await run_once(round_no, args, work, dbs)
            runs.append(run)
            print(describe(run), flush=True)
    finally:
        await dbs.drop_all()
    ok = report(runs, args, backend)
    return 1 if args.strict and not ok else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(args, "shima-rush-", "交流会 rush in {work} ({rounds} round(s))…", bench)


if __name__ == "__main__":
    sys.exit(main())
