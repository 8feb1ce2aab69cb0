"""お知らせ配信's delivery, through the real worker and sender against the fake LINE platform on
loopback: batches of 500 by multicast with one stored retry key each, exactly once across
crashes, stops, 500s after LINE took a request, 429s and timeouts; the quota; skips; figures.
Plus the fake platform's multicast and quota endpoints the sender relies on."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import aiohttp
import httpx2
import pytest

from line_app import announcements
from line_app.client import LineClient, Outcome, QuotaUnavailable, SendResult
from line_app.fake_line import FakeLinePlatform, validate_messages
from line_app.notices.announce import Quota, messages_for, monthly_quota
from models.announcements import (
    Announcement,
    AnnouncementBatch,
    AnnouncementRecipient,
    AnnouncementStatus,
    BatchStatus,
    RecipientStatus,
)
from models.residents import Resident
from shima.domain import announcements as rules
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker
from tests.line_app import events

SECRET = "test-channel-secret"
MULTICAST = "/v2/bot/message/multicast"
MONTHLY = {"message": "You have reached your monthly limit."}


def user(n: int) -> str:
    return f"U{n:032x}"


async def residents(count: int, *, start: int = 1, named: bool = True) -> list[str]:
    at = now()
    ids = [user(n) for n in range(start, start + count)]
    await Resident.bulk_create(
        [
            Resident(
                line_user_id=u,
                display_name=f"住民{n}" if named else "",
                created_at=at,
                updated_at=at,
            )
            for n, u in enumerate(ids, start=start)
        ]
    )
    return ids


async def scheduled(**fields: Any) -> Announcement:
    values: dict[str, Any] = {
        "title": "12月の寺子屋",
        "body": "寺子屋のお知らせです。",
        "audience": {},
        "status": AnnouncementStatus.SCHEDULED,
        "send_at": now(),
    }
    return await Announcement.create(**{**values, **fields})


async def settle(worker: Worker, a_id: int, timeout: float = 20.0) -> Announcement:
    """Run the worker's announcement rounds until the announcement is finished."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        a = await Announcement.get(id=a_id)
        open_batches = await AnnouncementBatch.filter(
            announcement_id=a_id, status__in=[BatchStatus.PENDING, BatchStatus.SENDING]
        ).exists()
        if a.status not in (AnnouncementStatus.SCHEDULED, AnnouncementStatus.SENDING) and not (
            open_batches
        ):
            return a
        assert loop.time() < deadline, f"announcement {a_id} did not finish ({a.status})"
        await worker.run_announce_once()
        await asyncio.sleep(0.01)


def multicasts(fake: FakeLinePlatform) -> list[Any]:
    return [c for c in fake.calls if c.path == MULTICAST]


def per_user(fake: FakeLinePlatform) -> Counter[str]:
    return Counter(d.user_id for d in fake.deliveries)


async def statuses(a_id: int) -> Counter[str]:
    rows = await AnnouncementRecipient.filter(announcement_id=a_id).values_list("status", flat=True)
    return Counter(str(s) for s in rows)


