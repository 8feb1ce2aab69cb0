"""Models and migrations agree; migrations apply cleanly (and twice) on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.api import migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from shima.db import tortoise_config
from tests.conftest import BACKEND
from tests.shima.live import fresh_database


async def test_models_and_migrations_agree(tmp_path: Path) -> None:
    config = tortoise_config(f"sqlite://{tmp_path / 'm.sqlite3'}")
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    changed = [w.name for w in writers]
    assert changed == [], (
        "models changed without a migration: run "
        "`.venv/bin/tortoise -c shima.db.TORTOISE_ORM makemigrations`"
    )


@pytest.fixture
async def fresh_url(tmp_path: Path):
    if BACKEND != "postgres":
        yield f"sqlite://{tmp_path / 'fresh.sqlite3'}"
        return
    async with fresh_database() as url:
        yield url


async def test_migrations_apply_on_a_fresh_database_and_again(fresh_url: str) -> None:
    config = tortoise_config(fresh_url)
    await migrate(config=config)
    await Tortoise.close_connections()
    await migrate(config=config)  # idempotent: `shima migrate` runs on every release
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    try:
        from models.inbox import InboxEvent
        from shima.timeutil import now

        await InboxEvent.create(
            webhook_event_id="e1",
            line_user_id="U1",
            event_type="message",
            payload={},
            event_time=now(),
        )
        # The unique webhook id is in the migrated schema: a redelivery inserts nothing.
        await InboxEvent.bulk_create(
            [
                InboxEvent(
                    webhook_event_id="e1",
                    line_user_id="U1",
                    event_type="message",
                    payload={},
                    event_time=now(),
                )
            ],
            ignore_conflicts=True,
        )
        assert await InboxEvent.all().count() == 1
    finally:
        await Tortoise.close_connections()
