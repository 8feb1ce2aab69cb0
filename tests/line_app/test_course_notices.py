"""寺子屋・交流会 notices, counted at the fake LINE platform after the worker delivers: the
day-before reminder and the after-session question exactly once each (none for cancelled
registrations, the question only to attendees), and what staff actions tell residents."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.transactions import in_transaction

from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from line_app.notices import course as notices
from models.course import (
    Attendance,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.domain import course as rules
from shima.settings import Settings
from shima.worker import Worker
from tests.line_app.test_course_offers import (
    OFFER,
    Clock,
    button_data,
    cancel,
    clock,  # noqa: F401 (the fixture)
    make_resident,
    make_session,
    pushes,
    shown,
    sign_up,
    status_of,
)

REMINDER = "明日の寺子屋・交流会のお知らせ"
THANKS = "ご参加ありがとうございました"


# -- the day-before reminder and the after-session question --------------------------------


async def test_reminder_and_followup_exactly_once_none_for_cancelled_only_attendees(
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    line: LineClient,
    clock: Clock,  # noqa: F811
) -> None:
    session = await make_session(clock.day(3, 10), seats=3, childcare=2, fee=500)
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    jiro = await make_resident(fake_line, "U3", "笠利 次郎")
    saburo = await make_resident(fake_line, "U4", "龍郷 三郎")
    waiting = await make_resident(fake_line, "U5", "住用 四郎")
    attends = await sign_up(hanako, session, settings, children=1, ages="2歳")
    absent = await sign_up(taro, session, settings)
    cancelled = await sign_up(jiro, session, settings)
    await cancel(jiro, cancelled.id, settings)
    await sign_up(saburo, session, settings)
    await sign_up(waiting, session, settings)  # full: on the waitlist, no reminder

    # The evening before, past the reminder hour: two workers, twice each.
    clock.set(clock.day(2, settings.reminder_hour_jst, 5))
    one, two = Worker(settings, line), Worker(settings, line)
    counts = await asyncio.gather(one.run_schedule_once(), two.run_schedule_once())
    counts += await asyncio.gather(one.run_schedule_once(), two.run_schedule_once())
    assert sum(counts) == 3
    await worker.drain()
    for user in ("U1", "U2", "U4"):
        assert len(pushes(fake_line, user, REMINDER)) == 1, user
    assert pushes(fake_line, "U3", REMINDER) == [] and pushes(fake_line, "U5", REMINDER) == []
    [reminder] = pushes(fake_line, "U1", REMINDER)
    text = shown(reminder)
    assert "はじめてのWeb制作" in text and "WorkStyle Lab Inno" in text
    assert "500円" in text and "託児" in text and "お子さま1人（2歳）" in text
    assert "マイページからキャンセルできます" in text
    assert button_data(reminder, "マイページ") == {"flow": "mypage"}
    assert button_data(reminder, "チェックイン") == {
        "flow": "course",
        "step": "checkin",
        "r": str(attends.id),
    }

    # At the door: 花子 present, 太郎 absent, 三郎 not marked: only 花子 is asked.
    clock.set(clock.day(3, 10))
    await rules.mark_attendance(attends.id, Attendance.PRESENT, settings)
    await rules.mark_attendance(absent.id, Attendance.ABSENT, settings)
    clock.set(clock.day(3, 13))  # the session ended at 12:00
    counts = await asyncio.gather(one.run_schedule_once(), two.run_schedule_once())
    counts += (await Worker(settings, line).run_schedule_once(),)  # a restarted worker
    assert sum(counts) == 1
    await worker.drain()
    [question] = pushes(fake_line, "U1", THANKS)
    assert all(pushes(fake_line, u, THANKS) == [] for u in ("U2", "U3", "U4", "U5"))
    rates = [button_data(question, f"{v} {label}") for v, label in notices.RATINGS.items()]
    assert rates == [
        {"flow": "course", "step": "rate", "r": str(attends.id), "v": str(v)} for v in range(1, 6)
    ]
    assert button_data(question, "感想を書く")["step"] == "comment"
    assert await OutboxMessage.filter(kind="course_reminder").count() == 3
    assert await OutboxMessage.filter(kind="course_followup").count() == 1


async def test_online_reminder_shows_the_url(
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,  # noqa: F811
) -> None:
    url = "https://meet.example.jp/shima-terakoya"
    session = await make_session(clock.day(3, 20), online=True, online_url=url)
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    await sign_up(hanako, session, settings)
    clock.set(clock.day(2, 19))
    assert await worker.run_schedule_once() == 1
    await worker.drain()
    [reminder] = pushes(fake_line, "U1", REMINDER)
    assert url in shown(reminder) and "オンライン" in shown(reminder)


# -- staff actions ----------------------------------------------------------------------------


async def test_staff_cancel_tells_the_resident_why_and_offers_the_seat_once(
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,  # noqa: F811
) -> None:
    session = await make_session(clock.day(5, 14))
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    seat = await sign_up(hanako, session, settings)
    waiting = await sign_up(taro, session, settings)
    async with in_transaction():
        cancelled = await notices.cancel_by_staff(
            seat.id, "ご本人からお電話で取消のご連絡", settings
        )
    assert cancelled.status == RegistrationStatus.CANCELLED
    # A double submit: the rule refuses, nothing more is sent.
    with pytest.raises(rules.NotCancellable):
        async with in_transaction():
            await notices.cancel_by_staff(seat.id, "ご本人からお電話で取消のご連絡", settings)
    assert await worker.run_schedule_once() == 0
    await worker.drain()
    [told] = pushes(fake_line, "U1", "キャンセル")
    assert "理由: ご本人からお電話で取消のご連絡" in shown(told)
    assert "お申し込みは" in shown(told)
    [offer] = pushes(fake_line, "U2", OFFER)
    assert button_data(offer, "参加する")["r"] == str(waiting.id)
    assert await status_of(waiting) == RegistrationStatus.OFFERED

    # Taking someone off the waitlist says so (and offers nothing).
    async with in_transaction():
        await notices.cancel_by_staff(waiting.id, "", settings)
    await worker.drain()
    [off] = pushes(fake_line, "U2", "キャンセル待ちのご登録は、キャンセルとなりました")
    assert "理由" not in shown(off)  # none given, none guessed


async def test_promote_tells_the_resident_they_have_a_seat(
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,  # noqa: F811
) -> None:
    session = await make_session(clock.day(5, 14))
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    await sign_up(hanako, session, settings)
    waiting = await sign_up(taro, session, settings)
    with pytest.raises(rules.NoFreeSeat):
        async with in_transaction():
            await notices.promote(waiting.id, settings)
    await ProgrammeSession.filter(id=session.id).update(seats=2)  # staff add a seat
    async with in_transaction():
        promoted = await notices.promote(waiting.id, settings)
    assert promoted.status == RegistrationStatus.REGISTERED
    await worker.drain()
    [told] = pushes(fake_line, "U2", "お申し込みが確定しました")
    assert "はじめてのWeb制作" in shown(told)
    assert button_data(told, "マイページ") == {"flow": "mypage"}


async def test_cancelling_a_session_tells_everyone_active_with_the_reason(
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,  # noqa: F811
) -> None:
    session = await make_session(clock.day(5, 14))
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    jiro = await make_resident(fake_line, "U3", "笠利 次郎")
    await sign_up(hanako, session, settings)
    await sign_up(taro, session, settings)  # waiting
    left = await sign_up(jiro, session, settings)
    await cancel(jiro, left.id, settings)  # left the waitlist: not told
    async with in_transaction():
        assert await notices.cancel_session(session.id, "台風接近のため") == 2
    async with in_transaction():
        assert await notices.cancel_session(session.id, "台風接近のため") == 0  # a double submit
    await worker.drain()
    for user in ("U1", "U2"):
        [told] = pushes(fake_line, user, "中止")
        assert "理由: 台風接近のため" in shown(told)
    assert pushes(fake_line, "U3", "中止") == []
    assert (await ProgrammeSession.get(id=session.id)).status == SessionStatus.CANCELLED


async def test_message_to_registered_counts_and_sends_once_on_a_double_submit(
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
    clock: Clock,  # noqa: F811
) -> None:
    session = await make_session(clock.day(5, 14), seats=3)
    hanako = await make_resident(fake_line, "U1", "奄美 花子")
    taro = await make_resident(fake_line, "U2", "名瀬 太郎")
    blocked = await make_resident(fake_line, "U3", "笠利 次郎")
    waiting = await make_resident(fake_line, "U4", "龍郷 三郎")
    await sign_up(hanako, session, settings)
    await sign_up(taro, session, settings)
    await sign_up(blocked, session, settings)
    await sign_up(waiting, session, settings)  # full: waiting, not messaged
    await Resident.filter(id=blocked.id).update(is_following=False)  # blocked the account
    await Registration.create(  # a walk-in has no LINE
        session=session, walk_in_name="当日 参加", status=RegistrationStatus.REGISTERED
    )

    assert await notices.recipients(session.id) == 2
    body = "会場が2階の会議室に変わりました。"
    nonce = "f0rm-n0nce-1234"
    async with in_transaction():
        assert await notices.message_registered(session.id, body, nonce) == 2
    async with in_transaction():  # the same form submitted again
        assert await notices.message_registered(session.id, body, nonce) == 0
    async with in_transaction():  # an empty message sends nothing
        assert await notices.message_registered(session.id, "  ", "another-nonce") == 0
    await worker.drain()
    for user in ("U1", "U2"):
        [told] = pushes(fake_line, user, body)
        assert "はじめてのWeb制作" in shown(told)
    assert pushes(fake_line, "U3") == [] and pushes(fake_line, "U4") == []

    # A new message (a new form) goes out again; a very long nonce still fits the key.
    async with in_transaction():
        assert await notices.message_registered(session.id, "開始が10分遅れます。", "n" * 200) == 2
    await worker.drain()
    assert len(pushes(fake_line, "U1", "開始が10分遅れます")) == 1
    assert await OutboxMessage.filter(kind="course_message").count() == 4
