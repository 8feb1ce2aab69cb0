"""Tortoise ORM configuration and database helpers."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models import MODEL_MODULES

if TYPE_CHECKING:
    from tortoise.backends.base.client import BaseDBAsyncClient

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


# ---------- Reading many rows fast ----------
#
# Awaiting a `.values()` / `.values_list()` query makes Tortoise convert every column of every
# row to its Python type (ValuesQuery._execute / ValuesListQuery._execute); with thousands of
# rows that costs more than the query (measured on ~9,000 rows: 154 ms awaited, 40 ms read as
# the driver returns them). So the domain's counting code (goals,
# survey_results) runs the very SQL Tortoise builds and converts only the columns it uses
# (`raw_datetime`, `raw_bool`, `raw_json`).
#
# This relies on three tortoise internals (checked against tortoise-orm 1.1.9,
# pypika-tortoise 0.6.5; tests/shima/test_db.py fails if they change):
# - `QuerySet.sql()` chooses the connection (`_choose_db_if_not_chosen`: the one in use by the
#   current transaction, if any) and builds the query into `query.query` (`_make_query`);
# - `query.query.get_parameterized_sql()` gives that SQL with its parameters, as awaiting
#   the query would send them;
# - `query._db` is the chosen connection (a BaseDBAsyncClient), whose public
#   `execute_query(sql, params)` returns (count, rows).


def built_sql(query: Any) -> tuple[str, list[Any], BaseDBAsyncClient]:
    """The SQL, parameters and connection a Tortoise query would run with (transaction-aware),
    to run as it is or inside SQL of one's own (`SELECT … FROM (sql) t`)."""
    query.sql()  # chooses the connection and builds query.query
    sql, params = query.query.get_parameterized_sql()
    return sql, params, query._db


async def fetch_rows(query: Any) -> list[dict[str, Any]]:
    """The rows of a Tortoise `.values()` query as the driver returns them, keyed by column
    (SQLite: booleans 0/1, datetimes and JSON as text; PostgreSQL: Python values): same SQL,
    same parameters, same connection as awaiting it, without the per-row conversion."""
    sql, params, db = built_sql(query)
    _, rows = await db.execute_query(sql, params)
    return [dict(row) for row in rows]


def raw_datetime(value: Any) -> datetime:
    """A datetime column as read raw (SQLite gives text), aware (stored values are UTC)."""
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def raw_bool(value: Any) -> bool | None:
    """A boolean column as read raw (SQLite 0/1, PostgreSQL True/False; None: NULL)."""
    return None if value is None else bool(value)


def raw_json(value: Any) -> Any:
    """A JSON column as read raw (SQLite text, PostgreSQL already decoded)."""
    return json.loads(value) if isinstance(value, str | bytes) else value
