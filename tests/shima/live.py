"""Real processes for the PostgreSQL-only deployment tests: the Procfile's commands run as a
platform would run them (`sh -c`, `$PORT` in the environment), each on a fresh database,
with a real channel configured against the fake LINE platform served by the test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = ROOT / "Procfile"
SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"  # what the `fake_line` fixture accepts


def procfile(path: Path = PROCFILE) -> dict[str, str]:
    """The process types of a Procfile: {"web": "shima serve …", …}."""
    commands: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.lstrip().startswith("#"):
            commands[name.strip()] = command.strip()
    return commands


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database beside TEST_DATABASE_URL's; dropped afterwards."""
    import asyncpg

    admin_url = os.environ["TEST_DATABASE_URL"]
    name = f"shima_live_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def channel_env(bin_dir: Path, database_url: str, line_api_base_url: str, **extra: str) -> dict:
    """The environment of a deployed process: a real channel, nothing of the test runner's
    own shima settings, and `bin_dir` (where `shima` is installed) first on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LINE_", "SHIMA_")) and k not in ("DATABASE_URL", "PORT")
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        DATABASE_URL=database_url,
        LINE_CHANNEL_SECRET=SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
        LINE_API_BASE_URL=line_api_base_url,
        SECRET_KEY="test-secret-key",
        SHIMA_ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


class Processes:
    """Children started from Procfile lines; every one is stopped at the end."""

    def __init__(self, cwd: Path, logs: Path) -> None:
        self.cwd, self.logs = cwd, logs
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self, command: str, env: dict[str, Any], log: str) -> subprocess.Popen[bytes]:
        with (self.logs / log).open("ab") as out:  # the child keeps its own descriptor
            # `exec`: the pid is the process itself, so kill -9 hits it and not a shell.
            proc = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command}"],
                env=env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._procs.append(proc)
        return proc

    async def run(self, command: str, env: dict[str, Any], log: str, timeout: float) -> None:
        """Run a one-off command (the Procfile's `release:`) to completion; it must succeed."""
        proc = self.start(command, env, log)
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            assert time.monotonic() < deadline, f"{command!r} timed out:\n{self.tail(log)}"
            await asyncio.sleep(0.05)
        assert proc.returncode == 0, f"{command!r} exited {proc.returncode}:\n{self.tail(log)}"

    def kill_9(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self._procs):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def tail(self, log: str, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.logs / log).read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


@contextlib.contextmanager
def processes(cwd: Path, logs: Path) -> Iterator[Processes]:
    procs = Processes(cwd, logs)
    try:
        yield procs
    finally:
        procs.stop_all()


async def wait_healthy(
    procs: Processes, proc: subprocess.Popen[bytes], port: int, log: str, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2.0) as client:
        while True:
            assert proc.poll() is None, f"exited {proc.returncode}:\n{procs.tail(log)}"
            with contextlib.suppress(httpx2.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"not healthy in {timeout}s:\n{procs.tail(log)}"
            await asyncio.sleep(0.05)


def walk(messages: object) -> Iterator[dict[str, Any]]:
    """Every JSON object inside the messages of one delivery."""
    if isinstance(messages, dict):
        yield messages
        for value in messages.values():
            yield from walk(value)
    elif isinstance(messages, list):
        for value in messages:
            yield from walk(value)


def shown_text(messages: object) -> str:
    """Every text a delivery shows (plain texts, alt texts, Flex texts)."""
    return "\n".join(
        node[key]
        for node in walk(messages)
        for key in ("text", "altText")
        if isinstance(node.get(key), str)
    )


def postback_data(messages: object, label: str | None = None, step: str | None = None) -> str:
    """The data of the first postback button with `label` (or whose data has `step=…`)."""
    for node in walk(messages):
        data = node.get("data")
        if node.get("type") != "postback" or not isinstance(data, str):
            continue
        if (label is not None and node.get("label") == label) or (
            step is not None and f"step={step}&" in data + "&"
        ):
            return data
    raise AssertionError(f"no postback {label or step!r} in {messages!r}"[:2000])
