"""`shima seed-demo`: idempotent demo data. Each domain adds its seeder to SEEDERS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

# Each seeder creates what is missing and returns a short Japanese summary ("" if nothing).
SEEDERS: list[Callable[[], Awaitable[str]]] = []


async def seed() -> list[str]:
    summaries = [await seeder() for seeder in SEEDERS]
    return [s for s in summaries if s]
