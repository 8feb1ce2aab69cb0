"""ハンドメイドマーケット notices, counted at the fake LINE platform after the worker delivers:
結果を通知 tells each decided applicant exactly once — across a crash in the middle of
queueing (rolled back, then sent again), LINE failing or stalling after some pushes, a
worker killed between claiming the rows and recording them, and send_results called twice —
with the wording of each result; the 差し戻し push once per nonce; a staff withdrawal tells
the artist and offers the booth to the first 補欠 (出店する / 辞退する, the deadline in JST);
an offer left to lapse is expired once and passed on once, across two workers."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

import httpx2
import pytest
from tortoise.transactions import in_transaction

from line_app import outbox
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from line_app.notices import market as notices
from models.market import ApplicationStatus, Market, MarketApplication, MarketStatus
from models.outbox import OutboxMessage, OutboxStatus
from models.residents import Resident
from shima.domain import market as rules
from shima.settings import Settings
from shima.timeutil import JST, jst_datetime, now, today_jst
from shima.worker import Worker
from tests.line_app.test_course_offers import answer, button_data, data_of, pushes, shown, tap

FIRST_DAY = today_jst() + timedelta(days=30)
STAFF_ID = 7
ACCEPTED = "出店決定のお知らせ"
RESERVE = "選考結果のお知らせ（補欠）"
REJECTED = "今回はご出店いただけないこととなりました"
OFFER = "補欠のご案内（ブースに空きが出ました）"
EXPIRED = "次の補欠の方にお譲りしました"


class Clock:
    """The market rules' clock (shima.domain.market.now), moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def day(self, days: int, hour: int, minute: int = 0) -> datetime:
        return jst_datetime(FIRST_DAY + timedelta(days=days), time(hour, minute))

    def tick(self, minutes: int = 1) -> None:
        self.at += timedelta(minutes=minutes)


def set_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """10:00 JST on a day a month ahead: the window closed, the market 10 days later."""
    c = Clock(jst_datetime(FIRST_DAY, time(10)))
    monkeypatch.setattr(rules, "now", c)
    return c


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return set_clock(monkeypatch)


async def make_market(clock: Clock, *, booths: int = 2, fee: int = 3000) -> Market:
    return await Market.create(
        name="あまみハンドメイドマーケット",
        starts_at=clock.day(10, 10),
        ends_at=clock.day(10, 16),
        venue="AiAi ひろば",
        applications_open_at=clock.day(-20, 9),
        applications_close_at=clock.day(-1, 23),
        booths=booths,
        booth_fee=fee,
        fee_due_on=FIRST_DAY + timedelta(days=5),
        status=MarketStatus.CLOSED,
    )


async def applicant(
    fake: FakeLinePlatform,
    market: Market,
    user_id: str,
    name: str,
    *,
    booths: int = 1,
    following: bool = True,
) -> MarketApplication:
    fake.add_user(user_id, name)
    who = await Resident.create(line_user_id=user_id, display_name=name, is_following=following)
    return await MarketApplication.create(
        market=market,
        resident=who,
        status=ApplicationStatus.SUBMITTED,
        artist_name=f"{name}工房",
        category="アクセサリー",
        items="貝殻のピアス",
        booths_requested=booths,
        submitted_at=now(),
    )


async def decide(clock: Clock, app: MarketApplication, decision: ApplicationStatus) -> None:
    clock.tick()  # the 補欠 order is the order staff decided them
    async with in_transaction():
        await rules.decide(app.id, decision, STAFF_ID)


async def decided_market(
    clock: Clock, fake: FakeLinePlatform
) -> tuple[Market, dict[str, MarketApplication]]:
    """Two booths: U1 and U2 accepted, U3 then U4 補欠, U5 不採択, U6 still 審査中."""
    market = await make_market(clock)
    names = {"U1": "奄美", "U2": "名瀬", "U3": "笠利", "U4": "龍郷", "U5": "住用", "U6": "宇検"}
    apps = {u: await applicant(fake, market, u, n) for u, n in names.items()}
    for user, decision in (
        ("U1", ApplicationStatus.ACCEPTED),
        ("U2", ApplicationStatus.ACCEPTED),
        ("U3", ApplicationStatus.RESERVE),
        ("U4", ApplicationStatus.RESERVE),
        ("U5", ApplicationStatus.REJECTED),
    ):
        await decide(clock, apps[user], decision)
    return market, apps


async def send(market: Market, message: str, settings: Settings) -> notices.Told:
    async with in_transaction():
        return await notices.send_results(market.id, message, STAFF_ID, settings)


