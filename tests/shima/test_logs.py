"""Logs carry no personal data, in text or JSON, at DEBUG: the app served by uvicorn with
the logging config `shima serve` passes it (access log on), a signed webhook from a
resident, an admin search by name, a flow that raises with a user id in its message, and
unique violations (PostgreSQL prints the key's value in DETAIL)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from tortoise.exceptions import IntegrityError

from admin.passwords import create_staff
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform, serve_on_loopback
from models.residents import Resident
from models.staff import StaffUser
from shima import logs
from shima.app import create_app
from shima.settings import Settings, SettingsError, load_settings
from shima.worker import Worker
from tests.admin.conftest import login
from tests.line_app import events

SECRET = "test-channel-secret"
USER = "U4f1e2d3c4b5a69788796a5b4c3d2e1f0"
NAME = "徳之島ヒミツ子"
SEARCH = "ヒミツ子"
TEXT = "ないしょの相談ことば42"
STAFF_EMAIL = "kanri-himitsu@example.jp"
PASSWORD = "umi-to-sora-2026"
SECRETS = (USER, NAME, SEARCH, TEXT, STAFF_EMAIL)
_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "httpx2", "httpcore2")


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, Any]]:
    """A buffer and a factory for shima.logs' config writing into it; the logging setup is
    put back afterwards (dictConfig replaces the root handlers)."""
    buffer = io.StringIO()
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved = {}
    for name in _LOGGERS:
        lg = logging.getLogger(name)
        saved[name] = (lg.handlers[:], lg.level, lg.propagate)

    def config(log_format: str) -> dict[str, Any]:
        cfg = logs.config(log_format, "DEBUG")
        cfg["handlers"]["default"]["stream"] = buffer
        return cfg

    yield buffer, config
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for name, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:], lg.propagate = handlers, propagate
        lg.setLevel(level)


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Worker]:
    line = LineClient(settings)
    yield Worker(settings, line)
    await line.close()


async def realistic_flow(
    base_url: str, fake_line: FakeLinePlatform, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_staff(STAFF_EMAIL, PASSWORD, role="admin", display_name="管理 太郎")
    fake_line.add_user(USER, NAME)
    async with httpx2.AsyncClient(base_url=base_url) as client:
        token = fake_line.issue_reply_token(USER)
        assert (await events.post(client, SECRET, events.follow(USER, token))).status_code == 200
        token = fake_line.issue_reply_token(USER)
        await events.post(client, SECRET, events.text(USER, token, TEXT))
        await worker.drain()
        assert (await Resident.get(line_user_id=USER)).display_name == NAME

        # A flow raises with the user id in its message (the worker logs the traceback).
        async def broken(turn: Any) -> None:
            raise RuntimeError(f"no conversation state for {turn.event.line_user_id}")

        monkeypatch.setattr(worker.router, "handle", broken)
        await events.post(client, SECRET, events.text(USER, None, TEXT))
        await worker.run_inbox_once()

        assert (await login(client, STAFF_EMAIL, PASSWORD)).status_code == 303
        found = await client.get("/admin/residents", params={"q": SEARCH})
        assert found.status_code == 200 and NAME in found.text

    # Unique violations, logged with their tracebacks (PostgreSQL: DETAIL holds the key).
    for create in (
        lambda: Resident.create(line_user_id=USER),
        lambda: StaffUser.create(email=STAFF_EMAIL, password_hash="x", role="staff"),
    ):
        try:
            await create()
        except IntegrityError:
            logging.getLogger("shima.test").exception("duplicate insert")


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_no_personal_data_in_logs(
    log_format: str,
    captured: tuple[io.StringIO, Any],
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The test's own HTTP client logs its URLs; that is the harness, not the app.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpcore2").setLevel(logging.WARNING)
    buffer, config = captured
    app = create_app(settings, init_db=False)
    # As `shima serve` runs it: our log_config, access log on, DEBUG.
    served = serve_on_loopback(
        app, log_level="debug", log_config=config(log_format), access_log=True
    )
    async with served as base_url:
        await realistic_flow(base_url, fake_line, worker, monkeypatch)
    output = buffer.getvalue()

    for secret in SECRETS:
        assert secret not in output, f"{secret!r} leaked into the log"
    # The log did see all of it: the access lines, the traceback, the violations.
    assert "GET /admin/residents HTTP/1.1" in output
    assert "POST /callback" in output
    assert "no conversation state for U[redacted]" in output
    assert output.count("duplicate insert") == 2
    if log_format == "json":
        entries = [json.loads(line) for line in output.splitlines()]
        assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
        failed = [e for e in entries if "failed" in e["message"] and e["logger"] == "shima.worker"]
        assert failed and "RuntimeError" in failed[0]["exc"]
        assert {"uvicorn.access", "uvicorn.error", "shima.worker"} <= {e["logger"] for e in entries}


def test_shima_serve_writes_json_lines(tmp_path: Path) -> None:
    """The wiring: `shima serve` with SHIMA_LOG_FORMAT=json and the access log on."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LINE_", "DATABASE_URL", "SECRET_KEY", "SHIMA_"))
    }
    env.update(
        DATABASE_URL=f"sqlite://{tmp_path / 'shima.sqlite3'}",
        SHIMA_LOG_FORMAT="json",
        SHIMA_ACCESS_LOG="1",
        SHIMA_ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    shima = [sys.executable, "-m", "shima.cli"]
    subprocess.run([*shima, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True)
    server = subprocess.Popen(
        [*shima, "serve", "--port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        lines = []
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            lines.append(line)
            if found := re.search(r"Uvicorn running on http://127.0.0.1:(\d+)", line):
                port = found.group(1)
        assert port, lines
        health = httpx2.get(f"http://127.0.0.1:{port}/healthz", params={"q": SEARCH}, timeout=10)
        assert health.status_code == 200
    finally:
        server.terminate()
        _, rest = server.communicate(timeout=30)
    entries = [json.loads(line) for line in "".join(lines).splitlines() + rest.splitlines()]
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert [e["message"].split(" - ")[1] for e in access] == ['"GET /healthz HTTP/1.1" 200']
    assert SEARCH not in "".join(lines) + rest


def test_redact_masks_user_ids_and_postgres_detail() -> None:
    import asyncpg

    error = asyncpg.exceptions.UniqueViolationError.new(
        {
            "M": 'duplicate key value violates unique constraint "staff_users_email_key"',
            "D": f"Key (email)=({STAFF_EMAIL}) already exists.",
            "C": "23505",
            "S": "ERROR",
        }
    )
    text = logs.redact(f"push to {USER} failed: {error}")
    assert USER not in text and STAFF_EMAIL not in text
    assert text.startswith("push to U[redacted] failed: duplicate key value")
    assert text.endswith("DETAIL:  [redacted]")


def test_access_log_query_string_is_stripped() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.1:5000", "GET", f"/admin/residents?q={SEARCH}&page=2", "1.1", 200),
        None,
    )
    assert logs.PersonalDataFilter().filter(record)
    assert record.getMessage() == '10.0.0.1:5000 - "GET /admin/residents HTTP/1.1" 200'


def test_sql_echo_is_dropped_warnings_are_kept() -> None:
    keep = logs.PersonalDataFilter()
    echo = logging.LogRecord("tortoise.db_client", logging.DEBUG, __file__, 1, "%s", (TEXT,), None)
    warning = logging.LogRecord("aiosqlite", logging.WARNING, __file__, 1, "closing", (), None)
    assert not keep.filter(echo)
    assert keep.filter(warning)


def test_log_settings_are_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    no_env_file = tmp_path / ".env"
    monkeypatch.setenv("SHIMA_LOG_FORMAT", "JSON")
    monkeypatch.setenv("SHIMA_LOG_LEVEL", "debug")
    settings = load_settings(no_env_file)
    assert (settings.log_format, settings.log_level) == ("json", "DEBUG")
    monkeypatch.setenv("SHIMA_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="SHIMA_LOG_FORMAT は text / json"):
        load_settings(no_env_file)
