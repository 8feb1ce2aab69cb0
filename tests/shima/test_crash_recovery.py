"""kill -9 a real worker process at several points: every acknowledged event is answered
exactly once after restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx2
import pytest

from line_app.fake_line import FakeLinePlatform
from models.inbox import InboxEvent, InboxStatus
from models.outbox import OutboxMessage, OutboxStatus
from tests.line_app import events

SECRET = "test-channel-secret"
USERS = 20
PER_USER = 8


def start_worker(database_url: str, base_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
        "LINE_API_BASE_URL": base_url,
        "SECRET_KEY": "test-secret-key",
        "SHIMA_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SHIMA_LEASE_SECONDS": "1",
    }
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "shima.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


async def wait_for(fake: FakeLinePlatform, count: int, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(fake.deliveries) < count:
        assert loop.time() < deadline, f"only {len(fake.deliveries)} of {count} delivered"
        await asyncio.sleep(0.005)


@pytest.mark.slow
async def test_kill_9_at_several_points_answers_each_event_exactly_once(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, db: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    total = USERS * PER_USER
    for _ in range(PER_USER):
        batch = [
            events.text(f"U{u:03d}", fake_line.issue_reply_token(f"U{u:03d}"), "メニュー")
            for u in range(USERS)
        ]
        assert (await events.post(client, SECRET, *batch)).status_code == 200

    for kill_at in (total // 5, total // 2, (total * 4) // 5):
        worker = start_worker(db, fake_line.base_url, log)
        try:
            await wait_for(fake_line, kill_at)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)

    worker = start_worker(db, fake_line.base_url, log)
    try:
        await wait_for(fake_line, total)
        await asyncio.sleep(2.5)  # leases of the killed workers expire; nothing more may come
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
    assert worker.returncode == 0, log.read_text()[-3000:]

    per_user = Counter(d.user_id for d in fake_line.deliveries)
    assert per_user == Counter({f"U{u:03d}": PER_USER for u in range(USERS)})
    assert await InboxEvent.filter(status=InboxStatus.DONE).count() == total
    assert await OutboxMessage.exclude(status=OutboxStatus.SENT).count() == 0
    # Each user's answers arrived in the order they wrote.
    for u in range(USERS):
        mine = [d for d in fake_line.deliveries if d.user_id == f"U{u:03d}"]
        assert [d.seq for d in mine] == sorted(d.seq for d in mine)
