"""Webhook benchmark (`make bench`): the real server against a fake LINE platform, compared in
the same run with a bare signature-checking endpoint and a minimal line-bot-sdk echo bot.

Each run starts its own processes on 127.0.0.1:
- the fake LINE platform (bench/_fake_platform.py: `FakeLinePlatform` under uvicorn), which
  issues one reply token per event and counts answers;
- the system under test: `shima serve --host 127.0.0.1 --port P` exactly as the Procfile starts
  it (real channel credentials, so not the simulator; `LINE_API_BASE_URL` at the fake; a fresh
  migrated database), or `uvicorn bench/bare_endpoint.py`, or `uvicorn bench/echo_bot.py`.
A warm-up of one event per connection goes first; then the flood: one signed text-message event
per request, from `--users` users, over `--connections` keep-alive connections, sent by a plain
asyncio-streams load generator with every request built before the clock starts.

Measured: acknowledgements per second (events / time from the first request to the last 200),
ack latency p50/p99, and the time from the first request until the fake platform has received
an answer (a reply with the event's token, or a push) for every event. The systems run
interleaved over `--rounds` rounds and medians are compared with the targets of issue #2.

    .venv/bin/python bench/webhook.py [--events 3000 --users 300 --connections 64 --rounds 3]
    .venv/bin/python bench/webhook.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Scaled out (`--web N`): the project runs as N `shima serve` web processes with
SHIMA_RUN_WORKER=false, each on its own port, plus one `shima worker`, all on the same fresh
database (PostgreSQL: SQLite allows one writer); the load generator deals the events
round-robin between the web processes, as a load balancer would, and every process's CPU counts.

    .venv/bin/python bench/webhook.py --systems project --web 2 \\
        --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _loadgen import TEXTS, FloodResult, flood, http_get, signed_requests, text_event_body, user_id

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HOST = "127.0.0.1"
CHANNEL_SECRET = "bench-channel-secret-0123456789abcdef"
ACCESS_TOKEN = "bench-access-token"  # what bench/_fake_platform.py accepts
SECRET_KEY = "bench-secret-key-not-for-production"
DESTINATION = "U" + "b" * 32  # the bot's user id in webhook bodies
SYSTEMS = ("bare", "echo", "project")
LABELS = {
    "bare": "bare endpoint (signature only)",
    "echo": "line-bot-sdk echo bot",
    "project": "shima serve (this project)",
}
# Targets of issue #2, item 11.
ACK_RATIO_TARGET = 0.5
ACK_P99_TARGET = 0.250
ANSWER_ALL_TARGET = 15.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- processes ---------------------------------------------------------------------------


class Processes:
    """Every child this benchmark starts; all are stopped at the end, whatever happens."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, cmd: list[str], env: dict[str, str], cwd: Path, log: Path
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
            )
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)  # uvicorn: graceful shutdown
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(5)
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self._procs)):
            self.stop(proc, grace=5.0)


