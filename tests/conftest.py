"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL with
SHIMA_TEST_BACKEND=postgres), a fake LINE platform on loopback, and the ASGI app."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest
from tortoise import Tortoise

from line_app.fake_line import FakeLinePlatform, serve_on_loopback
from shima.app import create_app
from shima.db import init as init_db
from shima.settings import Settings

BACKEND = os.environ.get("SHIMA_TEST_BACKEND", "sqlite")
_pg_schema_ready = False


def _pg_admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        pytest.exit("SHIMA_TEST_BACKEND=postgres needs TEST_DATABASE_URL", returncode=2)
    return url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """One database for the session; each test gets it emptied (see `db`)."""
    if BACKEND != "postgres":
        yield ""  # per-test SQLite file, see `db`
        return
    import asyncpg

    admin_url = _pg_admin_url()
    name = f"shima_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    base = admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(drop())


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An initialised, empty database; yields its URL."""
    global _pg_schema_ready
    url = database_url or f"sqlite://{tmp_path / 'test.sqlite3'}"
    await init_db(url)
    if BACKEND == "postgres":
        if not _pg_schema_ready:
            await Tortoise.generate_schemas()
            _pg_schema_ready = True
        else:
            conn = Tortoise.get_connection("default")
            tables = [m._meta.db_table for m in Tortoise.apps["models"].values()]
            await conn.execute_script(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
            )
    else:
        await Tortoise.generate_schemas()
    try:
        yield url
    finally:
        await Tortoise.close_connections()


@pytest.fixture
async def fake_line() -> AsyncIterator[FakeLinePlatform]:
    """A fake LINE platform served on a loopback port (the SDK talks aiohttp to it)."""
    platform = FakeLinePlatform(access_token="test-access-token")
    async with serve_on_loopback(platform) as base_url:
        platform.base_url = base_url
        yield platform


@pytest.fixture
def settings(db: str, fake_line: FakeLinePlatform) -> Settings:
    return Settings(
        database_url=db,
        channel_secret="test-channel-secret",
        channel_access_token="test-access-token",
        simulator=False,
        line_api_base_url=fake_line.base_url,
        secret_key="test-secret-key",
        run_worker=False,
        lease_seconds=5.0,
        line_timeout_seconds=2.0,
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.05,
        send_give_up_hours=1.0,
        poll_interval_seconds=0.05,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    """The app over ASGI (no lifespan: the test owns the database and the worker)."""
    app = create_app(settings, init_db=False)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c