@pytest.fixture
def one_batch_a_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches go one per round, in order (so a test can stop or change things between)."""
    monkeypatch.setattr(announcements, "CLAIM", 1)


# ---- batching ------------------------------------------------------------------------------


async def test_1201_residents_get_three_multicasts_of_500_500_201_and_each_one_message(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    everyone = await residents(1201)
    a = await scheduled()
    a = await settle(worker, a.id)

    calls = multicasts(fake_line)
    assert sorted(len(c.json["to"]) for c in calls) == [201, 500, 500]
    assert all(c.status == 200 for c in calls)
    keys = {b.retry_key for b in await AnnouncementBatch.filter(announcement_id=a.id)}
    assert {c.headers["x-line-retry-key"] for c in calls} == keys and len(keys) == 3
    assert per_user(fake_line) == Counter(everyone)  # everyone, once
    assert {d.via for d in fake_line.deliveries} == {"multicast"}
    [message] = fake_line.deliveries[0].messages
    assert (message["type"], message["text"]) == ("text", "寺子屋のお知らせです。")
    # The way to stop announcements without blocking the account (which stops reminders).
    [item] = message["quickReply"]["items"]
    assert item["action"]["data"] == "flow=notify"
    assert not [c for c in fake_line.calls if c.path.endswith("/push")]
    assert (a.status, a.recipients, a.delivered, a.failed, a.skipped) == (
        AnnouncementStatus.SENT,
        1201,
        1201,
        0,
        0,
    )
    assert a.finished_at is not None
    assert fake_line.quota_used == 1201
    assert await statuses(a.id) == Counter({RecipientStatus.DELIVERED.value: 1201})
    sizes = sorted(b.size for b in await AnnouncementBatch.filter(announcement_id=a.id))
    assert sizes == [201, 500, 500]


async def test_two_workers_at_once_never_send_a_batch_twice(
    fake_line: FakeLinePlatform, settings: Settings, line: LineClient
) -> None:
    everyone = await residents(1201)
    a = await scheduled()
    first, second = Worker(settings, line), Worker(settings, line)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while (await Announcement.get(id=a.id)).status != AnnouncementStatus.SENT:
        assert loop.time() < deadline
        await asyncio.gather(first.run_announce_once(), second.run_announce_once())
    assert len(multicasts(fake_line)) == 3
    assert per_user(fake_line) == Counter(everyone)


async def test_the_worker_loop_sends_a_scheduled_announcement(
    fake_line: FakeLinePlatform, settings: Settings, line: LineClient
) -> None:
    everyone = await residents(3)
    worker = Worker(settings, line)
    await worker.start()
    try:
        await scheduled(send_at=now() + timedelta(seconds=0.3))
        worker.wake_announcements()
        await fake_line.wait_for_deliveries(3, timeout=10)
    finally:
        await worker.stop()
    assert per_user(fake_line) == Counter(everyone)


# ---- crashes and stops ----------------------------------------------------------------------


async def test_a_dead_workers_batches_are_taken_over_after_their_lease_none_twice(
    fake_line: FakeLinePlatform,
    settings: Settings,
    line: LineClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    everyone = await residents(1201)
    a = await scheduled()
    assert await announcements.start_due(line) == 1
    # A worker claims batch 1, freezes and sends it — LINE takes it — and dies before it
    # records the answer; it had claimed batch 2 too and died before sending it.
    batch1, batch2 = await announcements.claim("dead-worker", 2, 60)
    with monkeypatch.context() as m:

        async def died(*args: Any) -> None:
            return None

        m.setattr(announcements, "_record", died)
        await announcements.deliver([batch1], line, settings)
    assert len(fake_line.deliveries) == 500

    # While its lease holds, a new worker leaves those two alone and sends batch 3.
    restarted = Worker(settings, line)
    await restarted.run_announce_once()
    assert len(multicasts(fake_line)) == 2
    held = await AnnouncementBatch.filter(id__in=[batch1.id, batch2.id])
    assert {b.status for b in held} == {BatchStatus.SENDING}

    # The lease runs out: taken over, batch 1 again with its key (409), batch 2 sent.
    await AnnouncementBatch.filter(id__in=[batch1.id, batch2.id]).update(
        lease_until=now() - timedelta(seconds=1)
    )
    a = await settle(restarted, a.id)
    answers = {c.headers["x-line-retry-key"]: c.status for c in multicasts(fake_line)[2:]}
    assert answers == {batch1.retry_key: 409, batch2.retry_key: 200}
    assert per_user(fake_line) == Counter(everyone)
    assert (a.status, a.delivered) == (AnnouncementStatus.SENT, 1201)
    taken_over = await AnnouncementBatch.get(id=batch1.id)
    assert taken_over.outcome_unknown  # it may have reached LINE: never "failed" blindly


async def test_a_worker_stopped_after_the_first_batch_leaves_the_rest_to_the_next(
    fake_line: FakeLinePlatform, settings: Settings, line: LineClient, one_batch_a_round: None
) -> None:
    everyone = await residents(1201)
    a = await scheduled()
    # The second request is slow: the stop comes before it, or while it is in flight (a
    # graceful stop lets it finish); either way the third batch is left for the next worker.
    fake_line.delay_next(0.0, path=MULTICAST)
    fake_line.delay_next(0.5, path=MULTICAST)
    worker = Worker(settings, line)
    await worker.start()
    await fake_line.wait_for_deliveries(500, timeout=10)
    await worker.stop()
    assert len(fake_line.deliveries) in (500, 1000)
    batches = await AnnouncementBatch.filter(announcement_id=a.id).order_by("seq")
    assert batches[0].status == BatchStatus.SENT
    assert batches[2].status == BatchStatus.PENDING
    assert not [b for b in batches if b.status == BatchStatus.SENDING]  # released

    a = await settle(Worker(settings, line), a.id)
    assert per_user(fake_line) == Counter(everyone)
    assert a.delivered == 1201


async def test_a_worker_stopped_mid_request_then_the_retry_key_settles_it(
    fake_line: FakeLinePlatform, settings: Settings, line: LineClient
) -> None:
    everyone = await residents(30)
    a = await scheduled()
    fake_line.delay_next(1.0, path=MULTICAST)  # LINE is slow; it takes the request anyway
    worker = Worker(settings, line)
    await worker.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not multicasts(fake_line):
        assert loop.time() < deadline
        await asyncio.sleep(0.01)
    await worker.stop(grace_seconds=0.1)  # cut off mid-request
    [batch] = await AnnouncementBatch.filter(announcement_id=a.id)
    assert batch.status == BatchStatus.PENDING and batch.outcome_unknown

    a = await settle(Worker(settings, line), a.id)
    await asyncio.sleep(1.0)  # the stalled request is answered on the platform meanwhile
    assert per_user(fake_line) == Counter(everyone)
    assert {c.headers["x-line-retry-key"] for c in multicasts(fake_line)} == {batch.retry_key}
    assert a.delivered == 30


# ---- LINE's answers -----------------------------------------------------------------------


async def test_a_500_after_line_accepted_is_retried_with_the_same_key_and_gets_409(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    everyone = await residents(10)
    a = await scheduled()
    fake_line.accept_then_fail(500, path=MULTICAST)
    a = await settle(worker, a.id)
    first, retry = multicasts(fake_line)
    assert (first.status, retry.status) == (500, 409)
    assert first.headers["x-line-retry-key"] == retry.headers["x-line-retry-key"]
    assert per_user(fake_line) == Counter(everyone)
    assert (a.delivered, a.failed) == (10, 0)
    [batch] = await AnnouncementBatch.filter(announcement_id=a.id)
    assert (batch.status, batch.attempts) == (BatchStatus.SENT, 2)


async def test_429_then_success_with_the_same_key(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    everyone = await residents(10)
    a = await scheduled()
    fake_line.fail_next(429, times=2, path=MULTICAST)
    a = await settle(worker, a.id)
    calls = multicasts(fake_line)
    assert [c.status for c in calls] == [429, 429, 200]
    assert len({c.headers["x-line-retry-key"] for c in calls}) == 1
    assert per_user(fake_line) == Counter(everyone)
    assert a.delivered == 10


async def test_a_timeout_is_retried_with_the_same_key_whether_or_not_line_took_it(
    fake_line: FakeLinePlatform, settings: Settings
) -> None:
    # The retry comes after the stalled request is over (a backoff of about a second).
    settings = settings.with_overrides(
        line_timeout_seconds=0.3, backoff_base_seconds=1.0, backoff_max_seconds=1.0
    )
    line = LineClient(settings)
    worker = Worker(settings, line)
    try:
        # Taken after our timeout: the retry is answered 409.
        taken = await residents(10)
        fake_line.delay_next(0.6, path=MULTICAST)
        a = await settle(worker, (await scheduled()).id)
        assert [c.status for c in multicasts(fake_line)] == [200, 409]
        assert per_user(fake_line) == Counter(taken)
        assert a.delivered == 10
        assert (await AnnouncementBatch.get(announcement_id=a.id)).outcome_unknown
        # Not taken (slow, then an error): the retry sends it.
        fake_line.reset()
        await Resident.filter(line_user_id__in=taken).update(is_following=False)
        later = await residents(10, start=100)
        fake_line.delay_next(0.6, path=MULTICAST)
        fake_line.fail_next(503, path=MULTICAST)
        b = await settle(worker, (await scheduled()).id)
    finally:
        await line.close()
    assert [c.status for c in multicasts(fake_line)] == [503, 200]
    assert per_user(fake_line) == Counter(later)
    assert len({c.headers["x-line-retry-key"] for c in multicasts(fake_line)}) == 1
    assert b.delivered == 10


async def test_timeouts_past_the_keys_life_leave_it_unknown_never_resent_blindly(
    fake_line: FakeLinePlatform, settings: Settings
) -> None:
    settings = settings.with_overrides(line_timeout_seconds=0.2)
    line = LineClient(settings)
    worker = Worker(settings, line)
    await residents(5)
    a = await scheduled()
    fake_line.delay_next(0.5, times=100, path=MULTICAST)
    fake_line.fail_next(503, times=100, path=MULTICAST)  # ... and never taken
    await worker.run_announce_once()
    [batch] = await AnnouncementBatch.filter(announcement_id=a.id)
    assert batch.outcome_unknown and batch.status == BatchStatus.PENDING
    # The first attempt was almost a day ago: LINE is about to forget the key.
    await AnnouncementBatch.filter(id=batch.id).update(
        frozen_at=now() - announcements.RETRY_KEY_LIFE, next_attempt_at=now()
    )
    a = await settle(worker, a.id)
    await line.close()
    batch = await AnnouncementBatch.get(id=batch.id)
    assert batch.status == BatchStatus.UNKNOWN
    assert (a.status, a.delivered, a.failed) == (AnnouncementStatus.SENT, 0, 0)
    # Nobody knows whether they got it: their rows stay pending (not "failed").
    assert await statuses(a.id) == Counter({RecipientStatus.PENDING.value: 5})


async def test_errors_until_the_give_up_time_fail_the_batch(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    await residents(5)
    a = await scheduled()
    fake_line.fail_next(503, times=100, path=MULTICAST)
    await worker.run_announce_once()
    [batch] = await AnnouncementBatch.filter(announcement_id=a.id)
    assert batch.status == BatchStatus.PENDING and batch.failing_since is not None
    await AnnouncementBatch.filter(id=batch.id).update(
        failing_since=now() - timedelta(hours=2), next_attempt_at=now()
    )
    a = await settle(worker, a.id)
    assert (await AnnouncementBatch.get(id=batch.id)).status == BatchStatus.FAILED
    assert (a.delivered, a.failed) == (0, 5)
    assert fake_line.deliveries == []


async def test_a_4xx_fails_the_batch_at_once_and_the_others_still_go(
    fake_line: FakeLinePlatform, worker: Worker, one_batch_a_round: None
) -> None:
    await residents(1100)
    a = await scheduled()
    fake_line.fail_next(400, path=MULTICAST)
    a = await settle(worker, a.id)
    batches = await AnnouncementBatch.filter(announcement_id=a.id).order_by("seq")
    assert [b.status for b in batches] == [BatchStatus.FAILED, BatchStatus.SENT, BatchStatus.SENT]
    assert batches[0].attempts == 1
    assert (a.recipients, a.delivered, a.failed, a.skipped) == (1100, 600, 500, 0)


async def test_the_months_limit_reached_at_line_fails_without_retrying(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    await residents(5)
    a = await scheduled()
    fake_line.fail_next(429, path=MULTICAST, body=MONTHLY)
    a = await settle(worker, a.id)
    assert len(multicasts(fake_line)) == 1
    assert (a.delivered, a.failed) == (0, 5)


# ---- the quota --------------------------------------------------------------------------------


async def test_an_announcement_the_quota_does_not_cover_is_refused_and_nothing_sent(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    await residents(60)
    fake_line.quota_limit, fake_line.quota_used = 1000, 900
    a = await scheduled(
        card_title="寺子屋", card_label="詳しく見る", card_url="https://example.jp/"
    )
    a = await settle(worker, a.id)  # 60 × 2 messages = 120 > 100 left
    assert a.status == AnnouncementStatus.REFUSED
    assert a.quota_note
    assert multicasts(fake_line) == [] and fake_line.deliveries == []
    assert not await AnnouncementBatch.filter(announcement_id=a.id).exists()

    fake_line.quota_used = 880  # 120 left: it fits exactly
    b = await settle(worker, (await scheduled(body="二通目")).id)
    assert (b.status, b.delivered) == (AnnouncementStatus.SENT, 60)
    assert fake_line.quota_used == 940


async def test_when_the_quota_cannot_be_read_it_waits_then_starts_anyway(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    await residents(5)
    a = await scheduled()
    fake_line.fail_next(500, times=100, path="/quota")
    assert await worker.run_announce_once() == 0
    assert (await Announcement.get(id=a.id)).status == AnnouncementStatus.SCHEDULED
    assert fake_line.deliveries == []

    await Announcement.filter(id=a.id).update(
        send_at=now() - announcements.QUOTA_WAIT - timedelta(seconds=1)
    )
    a = await settle(worker, a.id)
    assert a.delivered == 5


async def test_monthly_quota_reads_limit_and_consumption(
    fake_line: FakeLinePlatform, line: LineClient
) -> None:
    assert await monthly_quota(line) == Quota(limit=None, used=0)
    assert (await monthly_quota(line)).remaining is None
    fake_line.quota_limit, fake_line.quota_used = 200, 150
    quota = await monthly_quota(line)
    assert (quota.limit, quota.used, quota.remaining, quota.error) == (200, 150, 50, "")
    fake_line.quota_used = 260
    assert (await monthly_quota(line)).remaining == 0
    fake_line.fail_next(503, path="/quota/consumption")
    broken = await monthly_quota(line)
    assert broken.error and broken.limit is None and broken.remaining is None


# ---- who gets it ----------------------------------------------------------------------------


async def test_residents_who_leave_before_their_batch_are_skipped(
    client: httpx2.AsyncClient,
    fake_line: FakeLinePlatform,
    worker: Worker,
    line: LineClient,
    one_batch_a_round: None,
) -> None:
    everyone = await residents(1001)  # batches of 500, 500, 1
    a = await scheduled()
    await announcements.start_due(line)
    assert (await Announcement.get(id=a.id)).recipients == 1001
    await worker.run_announce_once()  # batch 1 goes
    assert len(fake_line.deliveries) == 500
    # Then one resident of batch 1 (too late: they have it) and one of batch 2 unfollow (a
    # real webhook), one of batch 2 opts out, and the one of batch 3 is erased.
    for gone in (everyone[10], everyone[600]):
        assert (await events.post(client, SECRET, events.unfollow(gone))).status_code == 200
    await worker.run_inbox_once()
    await Resident.filter(line_user_id=everyone[700]).update(
        announcements_opt_out=True, announcements_opt_out_at=now()
    )
    await Resident.filter(line_user_id=everyone[1000]).update(
        erased_at=now(), line_user_id="erased-0123456789abcdef", display_name=""
    )
    a = await settle(worker, a.id)

    got = per_user(fake_line)
    assert got[everyone[10]] == 1
    assert all(got[u] == 0 for u in (everyone[600], everyone[700], everyone[1000]))
    assert not any(u.startswith("erased-") for c in multicasts(fake_line) for u in c.json["to"])
    assert sum(got.values()) == 998 and max(got.values()) == 1
    assert (a.recipients, a.delivered, a.failed, a.skipped) == (1001, 998, 0, 3)
    batches = await AnnouncementBatch.filter(announcement_id=a.id).order_by("seq")
    assert [b.size for b in batches] == [500, 498, 0]
    assert [b.status for b in batches] == [BatchStatus.SENT] * 3
    assert len(multicasts(fake_line)) == 2  # nothing sent for the empty batch


async def test_a_resident_erased_between_attempts_is_left_out_of_the_retry(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    everyone = await residents(3)
    a = await scheduled()
    fake_line.fail_next(503, path=MULTICAST)
    await worker.run_announce_once()
    await Resident.filter(line_user_id=everyone[0]).update(
        erased_at=now(), line_user_id="erased-00000000000000aa"
    )
    a = await settle(worker, a.id)
    assert per_user(fake_line) == Counter(everyone[1:])
    assert (a.delivered, a.skipped) == (2, 1)


async def test_a_personalised_text_goes_by_push_with_each_name(
    fake_line: FakeLinePlatform, worker: Worker
) -> None:
    named = await residents(2)
    nameless = await residents(1, start=50, named=False)
    a = await scheduled(body="{名前}さん、寺子屋のお知らせです。")
    fake_line.fail_next(503, path="/message/push")  # one push retried: still once
    a = await settle(worker, a.id)
    texts = {d.user_id: d.messages[0]["text"] for d in fake_line.deliveries}
    assert texts == {
        named[0]: "住民1さん、寺子屋のお知らせです。",
        named[1]: "住民2さん、寺子屋のお知らせです。",
        nameless[0]: "みなさん、寺子屋のお知らせです。",  # not 「利用者さん」: さん goes too
    }
    assert {d.via for d in fake_line.deliveries} == {"push"}
    assert multicasts(fake_line) == []
    batches = await AnnouncementBatch.filter(announcement_id=a.id)
    assert len(batches) == 3
    keys = {b.retry_key for b in batches}
    assert {d.retry_key for d in fake_line.deliveries} == keys
    assert a.delivered == 3


@pytest.mark.parametrize(
    ("body", "nameless"),
    [
        ("{名前}さん、こんにちは。", "みなさん、こんにちは。"),
        ("{名前} 様へ", "みなさまへ"),
        ("{名前}、こんにちは。{名前}さんのご参加を", "みなさん、こんにちは。みなさんのご参加を"),
    ],
)
def test_a_nameless_resident_is_greeted_as_everyone(
    body: str, nameless: str, settings: Settings
) -> None:
    a = Announcement(title="t", body=body)
    [message] = messages_for(a, name=None, settings=settings)
    assert message["text"] == nameless
    [message] = messages_for(a, name="奄美 花子", settings=settings)
    assert message["text"] == body.replace("{名前}", "奄美 花子")


def test_a_card_without_text_is_its_title_and_button(settings: Settings) -> None:
    a = Announcement(
        title="t", body="", card_title="寺子屋", card_label="見る", card_url="https://example.jp/"
    )
    [card] = messages_for(a, name=None, settings=settings)
    assert validate_messages([card]) == []
    body = card["contents"]["body"]["contents"]
    assert [c["type"] for c in body] == ["text"] and body[0]["text"] == "寺子屋"


async def test_text_image_and_card_pass_line_validation_and_cost_three_each(
    fake_line: FakeLinePlatform, worker: Worker, settings: Settings
) -> None:
    everyone = await residents(4)
    a = await scheduled(
        image_token="tok123",
        card_title="寺子屋 12月",
        card_text="託児つきです。",
        card_label="申し込む",
        card_url="https://example.jp/terakoya",
    )
    messages = messages_for(a, name=None, settings=settings)
    assert validate_messages(messages) == []
    assert [m["type"] for m in messages] == ["text", "image", "flex"]
    base = settings.public_base_url
    assert messages[1] == {
        "type": "image",
        "originalContentUrl": f"{base}/admin/announcements/public/tok123.jpg",
        "previewImageUrl": f"{base}/admin/announcements/public/tok123_p.jpg",
    }
    assert messages[2]["altText"] == "寺子屋 12月"
    [button] = messages[2]["contents"]["footer"]["contents"]
    assert button["action"] == {
        "type": "uri",
        "label": "申し込む",
        "uri": "https://example.jp/terakoya",
    }
    a = await settle(worker, a.id)
    assert per_user(fake_line) == Counter(everyone)
    assert fake_line.deliveries[0].messages == messages
    assert fake_line.quota_used == 12 and a.messages_per_recipient == 3


# ---- the fake platform's multicast and quota --------------------------------------------------


async def raw(
    fake: FakeLinePlatform,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            fake.base_url + path,
            json=body,
            headers={"Authorization": "Bearer test-access-token", **(headers or {})},
        ) as resp,
    ):
        return resp.status, await resp.json(), dict(resp.headers)


async def test_fake_multicast_validates_like_line(fake_line: FakeLinePlatform) -> None:
    message = [{"type": "text", "text": "x"}]
    status, body, _ = await raw(fake_line, "POST", MULTICAST, {"to": [], "messages": message})
    assert (status, body["details"][0]["property"]) == (400, "to")
    too_many = [user(n) for n in range(501)]
    status, body, _ = await raw(fake_line, "POST", MULTICAST, {"to": too_many, "messages": message})
    assert status == 400 and "500" in body["details"][0]["message"]
    status, body, _ = await raw(
        fake_line, "POST", MULTICAST, {"to": [user(1)], "messages": [{"type": "text"}]}
    )
    assert status == 400 and body["details"][0]["property"] == "messages[0].text"
    status, _, _ = await raw(
        fake_line,
        "POST",
        MULTICAST,
        {"to": [user(1)], "messages": message},
        {"X-Line-Retry-Key": "nope"},
    )
    assert status == 400
    assert fake_line.deliveries == []


async def test_fake_multicast_honours_the_retry_key_and_the_quota(
    fake_line: FakeLinePlatform, line: LineClient
) -> None:
    key = str(uuid.uuid4())
    message = [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]
    first = await line.multicast([user(1), user(2)], message, key)
    again = await line.multicast([user(1), user(2)], message, key)
    assert (first.outcome, again.outcome) == (Outcome.SENT, Outcome.ALREADY_ACCEPTED)
    assert multicasts(fake_line)[1].status == 409
    assert [(d.user_id, d.via) for d in fake_line.deliveries] == [
        (user(1), "multicast"),
        (user(2), "multicast"),
    ]
    assert fake_line.quota_used == 4  # 2 messages × 2 users; the 409 used nothing

    fake_line.quota_limit = 5
    over = await line.multicast([user(1)], message, str(uuid.uuid4()))
    assert (over.outcome, over.status) == (Outcome.REJECTED, 429)
    push = await line.push(user(3), message, str(uuid.uuid4()))
    assert push.outcome == Outcome.REJECTED
    assert await line.push(user(3), message[:1], str(uuid.uuid4())) == SendResult(Outcome.SENT, 200)
    assert fake_line.quota_used == 5
    token = fake_line.issue_reply_token(user(4))
    assert (await line.reply(token, message)).outcome == Outcome.SENT  # replies are free
    assert fake_line.quota_used == 5


async def test_fake_quota_endpoints_and_rate_limit_429_is_retried(
    fake_line: FakeLinePlatform, line: LineClient
) -> None:
    assert await line.quota() is None
    status, body, _ = await raw(fake_line, "GET", "/v2/bot/message/quota")
    assert (status, body) == (200, {"type": "none"})
    fake_line.quota_limit, fake_line.quota_used = 1000, 12
    assert (await line.quota(), await line.consumption()) == (1000, 12)
    status, body, _ = await raw(fake_line, "GET", "/v2/bot/message/quota/consumption")
    assert body == {"totalUsage": 12}
    fake_line.fail_next(500, path="/quota")
    with pytest.raises(QuotaUnavailable):
        await line.quota()
    fake_line.fail_next(429, path=MULTICAST)  # a rate limit, not the month's limit
    result = await line.multicast([user(1)], [{"type": "text", "text": "x"}], str(uuid.uuid4()))
    assert result.outcome == Outcome.RETRY


async def test_fake_accept_then_fail_delivers_and_answers_the_error(
    fake_line: FakeLinePlatform, line: LineClient
) -> None:
    key = str(uuid.uuid4())
    fake_line.accept_then_fail(500, path="/message/push")
    result = await line.push(user(1), [{"type": "text", "text": "x"}], key)
    assert (result.outcome, result.status) == (Outcome.RETRY, 500)
    assert len(fake_line.deliveries) == 1
    again = await line.push(user(1), [{"type": "text", "text": "x"}], key)
    assert again.outcome == Outcome.ALREADY_ACCEPTED
    assert [c.status for c in fake_line.calls] == [500, 409]
    fake_line.accept_then_fail(503, times=3)
    fake_line.clear_failures()
    result = await line.push(user(2), [{"type": "text", "text": "x"}], str(uuid.uuid4()))
    assert result.outcome == Outcome.SENT


async def test_many_workers_claiming_at_once_each_batch_goes_once(
    fake_line: FakeLinePlatform,
    settings: Settings,
    line: LineClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules, "BATCH_SIZE", 5)
    monkeypatch.setattr(announcements, "CLAIM", 1)
    everyone = await residents(400)  # 80 batches, 8 workers claiming each round
    a = await scheduled()
    workers = [Worker(settings, line) for _ in range(8)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while (await Announcement.get(id=a.id)).status != AnnouncementStatus.SENT:
        assert loop.time() < deadline
        await asyncio.gather(*(w.run_announce_once() for w in workers))
    calls = multicasts(fake_line)
    assert [c.status for c in calls] == [200] * 80  # no batch sent twice (not even a 409)
    assert per_user(fake_line) == Counter(everyone)


async def test_a_batch_two_workers_saw_free_is_taken_by_one_only(
    fake_line: FakeLinePlatform, line: LineClient
) -> None:
    await residents(3)
    await scheduled()
    await announcements.start_due(line)
    at = now()
    # Both looked before either took it (the race the compare-and-set is for) ...
    first, second = await announcements._candidates(at, 5), await announcements._candidates(at, 5)
    assert first == second and len(first) == 1
    # ... and only the first to take it gets it.
    assert len(await announcements._take(first, "worker-a:1", at, 30)) == 1
    assert await announcements._take(second, "worker-b:1", at, 30) == []
    [batch] = await AnnouncementBatch.all()
    assert batch.worker_id == "worker-a:1"