async def settle(worker: Worker, timeout: float = 15.0) -> None:
    """Deliver until no outbox row is open (retries with their backoff included)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await OutboxMessage.filter(
        status__in=(OutboxStatus.PENDING, OutboxStatus.SENDING)
    ).exists():
        assert loop.time() < deadline, "delivery did not settle"
        await worker.run_outbox_once()
        await asyncio.sleep(0.01)


def result_pushes(fake: FakeLinePlatform) -> Counter[str]:
    """How many result pushes each user received."""
    words = (ACCEPTED, RESERVE, REJECTED)
    return Counter(
        d.user_id
        for d in fake.deliveries
        if d.via == "push" and any(w in shown(d.messages) for w in words)
    )


DECIDED = ("U1", "U2", "U3", "U4", "U5")


# -- the results: wording ----------------------------------------------------------------


async def test_each_decided_applicant_gets_their_result_with_the_staff_message(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    market, apps = await decided_market(clock, fake_line)
    await rules.set_booth(apps["U1"].id, "A-3")
    assert await notices.results_cost(market.id) == notices.ResultsCost(5, 5, 0)

    told = await send(market, "当日は 9:00 から搬入できます。", settings)
    assert told == notices.Told(applicants=5, pushes=5)
    await worker.drain()
    assert result_pushes(fake_line) == Counter(dict.fromkeys(DECIDED, 1))
    assert pushes(fake_line, "U6") == []  # 審査中: not decided, not told

    [accepted] = pushes(fake_line, "U1", ACCEPTED)
    text = shown(accepted)
    assert "当日は 9:00 から搬入できます。" in text and "事務局より" in text
    assert "あまみハンドメイドマーケット" in text and "AiAi ひろば" in text
    assert "3,000円" in text
    due = FIRST_DAY + timedelta(days=5)
    assert f"{due.month}月{due.day}日" in text and "まで" in text and "支払期限" in text
    assert "1ブース（ブース番号: A-3）" in text
    assert button_data(accepted, "マイページ") == {"flow": "mypage"}
    [no_number] = pushes(fake_line, "U2", ACCEPTED)
    assert "（番号は後日お知らせします）" in shown(no_number)

    [reserve] = pushes(fake_line, "U3", RESERVE)
    assert "補欠" in shown(reserve) and "順番に" in shown(reserve)
    assert "出店する" in shown(reserve) and "48時間" in shown(reserve)
    assert "当日は 9:00 から搬入できます。" in shown(reserve)
    [rejected] = pushes(fake_line, "U5", REJECTED)
    assert "ありがとうございました" in shown(rejected)
    assert "当日は 9:00 から搬入できます。" in shown(rejected)
    for user in ("U3", "U5"):
        assert "3,000円" not in shown(pushes(fake_line, user)[0])

    # Marked as told; the market is RESULTS_SENT; nothing is left to tell.
    rows = await MarketApplication.filter(market_id=market.id).order_by("id")
    assert [r.result_notified_at is not None for r in rows] == [True] * 5 + [False]
    assert (await Market.get(id=market.id)).status == MarketStatus.RESULTS_SENT
    assert await notices.results_cost(market.id) == notices.ResultsCost(0, 0, 0)
    assert await OutboxMessage.filter(kind="market_result").count() == 5


async def test_a_free_market_and_a_blocked_artist(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    market = await make_market(clock, fee=0)
    hanako = await applicant(fake_line, market, "U1", "奄美")
    blocked = await applicant(fake_line, market, "U2", "名瀬", following=False)
    await decide(clock, hanako, ApplicationStatus.ACCEPTED)
    await decide(clock, blocked, ApplicationStatus.REJECTED)
    assert await notices.results_cost(market.id) == notices.ResultsCost(2, 1, 1)

    assert await send(market, "", settings) == notices.Told(applicants=2, pushes=1)
    await worker.drain()
    [accepted] = pushes(fake_line, "U1", ACCEPTED)
    assert "無料" in shown(accepted) and "支払期限" not in shown(accepted)
    assert "事務局より" not in shown(accepted)  # no staff message: no empty box
    assert fake_line.delivered("U2") == []  # blocking the account: claimed, not pushed
    assert (await MarketApplication.get(id=blocked.id)).result_notified_at is not None


# -- the results: exactly once -----------------------------------------------------------


async def test_a_crash_while_queueing_rolls_back_and_the_retry_tells_each_once(
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, _ = await decided_market(clock, fake_line)
    real_enqueue = outbox.enqueue
    calls = 0

    async def dies_after_two(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 2:  # the process dies after queueing two of five
            raise SystemError("killed")
        return await real_enqueue(*args, **kwargs)

    monkeypatch.setattr(outbox, "enqueue", dies_after_two)
    with pytest.raises(SystemError):
        await send(market, "結果のお知らせです。", settings)
    monkeypatch.setattr(outbox, "enqueue", real_enqueue)
    # Rolled back as a whole: nobody claimed, nothing queued, the market as it was.
    assert await OutboxMessage.all().count() == 0
    assert not await MarketApplication.filter(result_notified_at__isnull=False).exists()
    assert (await Market.get(id=market.id)).status == MarketStatus.CLOSED

    assert (await send(market, "結果のお知らせです。", settings)).pushes == 5
    assert await send(market, "結果のお知らせです。", settings) == notices.Told(0, 0)  # again
    await worker.drain()
    assert result_pushes(fake_line) == Counter(dict.fromkeys(DECIDED, 1))


async def test_line_failing_and_stalling_after_some_pushes_each_gets_one(
    settings: Settings, fake_line: FakeLinePlatform, clock: Clock
) -> None:
    settings = settings.with_overrides(line_timeout_seconds=0.3)
    line = LineClient(settings)
    worker = Worker(settings, line)
    market, _ = await decided_market(clock, fake_line)
    assert (await send(market, "ご応募ありがとうございました。", settings)).pushes == 5
    rows = await OutboxMessage.filter(kind="market_result").order_by("id")
    # Two pushes go through. Then LINE answers 500 to the other three (not taken: retried),
    # then takes two of them but answers after our timeout (retried with their retry keys:
    # LINE answers 409, already delivered).
    first = await outbox.claim("w1", 2, settings.lease_seconds)
    await outbox.deliver_batch(first, line, settings)
    assert len(fake_line.deliveries) == 2
    fake_line.fail_next(500, times=3, path="/push")
    assert await worker.run_outbox_once() == 3
    assert len(fake_line.deliveries) == 2
    fake_line.delay_next(0.5, times=2, path="/push")
    await settle(worker)
    await asyncio.sleep(0.6)  # stalled requests finish on the platform; nothing more may come
    await worker.drain()
    await line.close()

    assert result_pushes(fake_line) == Counter(dict.fromkeys(DECIDED, 1))
    statuses = {r.id: r.status for r in await OutboxMessage.filter(kind="market_result")}
    assert set(statuses) == {r.id for r in rows}
    assert set(statuses.values()) == {OutboxStatus.SENT}
    assert [c.status for c in fake_line.calls if c.path.endswith("/push")].count(409) == 2
    # 結果を通知 pressed again after all that: nobody is told twice.
    assert await send(market, "ご応募ありがとうございました。", settings) == notices.Told(0, 0)
    assert await OutboxMessage.filter(kind="market_result").count() == 5


async def test_a_worker_killed_between_claim_and_delivery_record_sends_none_twice(
    settings: Settings, fake_line: FakeLinePlatform, clock: Clock
) -> None:
    settings = settings.with_overrides(lease_seconds=0.3)
    line = LineClient(settings)
    market, _ = await decided_market(clock, fake_line)
    await send(market, "", settings)
    # A worker claims every row and pushes three (with the rows' retry keys), then is
    # killed before it records any of them as sent.
    rows = await outbox.claim("dying-worker", 10, settings.lease_seconds)
    assert len(rows) == 5
    for row in rows[:3]:
        assert (await line.push(row.line_user_id, row.messages, row.retry_key)).outcome == "sent"
    await asyncio.sleep(0.35)  # its lease runs out
    restarted = Worker(settings, line)
    await settle(restarted)
    await line.close()
    assert result_pushes(fake_line) == Counter(dict.fromkeys(DECIDED, 1))
    assert [c.status for c in fake_line.calls if c.path.endswith("/push")].count(409) == 3
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 5


async def test_late_decisions_are_told_by_the_next_send_only(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    market, apps = await decided_market(clock, fake_line)
    await send(market, "第一便", settings)
    await decide(clock, apps["U6"], ApplicationStatus.REJECTED)  # decided after the results
    assert await notices.results_cost(market.id) == notices.ResultsCost(1, 1, 0)
    assert await send(market, "第二便", settings) == notices.Told(1, 1)
    await worker.drain()
    assert result_pushes(fake_line) == Counter(dict.fromkeys((*DECIDED, "U6"), 1))
    assert "第二便" in shown(pushes(fake_line, "U6")[0])
    # Told results cannot be changed any more (the rule): decide refuses.
    with pytest.raises(rules.NotDecidable):
        await rules.decide(apps["U1"].id, ApplicationStatus.REJECTED, STAFF_ID)


async def test_results_are_refused_while_the_window_is_open(
    settings: Settings, fake_line: FakeLinePlatform, clock: Clock
) -> None:
    market = await make_market(clock)
    await Market.filter(id=market.id).update(
        status=MarketStatus.PUBLISHED, applications_close_at=clock.day(3, 10)
    )
    app = await applicant(fake_line, market, "U1", "奄美")
    await decide(clock, app, ApplicationStatus.ACCEPTED)
    with pytest.raises(rules.NotDecidable) as refused:
        await send(market, "", settings)
    assert "締切" in refused.value.message
    assert await OutboxMessage.all().count() == 0


# -- 差し戻し ------------------------------------------------------------------------------


async def test_sent_back_is_pushed_once_per_nonce(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    market = await make_market(clock)
    app = await applicant(fake_line, market, "U1", "奄美")
    async with in_transaction():
        returned = await rules.send_back(app.id, "写真が暗いので撮り直してください。", STAFF_ID)
        assert await notices.sent_back(returned, returned.return_message, "n" * 24) == 1
    assert await notices.sent_back(returned, returned.return_message, "n" * 24) == 0
    await worker.drain()
    [push] = pushes(fake_line, "U1", "差し戻し")
    assert "写真が暗いので撮り直してください。" in shown(push)
    assert "あまみハンドメイドマーケット" in shown(push) and "「再提出する」" in shown(push)
    # Sent back after the window closed: no deadline already past, but 「お早めに」.
    assert "お早めに「再提出する」" in shown(push) and "23:00" not in shown(push)
    # While the window is open, its close is the deadline.
    await Market.filter(id=market.id).update(
        status=MarketStatus.PUBLISHED, applications_close_at=clock.day(3, 10)
    )
    await returned.fetch_related("market")
    async with in_transaction():
        assert await notices.sent_back(returned, returned.return_message, "m" * 24) == 1
    await worker.drain()
    again = pushes(fake_line, "U1", "差し戻し")[-1]
    assert "10:00までに「再提出する」" in shown(again) and "お早めに" not in shown(again)
    assert button_data(push, "マイページ") == {"flow": "mypage"}


# -- withdrawals and 補欠 offers ------------------------------------------------------------


async def results_sent(
    settings: Settings, fake: FakeLinePlatform, worker: Worker, clock: Clock
) -> tuple[Market, dict[str, MarketApplication]]:
    market, apps = await decided_market(clock, fake)
    await send(market, "", settings)
    await worker.drain()
    fake.reset()
    return market, apps


async def test_staff_withdrawal_tells_the_artist_and_offers_the_booth_to_the_first_reserve(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    market, apps = await results_sent(settings, fake_line, worker, clock)
    clock.at = clock.day(1, 15)  # 15:00 + 48 h of daytime (paused 21–8): day 5 at 11:00
    async with in_transaction():
        outcome = await notices.withdrawn_by_staff(apps["U1"].id, "お電話で辞退のご連絡", settings)
    assert [a.id for a in outcome.offers] == [apps["U3"].id]
    async with in_transaction():  # the same Outcome told again (a redo): nothing more
        assert await notices.tell(outcome, settings) == 0
    for _ in range(2):  # the worker's rounds find nothing more to offer
        await worker.run_schedule_once()
    await worker.drain()

    [gone] = pushes(fake_line, "U1", "取り下げ")
    assert "お電話で辞退のご連絡" in shown(gone) and "ご出店（採択）" in shown(gone)
    [offer] = pushes(fake_line, "U3", OFFER)
    held = await MarketApplication.get(id=apps["U3"].id)
    assert held.status == ApplicationStatus.OFFERED and held.offer_expires_at
    assert held.offer_expires_at == clock.day(5, 11)
    text = shown(offer)
    local = held.offer_expires_at.astimezone(JST)
    assert f"{local.month}月{local.day}日" in text and "11:00までに" in text
    assert "3,000円" in text and "21時〜翌8時" in text
    assert button_data(offer, "出店する") == {
        "flow": "market",
        "step": "offer_yes",
        "a": str(held.id),
    }
    assert button_data(offer, "辞退する") == {
        "flow": "market",
        "step": "offer_no",
        "a": str(held.id),
    }
    assert pushes(fake_line, "U4") == [] and pushes(fake_line, "U2") == []
    assert await OutboxMessage.filter(kind="market_offer").count() == 1


async def test_the_offer_buttons_work_in_line_and_a_declined_booth_passes_on(
    client: httpx2.AsyncClient,
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,
) -> None:
    market, apps = await results_sent(settings, fake_line, worker, clock)
    async with in_transaction():
        await notices.withdrawn_by_staff(apps["U1"].id, "辞退のご連絡", settings)
        await notices.withdrawn_by_staff(apps["U2"].id, "辞退のご連絡", settings)
    await worker.drain()
    [first] = pushes(fake_line, "U3", OFFER)
    [second] = pushes(fake_line, "U4", OFFER)
    # U4's button tapped by U3 (forged): nothing changes.
    await tap(client, fake_line, worker, ("U3", data_of(second, "辞退する")))
    assert (await MarketApplication.get(id=apps["U4"].id)).status == ApplicationStatus.OFFERED
    await tap(client, fake_line, worker, ("U3", data_of(first, "出店する")))
    assert (await MarketApplication.get(id=apps["U3"].id)).status == ApplicationStatus.ACCEPTED
    await tap(client, fake_line, worker, ("U4", data_of(second, "辞退する")))
    assert (await MarketApplication.get(id=apps["U4"].id)).status == ApplicationStatus.DECLINED
    assert answer(fake_line, "U4")  # the flow answered the artist
    assert (await Market.get(id=market.id)).booths_taken == 1  # U3's; U4's freed, nobody left
    assert await OutboxMessage.filter(kind="market_offer").count() == 2


async def test_a_lapsed_offer_expires_once_and_passes_on_once_with_two_workers(
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    line: LineClient,
    clock: Clock,
) -> None:
    market, apps = await results_sent(settings, fake_line, worker, clock)
    async with in_transaction():
        await notices.withdrawn_by_staff(apps["U2"].id, "体調不良のため", settings)
    await worker.drain()
    deadline = (await MarketApplication.get(id=apps["U3"].id)).offer_expires_at
    assert deadline is not None
    clock.at = deadline + timedelta(minutes=1)
    if clock.at.astimezone(JST).hour >= settings.offer_quiet_from_hour:
        clock.at = clock.day(6, 9)  # offers go out in the daytime
    one, two = Worker(settings, line), Worker(settings, line)
    counts = [*await asyncio.gather(one.run_schedule_once(), two.run_schedule_once())]
    counts += await asyncio.gather(one.run_schedule_once(), two.run_schedule_once())
    assert sum(counts) == 2  # the expiry and the next offer, once each
    await worker.drain()

    [lapsed] = pushes(fake_line, "U3", EXPIRED)
    assert "あまみハンドメイドマーケット" in shown(lapsed)
    assert len(pushes(fake_line, "U3", OFFER)) == 1  # the first offer only
    [offer] = pushes(fake_line, "U4", OFFER)
    assert button_data(offer, "出店する")["a"] == str(apps["U4"].id)
    statuses = {a.id: a.status for a in await MarketApplication.filter(market_id=market.id)}
    assert statuses[apps["U3"].id] == ApplicationStatus.EXPIRED
    assert statuses[apps["U4"].id] == ApplicationStatus.OFFERED
    assert (await Market.get(id=market.id)).booths_taken == 2


async def test_nothing_is_offered_overnight_and_the_morning_round_offers_once(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    market, apps = await results_sent(settings, fake_line, worker, clock)
    clock.at = clock.day(1, 22)
    async with in_transaction():
        outcome = await notices.withdrawn_by_staff(apps["U1"].id, "辞退", settings)
    assert outcome.offers == []
    assert await worker.run_schedule_once() == 0
    clock.at = clock.day(2, 8, 5)
    assert await worker.run_schedule_once() == 1
    assert await worker.run_schedule_once() == 0
    await worker.drain()
    assert len(pushes(fake_line, "U3", OFFER)) == 1
    assert pushes(fake_line, "U4") == []
    # 48 h of daytime from 08:05 (the overnight hours do not count).
    assert (await MarketApplication.get(id=apps["U3"].id)).offer_expires_at == clock.day(5, 17, 5)


async def test_a_withdrawal_before_the_results_does_not_reveal_the_decision(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    market, apps = await decided_market(clock, fake_line)
    async with in_transaction():
        outcome = await notices.withdrawn_by_staff(apps["U1"].id, "ご本人のご希望", settings)
    assert outcome.offers == []  # before the results staff decide directly: no offers
    await worker.drain()
    [gone] = pushes(fake_line, "U1", "取り下げ")
    assert "へのお申し込みは" in shown(gone) and "採択" not in shown(gone)
    assert pushes(fake_line, "U3") == []
    assert (await Market.get(id=market.id)).booths_taken == 1


async def test_an_unknown_application_is_a_market_error(settings: Settings, db: str) -> None:
    with pytest.raises(rules.MarketError):
        async with in_transaction():
            await notices.withdrawn_by_staff(999_999, "x", settings)
    assert await OutboxMessage.all().count() == 0
