"""Delivery: reply while fresh, else push with a retry key; retries, dead letters, and
exactly-once across crashes (a "crash" here is a worker that stops mid-way and is replaced)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx2
import pytest

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


async def run_until(worker: Worker, done: Callable[[], bool], timeout: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, "timed out waiting for delivery"
        await worker.run_inbox_once()
        await worker.run_outbox_once()
        await asyncio.sleep(0.02)


async def say(client: httpx2.AsyncClient, fake: FakeLinePlatform, user: str, word: str) -> None:
    token = fake.issue_reply_token(user)
    assert (await events.post(client, SECRET, events.text(user, token, word))).status_code == 200


async def test_crash_between_commit_and_send_delivers_exactly_once(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    await say(client, fake_line, "U1", "メニュー")
    first = Worker(settings, LineClient(settings))
    assert await first.run_inbox_once() == 1  # committed: event done, reply queued
    await first.line.close()  # ... and the process dies before sending anything
    assert fake_line.delivered() == []

    line = LineClient(settings)
    restarted = Worker(settings, line)
    await restarted.drain()
    await restarted.drain()
    await line.close()
    [delivery] = fake_line.delivered("U1")
    assert delivery.via == "reply"
    assert (await OutboxMessage.get()).status == OutboxStatus.SENT


async def test_crash_after_claim_is_taken_over_after_the_lease(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    settings = settings.with_overrides(lease_seconds=0.3)
    await say(client, fake_line, "U1", "メニュー")
    from line_app import inbox

    claimed = await inbox.claim("dead-worker", 10, settings.lease_seconds)
    assert len(claimed) == 1  # claimed, then the process is killed

    line = LineClient(settings)
    restarted = Worker(settings, line)
    assert await restarted.run_inbox_once() == 0  # the lease still holds
    await asyncio.sleep(0.35)
    await run_until(restarted, lambda: len(fake_line.delivered("U1")) >= 1)
    await asyncio.sleep(0.1)
    await restarted.drain()
    await line.close()
    assert len(fake_line.delivered("U1")) == 1
    event = await InboxEvent.get()
    assert event.status == InboxStatus.DONE and event.attempts == 2


async def test_crash_during_the_reply_call_does_not_send_twice(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings, worker: Worker
) -> None:
    settings = settings.with_overrides(lease_seconds=0.3)
    await say(client, fake_line, "U1", "メニュー")
    await worker.run_inbox_once()
    # A worker claims the row, marks the reply as attempted, LINE takes the reply ... and the
    # worker dies before recording it.
    [row] = await outbox.claim("dying-worker", 10, settings.lease_seconds)
    await OutboxMessage.filter(id=row.id).update(reply_attempted_at=now())
    assert row.reply_token
    result = await worker.line.reply(row.reply_token, row.messages)
    assert result.outcome == "sent"

    await asyncio.sleep(0.35)
    restarted = Worker(settings, worker.line)
    await restarted.drain()
    assert len(fake_line.delivered("U1")) == 1
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.SENT and row.sent_via == "reply"
    assert not [c for c in fake_line.calls if c.path.endswith("/push")]


async def test_line_500_and_429_then_recovery(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    await say(client, fake_line, "U1", "メニュー")
    fake_line.fail_next(500, times=1, path="/message/reply")
    fake_line.fail_next(429, times=1, path="/message/reply")
    await run_until(worker, lambda: len(fake_line.delivered("U1")) == 1)
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.SENT
    assert row.sent_via == "reply"  # LINE answered: the token was unused, still fresh
    assert row.attempts == 3


async def test_timeouts_then_recovery_deliver_once(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    settings = settings.with_overrides(line_timeout_seconds=0.3)
    line = LineClient(settings)
    worker = Worker(settings, line)
    await say(client, fake_line, "U1", "メニュー")
    fake_line.delay_next(0.8, times=2)  # the reply stalls past our timeout (twice)
    await run_until(worker, lambda: bool(fake_line.delivered("U1")))
    await asyncio.sleep(1.0)  # let any stalled request finish on the platform
    await run_until(worker, lambda: True)
    await worker.drain()
    await line.close()
    assert len(fake_line.delivered("U1")) == 1
    assert (await OutboxMessage.get()).status == OutboxStatus.SENT


async def test_expired_reply_token_falls_back_to_push_with_retry_key(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    await say(client, fake_line, "U1", "メニュー")
    fake_line.expire_reply_tokens()
    await worker.drain()
    [delivery] = fake_line.delivered("U1")
    assert delivery.via == "push"
    row = await OutboxMessage.get()
    assert delivery.retry_key == row.retry_key


async def test_stale_reply_deadline_pushes_without_trying_reply(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    settings = settings.with_overrides(reply_token_ttl_seconds=0)
    line = LineClient(settings)
    worker = Worker(settings, line)
    await say(client, fake_line, "U1", "メニュー")
    await worker.drain()
    await line.close()
    assert [d.via for d in fake_line.delivered("U1")] == ["push"]
    assert not [c for c in fake_line.calls if c.path.endswith("/reply")]


async def test_push_accepted_but_answer_lost_is_not_sent_twice(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    settings = settings.with_overrides(reply_token_ttl_seconds=0, line_timeout_seconds=0.3)
    line = LineClient(settings)
    worker = Worker(settings, line)
    await say(client, fake_line, "U1", "メニュー")
    fake_line.delay_next(0.6, times=1, path="/message/push")  # LINE takes it, we time out
    await run_until(worker, lambda: bool(fake_line.delivered("U1")))
    await asyncio.sleep(0.8)  # our retry is due after the backoff
    await run_until(worker, lambda: any(c.status == 409 for c in fake_line.calls))
    await line.close()
    assert len(fake_line.delivered("U1")) == 1
    pushes = [c for c in fake_line.calls if c.path.endswith("/push")]
    assert len({c.headers["x-line-retry-key"] for c in pushes}) == 1  # the same key each time
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.SENT and row.sent_via == "push"


async def test_gives_up_into_a_dead_letter_then_staff_requeue(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    settings = settings.with_overrides(send_give_up_hours=0.5 / 3600)  # half a second
    line = LineClient(settings)
    worker = Worker(settings, line)
    await say(client, fake_line, "U1", "メニュー")
    fake_line.fail_next(503, times=10_000)
    await worker.run_inbox_once()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while (await OutboxMessage.get()).status != OutboxStatus.DEAD:
        assert loop.time() < deadline, "never gave up"
        await worker.run_outbox_once()
        await asyncio.sleep(0.03)
    row = await OutboxMessage.get()
    assert row.attempts > 3
    assert "503" in (row.last_error or "")
    assert fake_line.delivered() == []

    fake_line.clear_failures()
    assert await outbox.requeue_dead(row.id)
    assert not await outbox.requeue_dead(row.id)  # a second tap changes nothing
    await worker.drain()
    await line.close()
    [delivery] = fake_line.delivered("U1")
    assert delivery.via == "push"


async def test_rejected_message_is_dead_at_once(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    await outbox.enqueue("U1", [{"type": "text", "text": ""}], kind="notice")  # LINE: 400
    await worker.drain()
    row = await OutboxMessage.get()
    assert row.status == OutboxStatus.DEAD
    assert row.attempts == 1
    assert await outbox.discard_dead(row.id)
    assert (await OutboxMessage.get()).status == OutboxStatus.CANCELLED


async def test_dedupe_key_queues_once(fake_line: FakeLinePlatform, worker: Worker) -> None:
    message = {"type": "text", "text": "明日はご予約の日です"}
    await outbox.enqueue("U1", [message], kind="reminder", dedupe_key="reminder:1")
    await outbox.enqueue("U1", [message], kind="reminder", dedupe_key="reminder:1")
    await worker.drain()
    assert len(fake_line.delivered("U1")) == 1


async def test_more_than_five_messages_go_in_order(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    messages = [{"type": "text", "text": f"{i}"} for i in range(7)]
    await outbox.enqueue("U1", messages, kind="notice")
    await worker.drain()
    await worker.drain()
    got = [m["text"] for d in fake_line.delivered("U1") for m in d.messages]
    assert got == [str(i) for i in range(7)]


async def test_worker_gives_way_to_webhooks_but_never_starves(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    from line_app import webhook

    await say(client, fake_line, "U1", "メニュー")
    webhook.pressure.inflight += 1  # a request that never finishes: constant load
    try:
        await worker.start()
        await fake_line.wait_for_deliveries(1, "U1", timeout=3.0)
    finally:
        webhook.pressure.inflight -= 1
        await worker.stop()
    assert len(fake_line.delivered("U1")) == 1


async def test_a_failing_flow_does_not_hold_back_the_rest_of_the_batch(
    client: httpx2.AsyncClient,
    fake_line: FakeLinePlatform,
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_handle = worker.router.handle

    async def broken_for_u1(turn):  # type: ignore[no-untyped-def]
        if turn.user_id == "U1":
            raise RuntimeError("bug in a flow")
        await real_handle(turn)

    monkeypatch.setattr(worker.router, "handle", broken_for_u1)
    await say(client, fake_line, "U1", "メニュー")
    await say(client, fake_line, "U2", "メニュー")
    assert await worker.run_inbox_once() == 2  # one batch: rolled back, then one by one
    await worker.run_outbox_once()
    assert len(fake_line.delivered("U2")) == 1
    assert fake_line.delivered("U1") == []
    failed = await InboxEvent.get(line_user_id="U1")
    assert failed.status == InboxStatus.PENDING and failed.last_error == "RuntimeError"
    assert await OutboxMessage.filter(line_user_id="U1").count() == 0


async def test_graceful_shutdown_releases_what_the_worker_holds(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    from line_app import inbox

    await say(client, fake_line, "U1", "メニュー")
    [held] = await inbox.claim(worker.id, 10, 60)  # claimed with a long lease, not handled
    await worker.stop()
    event = await InboxEvent.get(id=held.id)
    assert event.status == InboxStatus.PENDING and event.lease_until is None
    assert event.attempts == 0  # a release is not a failed attempt
    other = Worker(worker.settings, worker.line)
    await other.drain()
    assert len(fake_line.delivered("U1")) == 1
