"""A long LINE outage: pushes keep being retried (capped backoff) far past the old eight
attempts, then all arrive once, each resident's in the order they were queued."""

from __future__ import annotations

import asyncio

from line_app import outbox
from line_app.fake_line import FakeLinePlatform
from models.outbox import OutboxMessage, OutboxStatus
from shima.worker import Worker

RESIDENTS = 20
EACH = 3


async def test_outage_then_recovery_delivers_all_in_order_none_twice(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    fake_line.fail_next(503, times=10**9, path="/message/push")
    # The first message of each resident also times out once: LINE may have taken it.
    fake_line.delay_next(2.5, times=RESIDENTS // 2, path="/message/push")
    firsts = []
    for n in range(EACH):
        for r in range(RESIDENTS):
            message = [{"type": "text", "text": f"{n}"}]
            rows = await outbox.enqueue(f"U{r:02d}", message, kind="notice")
            firsts += [row.id for row in rows] if n == 0 else []

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while await OutboxMessage.filter(id__in=firsts, attempts__lt=12).exists():
        assert loop.time() < deadline, "retries stopped during the outage"
        await worker.run_outbox_once()
        await asyncio.sleep(0.01)
    assert fake_line.delivered() == []
    assert not await OutboxMessage.filter(status__in=outbox.FOR_STAFF).exists()

    fake_line.clear_failures()  # LINE is back
    deadline = loop.time() + 30
    while await OutboxMessage.exclude(status=OutboxStatus.SENT).exists():
        assert loop.time() < deadline, "not all delivered after the outage"
        await worker.run_outbox_once()
        await asyncio.sleep(0.01)

    for r in range(RESIDENTS):
        got = [m["text"] for d in fake_line.delivered(f"U{r:02d}") for m in d.messages]
        assert got == [str(n) for n in range(EACH)], (r, got)


async def test_backoff_is_capped() -> None:
    from shima.settings import Settings

    settings = Settings()
    assert settings.backoff_max_seconds == 300
    assert max(outbox.backoff(n, settings) for n in range(1, 60)) <= 300 * 1.2
    assert settings.send_give_up_hours == 24
