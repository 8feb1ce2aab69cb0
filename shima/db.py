"""Tortoise ORM configuration and database helpers."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models import MODEL_MODULES

# Stored in UTC. SQLite keeps datetimes as text and compares them as text, so stored values
# and query parameters must share one offset: always pass UTC-aware datetimes to filters
# (shima.timeutil.now(), to_utc()). Shown in JST by the templates and message builders.
TIMEZONE = "UTC"


def _sqlite_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(" ")


# SQLite keeps datetimes as text and compares text: a query parameter in JST would compare
# wrongly against stored UTC values. Every aware datetime goes to SQLite in UTC. (Registered
# after tortoise's own adapter, which keeps the offset, so ours wins.)
import tortoise.backends.sqlite.executor  # noqa: E402,F401

sqlite3.register_adapter(datetime, _sqlite_datetime)


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config for `database_url` (sqlite://path or postgres://…)."""
    if database_url.startswith("sqlite://") and database_url != "sqlite://:memory:":
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            "models": {
                "models": list(MODEL_MODULES),
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": TIMEZONE,
    }


def _connection(database_url: str) -> str | dict[str, Any]:
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://")
        # WAL lets readers run beside the single writer; NORMAL sync is durable with WAL
        # against process crashes (kill -9), which is what the inbox guarantee needs.
        return {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": path,
                "journal_mode": "WAL",
                "journal_size_limit": 16 * 1024 * 1024,
                "foreign_keys": "ON",
                "busy_timeout": 5000,
                "synchronous": "NORMAL",
            },
        }
    return database_url


def __getattr__(name: str) -> Any:
    # `tortoise -c shima.db.TORTOISE_ORM makemigrations`: computed on access, not on import.
    if name == "TORTOISE_ORM":
        from shima.settings import load_settings

        return tortoise_config(load_settings().database_url)
    raise AttributeError(name)


async def init(database_url: str) -> None:
    """Initialise Tortoise for this process. The global fallback makes the connections
    visible to every task (uvicorn runs lifespan and requests in different tasks)."""
    from tortoise import Tortoise

    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
