"""寺子屋・交流会 waitlist offers, counted at the fake LINE platform after the worker delivers:
a freed seat is offered once, expiry passes it on once (also across a worker that dies and
with two workers), nothing is sent overnight, and of two residents accepting the same
everyone-at-once offer one gets the seat and the other is told."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest
from tortoise.transactions import in_transaction

from line_app import outbox
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from line_app.notices import course as notices
from models.course import (
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.domain import course as rules
from shima.settings import Settings
from shima.timeutil import JST, jst_datetime, today_jst
from shima.worker import Worker
from tests.line_app import events

OFFER = "キャンセル待ちのお知らせ"
SECRET = "test-channel-secret"


# -- helpers shared with test_course_notices ------------------------------------------------


class Clock:
    """The domain's clock (shima.domain.course.now), moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def day(self, days: int, hour: int, minute: int = 0) -> datetime:
        """`days` after the test's first day, at hour:minute JST."""
        return jst_datetime(FIRST_DAY + timedelta(days=days), time(hour, minute))


FIRST_DAY = today_jst() + timedelta(days=30)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """10:00 JST on a day a month ahead (daytime: offers are sent)."""
    c = Clock(jst_datetime(FIRST_DAY, time(10)))
    monkeypatch.setattr(rules, "now", c)
    return c


async def make_session(
    starts_at: datetime,
    seats: int = 1,
    *,
    childcare: int = 0,
    online: bool = False,
    online_url: str = "",
    fee: int = 0,
    title: str = "はじめてのWeb制作",
    kind: ProgrammeKind = ProgrammeKind.TERAKOYA,
) -> ProgrammeSession:
    programme = await Programme.create(kind=kind, title=title, fee=fee, instructor="山田 太郎")
    return await ProgrammeSession.create(
        programme=programme,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        seats=seats,
        childcare_places=childcare,
        deadline=starts_at,
        venue="WorkStyle Lab Inno",
        online=online,
        online_url=online_url,
        status=SessionStatus.PUBLISHED,
    )


async def make_resident(fake: FakeLinePlatform, user_id: str, name: str) -> Resident:
    fake.add_user(user_id, name)
    return await Resident.create(line_user_id=user_id, display_name=name)


async def sign_up(
    who: Resident, session: ProgrammeSession, settings: Settings, children: int = 0, ages: str = ""
) -> Registration:
    """What the flow's 確定 does: the rule, then the notices of its Outcome."""
    async with in_transaction():
        outcome = await rules.register(
            who, rules.SignUp(session.id, children=children, children_ages=ages), settings
        )
        await notices.tell(outcome, settings)
    assert outcome.registration is not None
    return outcome.registration


async def cancel(who: Resident, registration_id: int, settings: Settings) -> int:
    """What the flow's cancel_yes does: the rule, then the notices. Returns pushes queued."""
    async with in_transaction():
        outcome = await rules.cancel_by_resident(who, registration_id, settings)
        return await notices.tell(outcome, settings)


