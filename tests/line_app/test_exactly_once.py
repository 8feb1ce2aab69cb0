"""Exactly once as far as physically knowable, for 180 residents: LINE slow past our
timeout (taken, or not taken), and a worker killed mid-reply and restarted after the token's
life. Every resident gets their answer once, or it is shown as 配信状況不明 — none twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import httpx2

from line_app import outbox
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from models.inbox import InboxEvent, InboxStatus
from models.outbox import OutboxMessage, OutboxStatus
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker
from tests.line_app import events

SECRET = "test-channel-secret"
GROUP = 60


def users(group: int) -> list[str]:
    return [f"U{group}{i:03d}" for i in range(GROUP)]


async def say_all(client: httpx2.AsyncClient, fake: FakeLinePlatform, who: list[str]) -> None:
    batch = [events.text(u, fake.issue_reply_token(u), "メニュー") for u in who]
    assert (await events.post(client, SECRET, *batch)).status_code == 200


async def settle(worker: Worker, who: list[str], timeout: float = 20.0) -> None:
    """Run the worker until none of `who` has an open outbox row."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (
        await InboxEvent.filter(
            line_user_id__in=who, status__in=(InboxStatus.PENDING, InboxStatus.PROCESSING)
        ).exists()
        or await OutboxMessage.filter(
            line_user_id__in=who, status__in=(OutboxStatus.PENDING, OutboxStatus.SENDING)
        ).exists()
    ):
        assert loop.time() < deadline, "delivery did not settle"
        await worker.run_inbox_once()
        await worker.run_outbox_once()
        await asyncio.sleep(0.01)


async def test_180_residents_slow_line_and_a_kill_mid_reply_none_twice(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    settings = settings.with_overrides(line_timeout_seconds=0.3, lease_seconds=0.3)
    line = LineClient(settings)
    worker = Worker(settings, line)

    # 1. LINE takes the replies but answers after our timeout (twice in a row).
    taken = users(1)
    fake_line.delay_next(0.5, times=2 * GROUP, path="/message/reply")
    await say_all(client, fake_line, taken)
    await settle(worker, taken)

    # 2. LINE is slow past our timeout and does not take the replies.
    refused = users(2)
    fake_line.delay_next(0.5, times=GROUP, path="/message/reply")
    fake_line.fail_next(503, times=GROUP, path="/message/reply")
    await say_all(client, fake_line, refused)
    await settle(worker, refused)

    # 3. A worker marks the replies attempted, LINE takes half of them, and the worker is
    # killed; it restarts after the tokens' life.
    killed = users(3)
    await say_all(client, fake_line, killed)
    assert await worker.run_inbox_once() == GROUP
    rows = await outbox.claim("dying-worker", GROUP, settings.lease_seconds)
    await OutboxMessage.filter(id__in=[r.id for r in rows]).update(reply_attempted_at=now())
    for row in rows[::2]:
        assert row.reply_token
        assert (await line.reply(row.reply_token, row.messages)).outcome == "sent"
    fake_line.expire_reply_tokens()
    await OutboxMessage.filter(id__in=[r.id for r in rows]).update(
        reply_deadline=now() - timedelta(seconds=1)
    )
    await asyncio.sleep(0.35)  # the dead worker's lease runs out
    restarted = Worker(settings, line)
    await settle(restarted, killed)

    await asyncio.sleep(0.6)  # stalled requests finish on the platform; nothing more may come
    await restarted.drain()
    await line.close()

    per_user = Counter(d.user_id for d in fake_line.deliveries)
    everyone = taken + refused + killed
    assert all(per_user[u] <= 1 for u in everyone), "someone got a message twice"
    status = {r.line_user_id: r.status for r in await OutboxMessage.all()}
    for user in everyone:
        if status[user] == OutboxStatus.SENT:
            assert per_user[user] == 1, user
        else:
            assert status[user] == OutboxStatus.UNKNOWN, (user, status[user])
    # While the token lives, a retry as a reply settles it: nobody is left unknown.
    assert all(status[u] == OutboxStatus.SENT for u in taken + refused)
    # After the kill the outcome cannot be known: shown to staff, never pushed blindly.
    assert all(status[u] == OutboxStatus.UNKNOWN for u in killed)
    assert not [c for c in fake_line.calls if c.path.endswith("/push")]
    assert sum(per_user[u] for u in killed) == GROUP // 2


async def test_a_reply_timing_out_until_the_token_expires_is_unknown_not_pushed(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    # Our deadline is 1.2 s away: each reply call may take half of what is left, so the
    # stalled calls keep timing out until the token is past its life.
    settings = settings.with_overrides(line_timeout_seconds=5.0, reply_token_ttl_seconds=1.2)
    line = LineClient(settings)
    worker = Worker(settings, line)
    fake_line.delay_next(3.0, times=20, path="/message/reply")
    fake_line.fail_next(503, times=20, path="/message/reply")  # ... and never taken
    token = fake_line.issue_reply_token("U1")
    await events.post(client, SECRET, events.text("U1", token, "メニュー"))
    await settle(worker, ["U1"], timeout=10)
    await line.close()
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.UNKNOWN
    assert row.attempts >= 2  # retried as a reply while the token lived
    assert fake_line.delivered() == []
    assert not [c for c in fake_line.calls if c.path.endswith("/push")]

    # Staff resend it (one click on the undelivered page calls this): a push, once.
    assert await outbox.requeue_dead(row.id)
    line = LineClient(settings)
    await Worker(settings, line).drain()
    await line.close()
    [delivery] = fake_line.delivered("U1")
    assert delivery.via == "push"
