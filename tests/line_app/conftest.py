from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from line_app.client import LineClient
from shima.settings import Settings
from shima.worker import Worker


@pytest.fixture
async def line(settings: Settings) -> AsyncIterator[LineClient]:
    client = LineClient(settings)
    yield client
    await client.close()


@pytest.fixture
def worker(settings: Settings, line: LineClient) -> Worker:
    return Worker(settings, line)