def shown(messages: list[dict[str, Any]]) -> str:
    """Every text a delivery shows (plain texts, alt texts, Flex texts)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("text", "altText"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return "\n".join(found)


def actions(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every tappable action (buttons, quick replies)."""
    found: list[dict[str, Any]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("postback", "uri", "message") and "label" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return found


def pushes(fake: FakeLinePlatform, user_id: str, words: str = "") -> list[list[dict[str, Any]]]:
    """The messages of each push `user_id` received that show `words`."""
    return [
        d.messages
        for d in fake.delivered(user_id)
        if d.via == "push" and words in shown(d.messages)
    ]


def button_data(messages: list[dict[str, Any]], label: str) -> dict[str, str]:
    for action in actions(messages):
        if action["label"] == label:
            return dict(parse_qsl(action["data"]))
    raise AssertionError(f"no {label!r} in {[a['label'] for a in actions(messages)]}")


async def status_of(registration: Registration) -> RegistrationStatus:
    return (await Registration.get(id=registration.id)).status


# -- a freed seat is offered once ----------------------------------------------------------


async def test_a_cancellation_sends_exactly_one_offer(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    session = await make_session(clock.day(5, 14))
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    jiro = await make_resident(fake_line, "U3", "笠利 次郎")
    seat = await sign_up(hanako, session, settings)
    first = await sign_up(taro, session, settings)
    second = await sign_up(jiro, session, settings)
    assert (first.status, second.status) == (RegistrationStatus.WAITING,) * 2

    assert await cancel(hanako, seat.id, settings) == 1
    for _ in range(2):  # the worker's rounds find nothing more to offer
        assert await worker.run_schedule_once() == 0
    await worker.drain()

    [offer] = pushes(fake_line, "U2", OFFER)
    assert pushes(fake_line, "U3") == [] and pushes(fake_line, "U1") == []
    held = await Registration.get(id=first.id)
    assert held.status == RegistrationStatus.OFFERED and held.offer_expires_at
    text = shown(offer)
    assert "はじめてのWeb制作" in text and "WorkStyle Lab Inno" in text
    assert f"{held.offer_expires_at.astimezone(JST):%H:%M}までにお返事ください" in text
    assert button_data(offer, "参加する") == {
        "flow": "course",
        "step": "offer_yes",
        "r": str(first.id),
    }
    assert button_data(offer, "辞退する") == {
        "flow": "course",
        "step": "offer_no",
        "r": str(first.id),
    }

    # Telling the same Outcome again (a redo) queues nothing.
    outcome = rules.Outcome(offers=[held])
    assert await notices.tell(outcome, settings) == 0
    assert await OutboxMessage.filter(kind="course_offer").count() == 1


async def test_offer_deadline_is_shown_in_jst_and_held_seat_covers_childcare(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    session = await make_session(clock.day(5, 14), childcare=2)
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    seat = await sign_up(hanako, session, settings)
    waiting = await sign_up(taro, session, settings, children=1, ages="3歳")
    clock.set(clock.day(0, 15))  # 15:00 + 12 h of daytime: 6 h today, 6 h from 08:00
    await cancel(hanako, seat.id, settings)
    await worker.drain()
    [offer] = pushes(fake_line, "U2", OFFER)
    held = await Registration.get(id=waiting.id)
    assert held.offer_expires_at == clock.day(1, 14)
    assert "14:00までにお返事ください" in shown(offer)
    assert "託児の枠" in shown(offer) and "お子さま1人（3歳）" in shown(offer)


# -- expiry passes the offer on, exactly once ------------------------------------------------


async def offered_then_expired(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> tuple[Registration, Registration]:
    """One seat, 花子 registered, 太郎 then 次郎 waiting; 花子 cancels, 太郎 is offered the
    seat and lets the deadline pass (the clock is moved past it)."""
    session = await make_session(clock.day(5, 14))
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    jiro = await make_resident(fake_line, "U3", "笠利 次郎")
    seat = await sign_up(hanako, session, settings)
    first = await sign_up(taro, session, settings)
    second = await sign_up(jiro, session, settings)
    await cancel(hanako, seat.id, settings)
    await worker.drain()
    assert len(pushes(fake_line, "U2", OFFER)) == 1
    deadline = (await Registration.get(id=first.id)).offer_expires_at
    assert deadline is not None
    clock.set(deadline + timedelta(minutes=1))
    return first, second


async def assert_passed_on_once(
    fake_line: FakeLinePlatform, first: Registration, second: Registration
) -> None:
    assert await status_of(first) == RegistrationStatus.EXPIRED
    assert await status_of(second) == RegistrationStatus.OFFERED
    [expired] = pushes(fake_line, "U2", "お譲りしました")
    assert "キャンセル待ちからは外れています" in shown(expired)
    assert len(pushes(fake_line, "U2", OFFER)) == 2  # the offer, then the expiry notice
    [offer] = pushes(fake_line, "U3", OFFER)
    assert button_data(offer, "参加する")["r"] == str(second.id)
    assert await OutboxMessage.filter(kind="course_offer").count() == 2
    assert await OutboxMessage.filter(kind="course_expired").count() == 1


async def test_expiry_passes_the_offer_on_once_across_worker_restarts(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    first, second = await offered_then_expired(settings, fake_line, worker, clock)
    assert await worker.run_schedule_once() == 2  # 太郎 told, 次郎 offered
    assert await worker.run_schedule_once() == 0
    restarted = Worker(settings, worker.line)  # a new worker, as after a restart
    assert await restarted.run_schedule_once() == 0
    await restarted.drain()
    await assert_passed_on_once(fake_line, first, second)


async def test_a_worker_dying_mid_round_leaves_the_offer_to_the_next_run(
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = await offered_then_expired(settings, fake_line, worker, clock)
    real_enqueue = outbox.enqueue

    async def dies(*args: Any, **kwargs: Any) -> Any:  # killed after the rules, before the push
        raise SystemError("killed")

    monkeypatch.setattr(outbox, "enqueue", dies)
    with pytest.raises(SystemError):
        await worker.run_schedule_once()
    assert await status_of(first) == RegistrationStatus.OFFERED  # rolled back with the crash

    monkeypatch.setattr(outbox, "enqueue", real_enqueue)
    restarted = Worker(settings, worker.line)
    assert await restarted.run_schedule_once() == 2
    assert await restarted.run_schedule_once() == 0
    await restarted.drain()
    await assert_passed_on_once(fake_line, first, second)


async def test_two_workers_running_the_schedule_pass_the_offer_on_once(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock, line: LineClient
) -> None:
    first, second = await offered_then_expired(settings, fake_line, worker, clock)
    one, two = Worker(settings, line), Worker(settings, line)
    # Concurrently (on PostgreSQL each in its own transaction on its own connection).
    counts = await asyncio.gather(one.run_schedule_once(), two.run_schedule_once())
    counts += await asyncio.gather(one.run_schedule_once(), two.run_schedule_once())
    assert sum(counts) == 2
    await asyncio.gather(one.drain(), two.drain())
    await worker.drain()
    await assert_passed_on_once(fake_line, first, second)


# -- the overnight pause --------------------------------------------------------------------


async def test_a_seat_freed_at_night_is_offered_at_eight_with_the_deadline_shifted(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    session = await make_session(clock.day(5, 14))
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    seat = await sign_up(hanako, session, settings)
    waiting = await sign_up(taro, session, settings)

    clock.set(clock.day(0, 22))
    assert await cancel(hanako, seat.id, settings) == 0
    for hour in (22, 23):
        clock.set(clock.day(0, hour, 30))
        assert await worker.run_schedule_once() == 0
    for hour, minute in ((3, 0), (7, 59)):
        clock.set(clock.day(1, hour, minute))
        assert await worker.run_schedule_once() == 0
    await worker.drain()
    assert pushes(fake_line, "U2") == []
    assert await status_of(waiting) == RegistrationStatus.WAITING

    clock.set(clock.day(1, 8))
    assert await worker.run_schedule_once() == 1
    assert await worker.run_schedule_once() == 0
    await worker.drain()
    [offer] = pushes(fake_line, "U2", OFFER)
    held = await Registration.get(id=waiting.id)
    assert held.status == RegistrationStatus.OFFERED
    assert held.offer_expires_at == clock.day(1, 20)  # 12 hours of daytime from 08:00
    assert "20:00までにお返事ください" in shown(offer)


# -- everyone at once, close to the start ----------------------------------------------------


async def open_offer(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> tuple[ProgrammeSession, Registration, Registration, Resident, Resident]:
    """Within 24 hours of the start a freed seat goes to everyone waiting at once."""
    session = await make_session(
        clock.day(1, 9), title="島フリーランス交流会", kind=ProgrammeKind.MEETUP
    )
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    jiro = await make_resident(fake_line, "U3", "笠利 次郎")
    seat = await sign_up(hanako, session, settings)
    b = await sign_up(taro, session, settings)
    c = await sign_up(jiro, session, settings)
    assert await cancel(hanako, seat.id, settings) == 2
    assert await worker.run_schedule_once() == 0
    await worker.drain()
    for user, reg in (("U2", b), ("U3", c)):
        [offer] = pushes(fake_line, user, OFFER)
        assert "先着順" in shown(offer)
        assert button_data(offer, "参加する") == {
            "flow": "course",
            "step": "offer_yes",
            "r": str(reg.id),
        }
    return session, b, c, taro, jiro


async def test_two_accepting_the_same_open_offer_one_gets_it_the_other_is_told(
    settings: Settings, fake_line: FakeLinePlatform, worker: Worker, clock: Clock
) -> None:
    session, b, c, taro, jiro = await open_offer(settings, fake_line, worker, clock)

    async def accept(who: Resident, reg: Registration) -> str:
        try:
            async with in_transaction():
                outcome = await rules.accept_offer(who, reg.id, settings)
                await notices.tell(outcome, settings)
        except rules.OfferGone:
            return "gone"
        return "won"

    results = await asyncio.gather(accept(taro, b), accept(jiro, c))
    assert sorted(results) == ["gone", "won"]
    winner, loser = ("U2", "U3") if results[0] == "won" else ("U3", "U2")
    await worker.drain()
    assert (
        await Registration.filter(
            session_id=session.id, status=RegistrationStatus.REGISTERED
        ).count()
        == 1
    )
    [taken] = pushes(fake_line, loser, "ほかの方のお申し込みで埋まりました")
    assert "引き続きキャンセル待ちに登録されています" in shown(taken)
    assert pushes(fake_line, winner, "埋まりました") == []
    lost = b if loser == "U2" else c
    assert await status_of(lost) == RegistrationStatus.WAITING  # still on the waitlist

    # Another seat frees later: the same resident gets a new offer (not deduped away).
    clock.set(clock.at + timedelta(minutes=30))
    owner = taro if winner == "U2" else jiro
    won = c if winner == "U3" else b
    assert await cancel(owner, won.id, settings) == 1
    await worker.drain()
    assert len(pushes(fake_line, loser, "先着順")) == 2
    assert await OutboxMessage.filter(kind="course_taken").count() == 1


# -- the buttons tapped in LINE (signed webhooks through the course flow) --------------------


async def tap(
    client: httpx2.AsyncClient, fake: FakeLinePlatform, worker: Worker, *taps: tuple[str, str]
) -> None:
    """Each (user, postback data) in one webhook body, as LINE batches them; then the worker
    answers."""
    batch = [events.postback(user, fake.issue_reply_token(user), data) for user, data in taps]
    assert (await events.post(client, SECRET, *batch)).status_code == 200
    await worker.drain()
    await worker.drain()


def answer(fake: FakeLinePlatform, user_id: str) -> str:
    """What the last reply to `user_id` showed."""
    replies = [d for d in fake.delivered(user_id) if d.via == "reply"]
    assert replies, f"no reply to {user_id}"
    return shown(replies[-1].messages)


def data_of(messages: list[dict[str, Any]], label: str) -> str:
    for action in actions(messages):
        if action["label"] == label:
            return str(action["data"])
    raise AssertionError(f"no {label!r}")


async def test_cancel_and_accept_through_line_forged_and_late_taps_change_nothing(
    client: httpx2.AsyncClient,
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,
) -> None:
    session = await make_session(clock.day(5, 14), seats=2)
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    jiro = await make_resident(fake_line, "U3", "笠利 次郎")
    saburo = await make_resident(fake_line, "U4", "龍郷 三郎")
    seat = await sign_up(hanako, session, settings)
    other_seat = await sign_up(saburo, session, settings)
    first = await sign_up(taro, session, settings)
    second = await sign_up(jiro, session, settings)

    # 花子 cancels from マイページ: exactly one offer, to 太郎.
    await tap(client, fake_line, worker, ("U1", f"flow=course&step=cancel_yes&r={seat.id}"))
    assert "キャンセルしました" in answer(fake_line, "U1")
    for _ in range(2):
        assert await worker.run_schedule_once() == 0
    await worker.drain()
    [offer] = pushes(fake_line, "U2", OFFER)
    assert pushes(fake_line, "U3") == []

    # 次郎 forges 太郎's button: nothing changes.
    await tap(client, fake_line, worker, ("U3", data_of(offer, "参加する")))
    assert "見つかりませんでした" in answer(fake_line, "U3")
    assert await status_of(first) == RegistrationStatus.OFFERED
    assert await status_of(second) == RegistrationStatus.WAITING

    # 太郎 taps 参加する on the push: registered.
    await tap(client, fake_line, worker, ("U2", data_of(offer, "参加する")))
    assert "お申し込みを受け付けました" in answer(fake_line, "U2")
    assert await status_of(first) == RegistrationStatus.REGISTERED

    # 三郎 cancels too; 次郎 is offered, lets it expire, and taps 参加する too late.
    await tap(client, fake_line, worker, ("U4", f"flow=course&step=cancel_yes&r={other_seat.id}"))
    [late_offer] = pushes(fake_line, "U3", OFFER)
    deadline = (await Registration.get(id=second.id)).offer_expires_at
    assert deadline is not None
    clock.set(deadline + timedelta(minutes=1))
    assert await worker.run_schedule_once() == 1  # the expiry notice; nobody else waits
    await tap(client, fake_line, worker, ("U3", data_of(late_offer, "参加する")))
    assert rules.OfferGone.message in answer(fake_line, "U3")
    assert await status_of(second) == RegistrationStatus.EXPIRED
    assert len(pushes(fake_line, "U3", "お譲りしました")) == 1
    fresh = await ProgrammeSession.get(id=session.id)
    assert (fresh.taken, fresh.waiting) == (1, 0)


async def test_two_tap_the_same_open_offer_in_line_one_gets_it_the_other_is_told(
    client: httpx2.AsyncClient,
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,
) -> None:
    session, b, c, _, _ = await open_offer(settings, fake_line, worker, clock)
    [offer_b] = pushes(fake_line, "U2", OFFER)
    [offer_c] = pushes(fake_line, "U3", OFFER)
    # Both tap 参加する at the same moment (one webhook body).
    await tap(
        client,
        fake_line,
        worker,
        ("U2", data_of(offer_b, "参加する")),
        ("U3", data_of(offer_c, "参加する")),
    )
    for _ in range(2):
        assert await worker.run_schedule_once() == 0
    await worker.drain()
    registered = await Registration.filter(
        session_id=session.id, status=RegistrationStatus.REGISTERED
    )
    assert [r.id for r in registered] == [b.id]
    assert "お申し込みを受け付けました" in answer(fake_line, "U2")
    assert rules.OfferGone.message in answer(fake_line, "U3")
    [taken] = pushes(fake_line, "U3", "ほかの方のお申し込みで埋まりました")
    assert "引き続きキャンセル待ち" in shown(taken)
    assert pushes(fake_line, "U2", "埋まりました") == []
    assert await status_of(c) == RegistrationStatus.WAITING