PROCS = Processes()
atexit.register(PROCS.stop_all)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def child_env(**extra: str) -> dict[str, str]:
    """The environment without any channel, database or shima settings of the caller's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LINE_", "SHIMA_", "BENCH_")) and k not in ("DATABASE_URL", "PORT")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def wait_ready(
    port: int, path: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError):
            status, _ = await http_get(HOST, port, path, timeout=2.0)
            if status == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{proc.args!r} not ready after {timeout:.0f}s:\n{tail(log)}")


def venv_script(name: str) -> list[str]:
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", {"shima": "shima.cli"}.get(name, name)]


# ---- databases ---------------------------------------------------------------------------


class Databases:
    """A fresh database per project run: a new SQLite file, or a new PostgreSQL database
    (created beside the one `--database-url` names, and dropped afterwards)."""

    def __init__(self, admin_url: str | None) -> None:
        self.admin_url = admin_url
        self._created: list[str] = []

    async def fresh(self, run_dir: Path) -> str:
        if not self.admin_url:
            return f"sqlite://{run_dir / 'bench.sqlite3'}"
        import asyncpg

        name = f"shima_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self._created.append(name)
        return f"{self.admin_url.rsplit('/', 1)[0]}/{name}"

    async def drop_all(self) -> None:
        if not self.admin_url or not self._created:
            return
        import asyncpg

        conn = await asyncpg.connect(self.admin_url)
        try:
            for name in self._created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self._created.clear()


# ---- one run -----------------------------------------------------------------------------


@dataclass
class Run:
    system: str
    round: int
    flood: FloodResult
    events: int
    answered: int | None = None  # None: the system does not answer (bare endpoint)
    replies: int = 0
    pushes: int = 0
    failed_line_calls: int = 0
    answered_all_s: float | None = None  # first request → last answer (None: not all)
    server_cpu_s: float = float("nan")  # server process CPU from the flood to all answered

    @property
    def ack_p50(self) -> float:
        return self.flood.percentile(50)

    @property
    def ack_p99(self) -> float:
        return self.flood.percentile(99)


@contextlib.contextmanager
def started(
    cmd: list[str], env: dict[str, str], cwd: Path, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    proc = PROCS.start(cmd, env, cwd, log)
    try:
        yield proc
    finally:
        PROCS.stop(proc)


def server_command(system: str, port: int) -> list[str]:
    if system == "project":
        return venv_script("shima") + ["serve", "--host", HOST, "--port", str(port)]
    module = {"bare": "bare_endpoint", "echo": "echo_bot"}[system]
    # Served exactly as `shima serve` serves the project (shima/cli.py): uvicorn defaults,
    # info log, NO access log, proxy headers on, so the floor is not handicapped.
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(BENCH_DIR),
        f"{module}:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "info",
        "--no-access-log",
        "--proxy-headers",
        "--timeout-graceful-shutdown",
        "15",
    ]


async def migrate(database_url: str, run_dir: Path) -> None:
    log = run_dir / "migrate.log"
    env = child_env(DATABASE_URL=database_url)
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            *venv_script("shima"),
            "migrate",
            env=env,
            cwd=run_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            code = await asyncio.wait_for(proc.wait(), 120)
        except TimeoutError:
            proc.kill()
            raise RuntimeError(f"shima migrate timed out:\n{tail(log)}") from None
    if code != 0:
        raise RuntimeError(f"shima migrate failed ({code}):\n{tail(log)}")


async def fake_stats(port: int, path: str, timeout: float = 10.0) -> dict[str, Any]:
    status, body = await http_get(HOST, port, path, timeout=timeout)
    if status != 200:
        raise RuntimeError(f"fake platform {path} answered {status}")
    result: dict[str, Any] = json.loads(body)
    return result


def fake_platform_command(port: int, run_dir: Path, tokens_file: Path) -> list[str]:
    """The fake LINE platform of one round: it issues the reply tokens of run_dir/plan.json
    (written to `tokens_file`) and counts what the server sends."""
    return [
        sys.executable,
        str(BENCH_DIR / "_fake_platform.py"),
        "--port",
        str(port),
        "--plan",
        str(run_dir / "plan.json"),
        "--tokens-out",
        str(tokens_file),
    ]


async def start_servers(
    stack: contextlib.ExitStack,
    system: str,
    ports: list[int],
    env: dict[str, str],
    run_dir: Path,
    scaled: bool,
) -> tuple[list[subprocess.Popen[bytes]], Path]:
    """One server per port, each ready; `scaled`: web processes that only acknowledge plus a
    `shima worker` that answers. Returns the processes (the worker last) and the log of the
    first web process."""
    servers: list[subprocess.Popen[bytes]] = []
    for n, port in enumerate(ports):
        log = run_dir / (f"web{n + 1}.log" if scaled else "server.log")
        web_env = env | {"PORT": str(port)}
        if scaled:  # the web processes only acknowledge; the worker answers
            web_env["SHIMA_RUN_WORKER"] = "false"
        server = stack.enter_context(started(server_command(system, port), web_env, run_dir, log))
        servers.append(server)
        await wait_ready(port, "/healthz", server, log)
    if scaled:
        worker_cmd = venv_script("shima") + ["worker"]
        servers.append(
            stack.enter_context(started(worker_cmd, env, run_dir, run_dir / "worker.log"))
        )
    return servers, run_dir / ("web1.log" if scaled else "server.log")


async def run_once(
    system: str, round_no: int, args: argparse.Namespace, work: Path, dbs: Databases
) -> Run:
    run_dir = work / f"round{round_no}-{system}"
    run_dir.mkdir()
    rng = random.Random(round_no)
    users = [user_id(i % args.users) for i in range(args.events)]
    warm_users = [user_id(1_000_000 + i) for i in range(args.connections)]
    plan = {"measured": users, "warmup": warm_users}
    (run_dir / "plan.json").write_text(json.dumps(plan))

    fake_port = free_port()
    tokens_file = run_dir / "tokens.json"
    fake_cmd = fake_platform_command(fake_port, run_dir, tokens_file)
    fake_log = run_dir / "fake.log"
    with started(fake_cmd, child_env(), ROOT, fake_log) as fake:
        await wait_ready(fake_port, "/_stats", fake, fake_log)
        tokens: dict[str, list[str]] = json.loads(tokens_file.read_text())
        base_url = f"http://{HOST}:{fake_port}"

        env = child_env(
            LINE_CHANNEL_SECRET=CHANNEL_SECRET,
            LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
            SECRET_KEY=SECRET_KEY,
            SHIMA_ALLOWED_HOSTS="127.0.0.1,localhost",
            LINE_API_BASE_URL=base_url,
            BENCH_CHANNEL_SECRET=CHANNEL_SECRET,
            BENCH_ACCESS_TOKEN=ACCESS_TOKEN,
        )
        scaled = system == "project" and args.web is not None
        ports = [free_port() for _ in range(args.web if scaled else 1)]
        if system == "project":
            env.update(item.split("=", 1) for item in args.project_env)
            env["DATABASE_URL"] = await dbs.fresh(run_dir)
            await migrate(env["DATABASE_URL"], run_dir)
        with contextlib.ExitStack() as stack:
            servers, server_log = await start_servers(stack, system, ports, env, run_dir, scaled)
            if args.profile_pid_file and system == "project":
                Path(args.profile_pid_file).write_text(str(servers[0].pid))

            def spread(bodies: list[bytes]) -> list[tuple[int, list[bytes]]]:
                """Event i goes to server i mod N (as a load balancer would deal them)."""
                return [
                    (port, signed_requests(HOST, port, bodies[n :: len(ports)], CHANNEL_SECRET))
                    for n, port in enumerate(ports)
                ]

            # Warm-up: one event per connection, answered before the clock starts.
            warm_bodies = [
                text_event_body(u, t, rng.choice(TEXTS), DESTINATION)
                for u, t in zip(warm_users, tokens["warmup"], strict=True)
            ]
            warm = await flood(HOST, spread(warm_bodies), args.connections)
            if warm.acked != len(warm_bodies):
                raise RuntimeError(
                    f"{system}: warm-up acked {warm.acked}/{len(warm_bodies)} "
                    f"({dict(warm.statuses)}, {dict(warm.errors)}):\n{tail(server_log)}"
                )
            if system != "bare" and not args.acks_only:
                stats = await fake_stats(
                    fake_port, f"/_wait?kind=warmup&count={len(warm_bodies)}&timeout=30", 40
                )
                if stats["warmup"]["answered"] < len(warm_bodies):
                    raise RuntimeError(f"{system}: warm-up not answered: {stats}")

            # The flood. Bodies carry `timestamp` = now, so they are built just before it.
            bodies = [
                text_event_body(u, t, rng.choice(TEXTS), DESTINATION)
                for u, t in zip(users, tokens["measured"], strict=True)
            ]
            requests = spread(bodies)
            cpu0 = sum(cpu_seconds(p.pid) for p in servers)
            result = await flood(HOST, requests, args.connections)
            run = Run(system, round_no, result, len(bodies))
            if system != "bare" and not args.acks_only:
                left = max(1.0, args.answer_timeout - (time.time() - result.started_wall))
                stats = await fake_stats(
                    fake_port, f"/_wait?count={len(bodies)}&timeout={left:.1f}", left + 10
                )
                measured = stats["measured"]
                run.answered = int(measured["answered"])
                run.replies = int(measured["replies"])
                run.pushes = int(measured["pushes"])
                run.failed_line_calls = int(stats["failed_calls"])
                if run.answered >= len(bodies):
                    run.answered_all_s = float(measured["last_at"]) - result.started_wall
            run.server_cpu_s = sum(cpu_seconds(p.pid) for p in servers) - cpu0
    return run


# ---- reporting ---------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "—"
    return f"{seconds * 1000:,.1f} ms"


def secs(seconds: float | None) -> str:
    return "—" if seconds is None or math.isnan(seconds) else f"{seconds:,.2f} s"


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5))) - 1]


def describe(run: Run) -> str:
    f = run.flood
    line = (
        f"  round {run.round}  {run.system:<8} acks {f.acked:>5}/{run.events}  "
        f"{f.acks_per_second:>7,.0f} acks/s  p50 {ms(run.ack_p50):>9}  p99 {ms(run.ack_p99):>9}"
        f"  server CPU {run.server_cpu_s:5.2f} s  loadgen CPU {f.cpu_seconds / f.elapsed:4.0%}"
    )
    if run.answered is not None:
        line += (
            f"  answered {run.answered}/{run.events} (replies {run.replies}, pushes "
            f"{run.pushes}) all in {secs(run.answered_all_s)}"
        )
    problems = {str(k): v for k, v in f.statuses.items() if k != 200} | dict(f.errors)
    if problems:
        line += f"  NOT ACKED: {problems}"
    if run.failed_line_calls:
        line += f"  failed LINE calls: {run.failed_line_calls}"
    return line


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(runs: list[Run], args: argparse.Namespace, backend: str) -> bool:
    by: dict[str, list[Run]] = {s: [r for r in runs if r.system == s] for s in SYSTEMS}
    med: dict[str, dict[str, float]] = {}
    for system, rs in by.items():
        answered = [r.answered_all_s for r in rs]
        med[system] = {
            "acks": median([r.flood.acks_per_second for r in rs]),
            "p50": median([r.ack_p50 for r in rs]),
            "p99": median([r.ack_p99 for r in rs]),
            # A run that never answered everything counts as infinitely slow.
            "answered": median([a if a is not None else math.inf for a in answered]),
            "cpu_per_event_ms": median([1000 * r.server_cpu_s / r.events for r in rs]),
        }

    print()
    print(
        f"Webhook benchmark — {args.events:,} events from {args.users:,} users over "
        f"{args.connections} connections, {args.rounds} rounds, {backend}, "
        f"{os.cpu_count()} CPUs; medians"
    )
    header = (
        f"  {'system':<32}{'acks/s':>10}{'ack p50':>12}{'ack p99':>12}"
        f"{'all answered':>15}{'server CPU/event':>18}"
    )
    print(header)
    print("  " + "─" * (len(header) - 2))
    for system in SYSTEMS:
        m = med[system]
        answered = "not all" if m["answered"] == math.inf else secs(m["answered"])
        if system == "bare":
            answered = "n/a"
        label = project_label(args) if system == "project" else LABELS[system]
        print(
            f"  {label:<32}{m['acks']:>10,.0f}{ms(m['p50']):>12}{ms(m['p99']):>12}"
            f"{answered:>15}{m['cpu_per_event_ms']:>15.2f} ms"
        )

    p, bare, echo = med["project"], med["bare"], med["echo"]
    all_rounds_answered = all(r.answered_all_s is not None for r in by["project"])
    targets = [
        (
            f"acks/s ≥ {ACK_RATIO_TARGET}× bare endpoint",
            f"{p['acks']:,.0f} vs {ACK_RATIO_TARGET * bare['acks']:,.0f} "
            f"({p['acks'] / bare['acks']:.2f}×)",
            p["acks"] >= ACK_RATIO_TARGET * bare["acks"],
        ),
        (
            f"ack p99 < {ACK_P99_TARGET * 1000:.0f} ms",
            ms(p["p99"]),
            p["p99"] < ACK_P99_TARGET,
        ),
        (
            f"every event answered within {ANSWER_ALL_TARGET:.0f} s",
            secs(p["answered"]) + ("" if all_rounds_answered else " (a round missed some)"),
            p["answered"] <= ANSWER_ALL_TARGET and all_rounds_answered,
        ),
        (
            "all answered no slower than the echo bot",
            f"{secs(p['answered'])} vs {secs(echo['answered'])}",
            p["answered"] <= echo["answered"],
        ),
    ]
    print()
    print("  Targets (issue #2, item 11)")
    ok = True
    for name, figures, passed in targets:
        ok = ok and passed
        print(f"  {'PASS' if passed else 'MISS'}  {name:<44}{figures}")
    loadgen = max(r.flood.cpu_seconds / r.flood.elapsed for r in runs)
    print()
    print(
        f"  Load generator: at most {loadgen:.0%} of one core during a flood "
        + ("(not the bottleneck)." if loadgen < 0.9 else "— it may be the bottleneck!")
    )
    return ok


def project_label(args: argparse.Namespace) -> str:
    if args.web is None:
        return LABELS["project"]
    return f"shima serve ×{args.web} + shima worker"


def summary(runs: list[Run], args: argparse.Namespace, backend: str) -> None:
    """Medians per system when only some systems ran (no comparison, no targets)."""
    print()
    print(
        f"Webhook benchmark — {args.events:,} events from {args.users:,} users over "
        f"{args.connections} connections, {args.rounds} rounds, {backend}, "
        f"{os.cpu_count()} CPUs; medians"
    )
    for system in SYSTEMS:
        rs = [r for r in runs if r.system == system]
        if not rs:
            continue
        answered = median([r.answered_all_s or math.inf for r in rs])
        label = project_label(args) if system == "project" else LABELS[system]
        print(
            f"  {label:<34}{median([r.flood.acks_per_second for r in rs]):>8,.0f} acks/s"
            f"  p99 {ms(median([r.ack_p99 for r in rs]))}"
            + (
                ""
                if args.acks_only or system == "bare"
                else f"  all answered {'not all' if answered == math.inf else secs(answered)}"
            )
        )


# ---- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server to run the project on, e.g. "
        "postgres://postgres@127.0.0.1:5432/postgres: each round gets a fresh database "
        "created beside this one and dropped afterwards (default: a fresh SQLite file)",
    )
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated subset of bare,echo,project (targets need all three)",
    )
    parser.add_argument(
        "--answer-timeout",
        type=float,
        default=60.0,
        help="seconds from the first request to give up waiting for answers",
    )
    parser.add_argument(
        "--project-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the project server (diagnosis, e.g. SHIMA_RUN_WORKER=false)",
    )
    parser.add_argument(
        "--web",
        type=int,
        default=None,
        metavar="N",
        help="serve the project scaled out: N `shima serve` web processes with "
        "SHIMA_RUN_WORKER=false (the flood dealt round-robin between them) and one separate "
        "`shima worker`; default: one `shima serve` with its worker inside, as `make run`",
    )
    parser.add_argument(
        "--acks-only", action="store_true", help="do not wait for answers (acks only)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs and SQLite files")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--profile-pid-file",
        default="",
        help="write the project server's PID here once it is up (for py-spy)",
    )
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    for item in args.project_env:
        if "=" not in item:
            parser.error(f"--project-env wants NAME=VALUE, not {item!r}")
    args.systems = [s for s in args.systems.split(",") if s]
    if unknown := set(args.systems) - set(SYSTEMS):
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    if args.web is not None and not 1 <= args.web <= args.connections:
        parser.error("--web wants 1 to --connections web processes")
    if args.web is not None and not args.database_url:
        parser.error("--web needs --database-url: several processes share one PostgreSQL")
    if min(args.events, args.users, args.connections, args.rounds) < 1:
        parser.error("--events, --users, --connections and --rounds must be positive")
    return args


async def bench(args: argparse.Namespace, work: Path) -> int:
    dbs = Databases(args.database_url or None)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    runs: list[Run] = []
    try:
        for round_no in range(1, args.rounds + 1):
            # Rotate the order so no system always runs first (or last) in a round.
            order = [s for s in SYSTEMS if s in args.systems]
            shift = (round_no - 1) % len(order)
            for system in order[shift:] + order[:shift]:
                run = await run_once(system, round_no, args, work, dbs)
                runs.append(run)
                print(describe(run), flush=True)
    finally:
        await dbs.drop_all()
    if set(args.systems) != set(SYSTEMS) or args.acks_only:
        summary(runs, args, backend)
        return 0
    ok = report(runs, args, backend)
    return 1 if args.strict and not ok else 0


def run_main(
    args: argparse.Namespace,
    prefix: str,
    headline: str,
    bench: Callable[[argparse.Namespace, Path], Awaitable[int]],
) -> int:
    """A bench's process: `headline` (naming {work} and {rounds}) printed, a scratch folder
    removed afterwards unless --keep, SIGTERM and Ctrl-C stopping it cleanly, and every
    server it started stopped whatever happens."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    print(headline.format(work=work, rounds=args.rounds), flush=True)
    try:
        return asyncio.run(bench(args, work))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        PROCS.stop_all()
        if args.keep:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    headline = "Benchmarking in {work} (bare, echo and project interleaved, {rounds} rounds)…"
    return run_main(args, "shima-bench-", headline, bench)


if __name__ == "__main__":
    sys.exit(main())
