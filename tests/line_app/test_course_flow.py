"""寺子屋・交流会 through LINE: signed webhooks in, messages at the fake LINE platform out.
Sessions are made directly with the models; the rules are shima.domain.course's."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest

from line_app.client import LineClient
from models.course import (
    Attendance,
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.outbox import OutboxMessage, OutboxStatus
from shima.settings import Settings
from shima.timeutil import format_jst, now
from shima.worker import Worker
from tests.line_app import events
from tests.line_app.test_consult_flow import SECRET, Resident_

TITLE = "はじめてのWebサイトづくり"


async def make_session(
    *,
    seats: int = 10,
    childcare: int = 0,
    hours_ahead: float = 48,
    minutes: int = 120,
    kind: ProgrammeKind = ProgrammeKind.TERAKOYA,
    title: str = TITLE,
    status: SessionStatus = SessionStatus.PUBLISHED,
    fee: int = 0,
    online: bool = False,
    deadline: timedelta | None = None,
) -> ProgrammeSession:
    programme = await Programme.create(
        kind=kind,
        title=title,
        description="ノーコードツールで、自分のお店のWebサイトを作ります。",
        instructor="島 太郎（Webデザイナー）",
        audience="パソコンを使ったことがある方",
        fee=fee,
    )
    start = now().replace(second=0, microsecond=0) + timedelta(hours=hours_ahead)
    session = await ProgrammeSession.create(
        programme=programme,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        seats=seats,
        childcare_places=childcare,
        deadline=start - (deadline if deadline is not None else timedelta(hours=1)),
        status=status,
        online=online,
    )
    await session.fetch_related("programme")
    return session


@pytest.fixture
def daytime(settings: Settings) -> Settings:
    """No overnight pause, so a freed seat is offered at once whatever the hour of the run."""
    return settings.with_overrides(offer_quiet_from_hour=0, offer_quiet_until_hour=0)


@pytest.fixture
def worker(daytime: Settings, line: LineClient) -> Worker:
    return Worker(daytime, line)


@pytest.fixture(autouse=True)
async def all_accepted_by_line(db: str):
    """The fake platform validates every message as LINE does (labels, quick replies,
    carousel sizes, postback data): nothing the flow sent may have been refused."""
    yield
    refused = await OutboxMessage.filter(last_error__isnull=False).values_list(
        "last_error", flat=True
    )
    assert not refused, refused
    assert not await OutboxMessage.filter(status=OutboxStatus.DEAD).exists()


@pytest.fixture
def resident(client, fake_line, worker) -> Resident_:
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, worker, "U1")


def person(client, fake_line, worker, user_id: str) -> Resident_:
    return Resident_(client, fake_line, worker, user_id)


def params(data: str) -> dict[str, str]:
    return dict(parse_qsl(data))


async def to_summary(
    r: Resident_, session: ProgrammeSession, children: int = 0, ages: str = "3歳、5歳"
) -> str:
    """From the list to the summary; returns the summary's primary button (確定 / 待ち)."""
    await r.say("寺子屋")
    assert "受付中の寺子屋・交流会" in r.text()
    await r.tap(r.first_button_with("detail", f"s={session.id}"))
    assert "申込締切" in r.text()
    apply = [a for a in r.actions() if params(a.get("data", "")).get("step") == "apply"]
    await r.tap(apply[0]["data"])
    if session.childcare_places > 0:
        assert "託児は必要ですか" in r.text()
        if children == 0:
            await r.tap(r.button("不要"))
        else:
            await r.tap(r.button("必要"))
            assert "何人ですか" in r.text()
            await r.tap(r.button(f"{children}人"))
            assert "年齢を教えてください" in r.text()
            await r.say(ages)
    for label in ("申込みを確定する", "キャンセル待ちに登録"):
        if any(a["label"] == label for a in r.actions()):
            return r.button(label)
    raise AssertionError(r.text())


async def sign_up(r: Resident_, session: ProgrammeSession, **kwargs) -> Registration:
    await r.tap(await to_summary(r, session, **kwargs))
    return await Registration.get(
        session_id=session.id, resident__line_user_id=r.user_id
    ).select_related("session")


# -- the list -----------------------------------------------------------------------------


async def test_the_carousel_shows_upcoming_published_sessions(resident: Resident_) -> None:
    terakoya = await make_session(childcare=4, fee=1000)
    await make_session(
        kind=ProgrammeKind.MEETUP, title="島フリーランス交流会", online=True, hours_ahead=72
    )
    await make_session(title="下書きの回", status=SessionStatus.DRAFT)
    await make_session(title="中止の回", status=SessionStatus.CANCELLED)
    await make_session(title="終わった回", hours_ahead=-5)
    await resident.tap("flow=course")  # the rich menu
    answer = resident.text()
    assert "寺子屋" in answer and TITLE in answer and "交流会" in answer
    assert "残り10席" in answer and "オンライン" in answer and "WorkStyle Lab Inno" in answer
    assert "あり（4人分" in answer and "1,000円" in answer and "無料" in answer
    assert "下書きの回" not in answer and "中止の回" not in answer and "終わった回" not in answer
    assert f"s={terakoya.id}" in resident.first_button_with("detail")
    # The tap shows which session (a programme has several): its date is in the echo.
    detail = next(a for a in resident.actions() if "step=detail" in a["data"])
    assert detail["displayText"].startswith(format_jst(terakoya.starts_at, "%-m/%-d"))
    for word in ("講座", "交流会", "セミナー", "ワークショップ", "てらこや"):
        await resident.say(word)
        assert TITLE in resident.text(), word


async def test_a_full_session_says_so_with_the_waitlist(
    resident: Resident_, client, fake_line, worker
) -> None:
    session = await make_session(seats=1)
    await sign_up(person(client, fake_line, worker, "U2"), session)
    await sign_up(person(client, fake_line, worker, "U3"), session)
    await resident.say("寺子屋")
    assert "満席・キャンセル待ち 1人" in resident.text()


async def test_no_sessions_is_said_kindly(resident: Resident_) -> None:
    await resident.say("寺子屋")
    assert "いま受付中の寺子屋・交流会はありません" in resident.text()
    assert {a["label"] for a in resident.actions()} >= {"お知らせ", "メニュー"}


async def test_more_sessions_than_a_carousel_holds_are_paged(resident: Resident_) -> None:
    for i in range(11):
        await make_session(title=f"講座その{i + 1}", hours_ahead=24 + i)
    await resident.say("講座")
    assert "講座その9" in resident.text() and "講座その10" not in resident.text()
    await resident.tap(resident.button("ほかの回を見る"))
    assert "講座その10" in resident.text() and "講座その11" in resident.text()
    await resident.tap(resident.button("戻る"))
    assert "講座その1" in resident.text()


# -- signing up ---------------------------------------------------------------------------


async def test_signs_up_without_childcare(resident: Resident_) -> None:
    session = await make_session()
    confirm = await to_summary(resident, session)
    assert "この内容で申し込みますか" in resident.text()
    await resident.tap(confirm)
    assert "お申し込みを受け付けました" in resident.text()
    delivery = resident.fake.delivered("U1")[-1]
    assert delivery.via == "reply"
    labels = [a["label"] for a in resident.actions()]
    assert "当日チェックイン" in labels and "キャンセルする" in labels
    registration = await Registration.get().select_related("resident")
    assert registration.status == RegistrationStatus.REGISTERED
    assert registration.resident.line_user_id == "U1" and registration.children == 0
    assert (await ProgrammeSession.get(id=session.id)).taken == 1


async def test_the_day_before_reminder_is_promised_only_when_still_to_come(
    resident: Resident_,
) -> None:
    later = await make_session(hours_ahead=24 * 5)
    await resident.tap(await to_summary(resident, later))
    assert "前日の夕方にもこのLINEでお知らせします" in resident.text()
    soon = await make_session(hours_ahead=3)
    await resident.tap(await to_summary(resident, soon))
    assert "お申し込みを受け付けました" in resident.text()
    assert "前日の夕方" not in resident.text()


async def test_signs_up_with_childcare(resident: Resident_) -> None:
    session = await make_session(childcare=3)
    confirm = await to_summary(resident, session, children=2, ages="3歳、5歳")
    assert "2人（3歳、5歳）" in resident.text()
    await resident.tap(confirm)
    assert "お申し込みを受け付けました" in resident.text()
    assert "2人（3歳、5歳）" in resident.text()
    registration = await Registration.get()
    assert registration.children == 2 and registration.children_ages == "3歳、5歳"
    stored = await ProgrammeSession.get(id=session.id)
    assert stored.taken == 1 and stored.childcare_taken == 2


async def test_childcare_not_needed_in_a_session_with_childcare(resident: Resident_) -> None:
    session = await make_session(childcare=3)
    await resident.tap(await to_summary(resident, session, children=0))
    registration = await Registration.get()
    assert registration.children == 0
    assert (await ProgrammeSession.get(id=session.id)).childcare_taken == 0


async def test_ages_are_checked_and_back_and_stop_work(resident: Resident_) -> None:
    session = await make_session(childcare=3)
    await resident.say("寺子屋")
    await resident.tap(resident.first_button_with("detail"))
    await resident.tap(resident.first_button_with("apply"))
    await resident.tap(resident.button("戻る"))
    assert "申込締切" in resident.text()  # back to the details
    await resident.tap(resident.first_button_with("apply"))
    await resident.tap(resident.button("必要"))
    await resident.tap(resident.button("戻る"))
    assert "託児は必要ですか" in resident.text()
    await resident.tap(resident.button("必要"))
    await resident.tap(resident.button("2人"))
    await resident.say("よろしくお願いします")
    assert "数字で入力してください" in resident.text()
    await resident.say("3" * 101)
    assert "100文字以内" in resident.text() and "101文字" in resident.text()
    await resident.say("戻る")
    assert "何人ですか" in resident.text()
    await resident.tap(resident.button("1人"))
    await resident.say("２歳")
    assert "1人（２歳）" in resident.text()
    await resident.say("はい")  # typing at the summary shows it again
    assert "この内容で申し込みますか" in resident.text()
    await resident.tap(resident.button("やめる"))
    assert "中止しました" in resident.text()
    assert await Registration.all().count() == 0
    assert (await ProgrammeSession.get(id=session.id)).taken == 0


async def test_typed_label_at_the_details_taps_it(resident: Resident_) -> None:
    await make_session()
    await resident.say("寺子屋")
    await resident.tap(resident.first_button_with("detail"))
    await resident.say("申し込む")
    assert "この内容で申し込みますか" in resident.text()


async def test_full_session_joins_the_waitlist_with_its_place(
    resident: Resident_, client, fake_line, worker
) -> None:
    session = await make_session(seats=1)
    first = await sign_up(person(client, fake_line, worker, "U2"), session)
    assert first.status == RegistrationStatus.REGISTERED
    await resident.say("寺子屋")
    await resident.tap(resident.first_button_with("detail"))
    assert "満席（キャンセル待ちを受け付けています）" in resident.text()
    assert "キャンセル待ちに申し込む" in [a["label"] for a in resident.actions()]
    wait = await to_summary(resident, session)
    assert "キャンセル待ちに登録しますか" in resident.text()
    await resident.tap(wait)
    assert "キャンセル待ち 1番目" in resident.text() and "席が空いたら" in resident.text()
    third = person(client, fake_line, worker, "U3")
    await sign_up(third, session)
    assert "キャンセル待ち 2番目" in third.text()
    stored = await ProgrammeSession.get(id=session.id)
    assert stored.taken == 1 and stored.waiting == 2
    assert (await Registration.get(resident__line_user_id="U1")).status == "waiting"


async def test_confirm_on_a_session_filled_meanwhile_waitlists(
    resident: Resident_, client, fake_line, worker
) -> None:
    session = await make_session(seats=1)
    confirm = await to_summary(resident, session)
    await sign_up(person(client, fake_line, worker, "U2"), session)
    await resident.tap(confirm)
    assert "キャンセル待ち 1番目" in resident.text()


async def test_double_tap_registers_once_and_answers_once(resident: Resident_) -> None:
    session = await make_session()
    confirm = await to_summary(resident, session)
    before = len(resident.fake.delivered("U1"))
    taps = [events.postback("U1", resident.fake.issue_reply_token("U1"), confirm) for _ in range(5)]
    responses = await asyncio.gather(*(events.post(resident.client, SECRET, t) for t in taps))
    assert all(r.status_code == 200 for r in responses)
    await resident.worker.drain()
    await resident.worker.drain()
    assert await Registration.all().count() == 1
    assert (await ProgrammeSession.get(id=session.id)).taken == 1
    new = resident.fake.delivered("U1")[before:]
    assert len(new) == 1 and "お申し込みを受け付けました" in str(new[0].messages)


async def test_a_finished_attempts_buttons_say_what_happened(resident: Resident_) -> None:
    session = await make_session(childcare=2)
    confirm = await to_summary(resident, session, children=0)
    await resident.tap(confirm)
    await Registration.all().update(created_at=now() - timedelta(minutes=1))
    await resident.tap(confirm)  # 確定 again, later
    assert "すでにお申し込みいただいています" in resident.text()
    key = params(confirm)["k"]
    await resident.tap(f"flow=course&step=apply&s={session.id}&k={key}")  # 戻る, 申し込む
    assert "すでにお申し込みいただいています" in resident.text()
    await resident.tap(f"flow=cancel&of=course&k={key}")  # やめる
    assert "すでにお申し込みいただいています" in resident.text()
    assert "中止しました" not in resident.text()
    registration = await Registration.get()
    await resident.tap(f"flow=course&step=cancel_yes&r={registration.id}")
    await resident.tap(confirm)
    assert "すでにキャンセルされています" in resident.text()
    assert await Registration.all().count() == 1
    # A new attempt from the list signs up again.
    await resident.tap(await to_summary(resident, session, children=0))
    assert "お申し込みを受け付けました" in resident.text()


async def test_signing_up_twice_in_two_attempts_is_told(resident: Resident_) -> None:
    session = await make_session()
    first = await to_summary(resident, session)
    await resident.tap("flow=menu")  # leaves the summary waiting; its 確定 button still works
    second = await to_summary(resident, session)
    await resident.tap(first)
    await resident.tap(second)
    assert "すでにお申し込みいただいています" in resident.text()
    assert await Registration.all().count() == 1


async def test_confirm_after_the_deadline_does_not_register(resident: Resident_) -> None:
    session = await make_session()
    confirm = await to_summary(resident, session)
    await ProgrammeSession.filter(id=session.id).update(deadline=now() - timedelta(minutes=1))
    await resident.tap(confirm)
    assert "締め切りました" in resident.text()
    assert "一覧に戻る" in [a["label"] for a in resident.actions()]
    assert await Registration.all().count() == 0
    # The list says so too, and the details offer no sign-up.
    await resident.say("寺子屋")
    assert "受付終了" in resident.text()
    await resident.tap(resident.first_button_with("detail"))
    assert "締め切りました" in resident.text()
    assert not [a for a in resident.actions() if "step=apply" in a.get("data", "")]


@pytest.mark.parametrize(
    ("status", "answer"),
    [(SessionStatus.CANCELLED, "中止になりました"), (SessionStatus.DRAFT, "受付をしていません")],
)
async def test_a_stale_button_of_a_cancelled_or_draft_session(
    resident: Resident_, status: SessionStatus, answer: str
) -> None:
    session = await make_session(childcare=2)
    await resident.say("寺子屋")
    detail = resident.first_button_with("detail")
    await resident.tap(detail)
    apply = resident.first_button_with("apply")
    await ProgrammeSession.filter(id=session.id).update(status=status)
    for data in (detail, apply, f"{apply}&n=0".replace("step=apply", "step=care")):
        await resident.tap(data)
        assert answer in resident.text(), data
        assert "一覧に戻る" in [a["label"] for a in resident.actions()]
    await resident.tap(f"flow=course&step=confirm&s={session.id}&k=zzzzzzzzzzzz&n=0")
    assert answer in resident.text()
    assert await Registration.all().count() == 0


async def test_childcare_full_register_without_childcare(
    resident: Resident_, client, fake_line, worker
) -> None:
    session = await make_session(childcare=2)
    await sign_up(person(client, fake_line, worker, "U2"), session, children=1, ages="4歳")
    confirm = await to_summary(resident, session, children=2, ages="1歳、3歳")
    assert "託児の空きは現在1人分です" in resident.text()
    await resident.tap(confirm)
    assert "託児の空きが足りません（あと1人分のみ）" in resident.text()
    await resident.tap(resident.button("託児なしで申し込む"))
    assert "お申し込みを受け付けました" in resident.text()
    registration = await Registration.get(resident__line_user_id="U1")
    assert registration.status == RegistrationStatus.REGISTERED and registration.children == 0
    stored = await ProgrammeSession.get(id=session.id)
    assert stored.childcare_taken == 1 and stored.taken == 2


async def test_childcare_full_wait_for_a_place(
    resident: Resident_, client, fake_line, worker
) -> None:
    session = await make_session(childcare=1)
    await sign_up(person(client, fake_line, worker, "U2"), session, children=1, ages="4歳")
    await resident.tap(await to_summary(resident, session, children=1, ages="2歳"))
    assert "託児の枠が埋まっています" in resident.text()
    await resident.tap(resident.button("託児の空きを待つ"))
    assert "キャンセル待ち 1番目" in resident.text()
    # A seat is free: what they wait for is a 託児 place, and the card says so.
    assert "託児の空きが出たら" in resident.text() and "席が空いたら" not in resident.text()
    registration = await Registration.get(resident__line_user_id="U1")
    assert registration.status == RegistrationStatus.WAITING
    assert registration.children == 1 and registration.children_ages == "2歳"
    stored = await ProgrammeSession.get(id=session.id)
    assert stored.childcare_taken == 1 and stored.taken == 1


async def test_back_from_the_summary_keeps_the_number_of_children(resident: Resident_) -> None:
    session = await make_session(childcare=3)
    await to_summary(resident, session, children=2, ages="3歳、5歳")
    await resident.tap(resident.button("戻る"))
    # Back one step: the ages of the 2 children, not 託児 不要 / 必要 all over again.
    assert "2人ですね" in resident.text() and "年齢を教えてください" in resident.text()
    await resident.say("4歳、6歳")
    assert "2人（4歳、6歳）" in resident.text()
    await resident.tap(resident.button("申込みを確定する"))
    registration = await Registration.get()
    assert registration.children == 2 and registration.children_ages == "4歳、6歳"


async def test_text_typed_at_the_summary_says_to_press_a_button_or_taps_the_label(
    resident: Resident_,
) -> None:
    session = await make_session()
    await to_summary(resident, session)
    await resident.say("はい")
    answer = resident.text()
    assert "下のボタンからお選びください" in answer and "この内容で申し込みますか" in answer
    assert await Registration.all().count() == 0
    await resident.say("申込みを確定する")  # the button's label, typed
    assert "お申し込みを受け付けました" in resident.text()
    assert (await Registration.get()).status == RegistrationStatus.REGISTERED


async def test_text_typed_at_the_childcare_choice_gets_the_choice_again(
    resident: Resident_, client, fake_line, worker
) -> None:
    session = await make_session(childcare=1)
    await sign_up(person(client, fake_line, worker, "U2"), session, children=1, ages="4歳")
    await resident.tap(await to_summary(resident, session, children=1, ages="2歳"))
    assert "託児の枠が埋まっています" in resident.text()
    await resident.say("どうしよう")
    answer = resident.text()
    assert "下のボタンからお選びください" in answer and "託児の枠が埋まっています" in answer
    labels = [a["label"] for a in resident.actions()]
    assert "託児なしで申し込む" in labels and "託児の空きを待つ" in labels
    assert await Registration.filter(resident__line_user_id="U1").count() == 0
    await resident.say("託児の空きを待ちます")  # not a label: asked again, nothing made
    assert await Registration.filter(resident__line_user_id="U1").count() == 0
    await resident.say("託児の空きを待つ")
    assert "キャンセル待ち 1番目" in resident.text()
    registration = await Registration.get(resident__line_user_id="U1")
    assert registration.children == 1 and registration.children_ages == "2歳"


async def test_the_waiting_card_does_not_invite_leaving(
    resident: Resident_, client, fake_line, worker
) -> None:
    session = await make_session(seats=1)
    await sign_up(person(client, fake_line, worker, "U2"), session)
    await sign_up(resident, session)

    def leave_buttons() -> list[dict]:
        return [
            node
            for node in _walk(resident.last)
            if node.get("type") == "button" and node["action"]["label"] == "キャンセル待ちをやめる"
        ]

    # Neither the キャンセル待ち card nor マイページ shows leaving as the filled button.
    assert leave_buttons() and all(b["style"] == "secondary" for b in leave_buttons())
    await resident.say("マイページ")
    assert leave_buttons() and all(b["style"] == "secondary" for b in leave_buttons())


def _walk(node: object) -> list[dict]:
    found: list[dict] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


# -- マイページ, cancelling, offers -----------------------------------------------------------


async def test_mypage_lists_and_cancels_with_confirmation(
    resident: Resident_, client, fake_line, worker
) -> None:
    session = await make_session(seats=1)
    await sign_up(resident, session)
    waiting = person(client, fake_line, worker, "U2")
    await sign_up(waiting, session)
    await resident.say("マイページ")
    assert "お申し込み済み" in resident.text() and TITLE in resident.text()
    # Under 相談予約's part, a line says this part is 寺子屋・交流会's.
    assert "寺子屋・交流会のお申し込みです" in resident.text()
    await waiting.say("マイページ")
    assert "キャンセル待ち" in waiting.text() and "1番目" in waiting.text()
    await resident.tap(resident.button("キャンセルする"))
    assert "お申し込みをキャンセルしますか" in resident.text()
    assert (await Registration.get(resident__line_user_id="U1")).status == "registered"
    await resident.tap(resident.button("キャンセルする"))
    assert "お申し込みをキャンセルしました" in resident.text()
    mine = await Registration.get(resident__line_user_id="U1")
    assert mine.status == RegistrationStatus.CANCELLED
    # The freed seat is offered to the first person waiting, in the same transaction.
    offered = await Registration.get(resident__line_user_id="U2")
    assert offered.status == RegistrationStatus.OFFERED
    assert await OutboxMessage.filter(kind="course_offer", line_user_id="U2").count() == 1
    await resident.worker.drain()
    assert "参加する" in str(waiting.fake.delivered("U2")[-1].messages)
    # Cancelled once: the confirmation's button again is told, nothing changes.
    await resident.tap(f"flow=course&step=cancel_yes&r={mine.id}")
    assert "すでにキャンセルされているか" in resident.text()
    await resident.say("マイページ")
    assert "寺子屋・交流会のお申し込みは、いまはありません" in resident.text()


async def test_leaving_the_waitlist(resident: Resident_, client, fake_line, worker) -> None:
    session = await make_session(seats=1)
    await sign_up(person(client, fake_line, worker, "U2"), session)
    registration = await sign_up(resident, session)
    await resident.tap(resident.button("キャンセル待ちをやめる"))
    assert "キャンセル待ちをやめますか" in resident.text()
    # Not 「やめる」 beside 「やめておく」: two answers that cannot be mistaken.
    assert [a["label"] for a in resident.actions()] == ["待つのをやめる", "このまま待つ"]
    await resident.tap(resident.button("このまま待つ"))
    await registration.refresh_from_db()
    assert registration.status == RegistrationStatus.WAITING
    await resident.tap(f"flow=course&step=cancel&r={registration.id}")
    await resident.tap(resident.button("待つのをやめる"))
    assert "キャンセル待ちを取り消しました" in resident.text()
    await registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CANCELLED
    assert (await ProgrammeSession.get(id=session.id)).waiting == 0


async def offered_to(resident: Resident_, client, fake_line, worker) -> Registration:
    """The resident waits; the one registered cancels: the resident is offered the seat."""
    session = await make_session(seats=1)
    other = person(client, fake_line, worker, "U2")
    taken = await sign_up(other, session)
    mine = await sign_up(resident, session)
    await other.tap(f"flow=course&step=cancel_yes&r={taken.id}")
    await mine.refresh_from_db()
    assert mine.status == RegistrationStatus.OFFERED
    return mine


async def test_accepting_an_offer(resident: Resident_, client, fake_line, worker) -> None:
    mine = await offered_to(resident, client, fake_line, worker)
    await resident.say("マイページ")
    assert "繰り上げのご案内" in resident.text()
    await resident.tap(f"flow=course&step=offer_yes&r={mine.id}")
    assert "お申し込みを受け付けました" in resident.text()
    await mine.refresh_from_db()
    assert mine.status == RegistrationStatus.REGISTERED
    await Registration.filter(id=mine.id).update(registered_at=now() - timedelta(minutes=1))
    await resident.tap(f"flow=course&step=offer_yes&r={mine.id}")
    assert "すでに確保されています" in resident.text()


async def test_an_expired_offer_is_told(resident: Resident_, client, fake_line, worker) -> None:
    mine = await offered_to(resident, client, fake_line, worker)
    await Registration.filter(id=mine.id).update(offer_expires_at=now() - timedelta(minutes=1))
    await resident.tap(f"flow=course&step=offer_yes&r={mine.id}")
    assert "期限が過ぎたか" in resident.text()
    await mine.refresh_from_db()
    assert mine.status == RegistrationStatus.OFFERED  # the worker's round expires it


async def test_declining_an_offer(resident: Resident_, client, fake_line, worker) -> None:
    mine = await offered_to(resident, client, fake_line, worker)
    await resident.tap(f"flow=course&step=offer_no&r={mine.id}")
    assert "ご案内を辞退しました" in resident.text()
    await mine.refresh_from_db()
    assert mine.status == RegistrationStatus.DECLINED
    assert (await ProgrammeSession.get(id=mine.session_id)).taken == 0
    await resident.tap(f"flow=course&step=offer_no&r={mine.id}")
    assert "すでに辞退されています" in resident.text()
    # 参加する after declining: they declined, the seat was not 「埋まりました」.
    await resident.tap(f"flow=course&step=offer_yes&r={mine.id}")
    assert "すでに辞退されています" in resident.text() and "埋まりました" not in resident.text()
    await mine.refresh_from_db()
    assert mine.status == RegistrationStatus.DECLINED


async def test_forged_registration_ids_change_nothing(
    resident: Resident_, client, fake_line, worker
) -> None:
    session = await make_session(seats=1, hours_ahead=0.2, deadline=timedelta(0))
    registration = await sign_up(resident, session)
    intruder = person(client, fake_line, worker, "U666")
    for step in ("cancel", "cancel_yes", "offer_yes", "offer_no", "checkin", "comment"):
        await intruder.tap(f"flow=course&step={step}&r={registration.id}")
        assert "見つかりませんでした" in intruder.text(), step
    await intruder.tap(f"flow=course&step=rate&r={registration.id}&v=1")
    assert "見つかりませんでした" in intruder.text()
    # The attempt key of another resident's sign-up is not theirs either.
    await intruder.tap(f"flow=course&step=confirm&s={session.id}&k={registration.request_key}&n=0")
    assert "すでにお申し込み" not in intruder.text()
    await registration.refresh_from_db()
    assert registration.status == RegistrationStatus.REGISTERED
    assert registration.attendance == Attendance.UNKNOWN and registration.satisfaction is None
    assert await Registration.all().count() == 1
    assert (await ProgrammeSession.get(id=session.id)).taken == 1


@pytest.mark.parametrize("value", ["9" * 30, "abc", ""])
async def test_bad_ids_are_a_stale_button(resident: Resident_, value: str) -> None:
    await make_session()
    for data in (
        f"flow=course&step=detail&s={value}",
        f"flow=course&step=cancel_yes&r={value}",
        f"flow=course&step=checkin&r={value}",
        f"flow=course&step=care&s={value}&k=abc&n=9",
    ):
        await resident.tap(data)
        assert resident.text(), data


# -- on the day and after -----------------------------------------------------------------


async def test_check_in_inside_the_window(resident: Resident_) -> None:
    session = await make_session(hours_ahead=0.25, deadline=timedelta(0))
    registration = await sign_up(resident, session)
    await resident.tap(resident.button("当日チェックイン"))
    assert "チェックインしました" in resident.text()
    await registration.refresh_from_db()
    assert registration.attendance == Attendance.PRESENT and registration.attendance_by == "line"
    await resident.tap(f"flow=course&step=checkin&r={registration.id}")
    assert "すでにチェックイン済み" in resident.text()


async def test_check_in_outside_the_window_says_when_it_opens(resident: Resident_) -> None:
    session = await make_session(hours_ahead=3)
    registration = await sign_up(resident, session)
    await resident.tap(resident.button("当日チェックイン"))
    assert "開始30分前から受け付けます" in resident.text()
    opens = session.starts_at - timedelta(minutes=30)
    assert format_jst(opens, "%m/%d %H:%M") in resident.text()
    await registration.refresh_from_db()
    assert registration.attendance == Attendance.UNKNOWN


async def test_rating_and_comment(resident: Resident_) -> None:
    session = await make_session(hours_ahead=0.25, deadline=timedelta(0))
    registration = await sign_up(resident, session)
    await resident.tap(f"flow=course&step=checkin&r={registration.id}")
    await resident.tap(f"flow=course&step=rate&r={registration.id}&v=4")
    assert "ご回答ありがとうございます" in resident.text()
    await registration.refresh_from_db()
    assert registration.satisfaction == 4
    await resident.tap(resident.button("ひとことコメントを送る"))
    assert "500文字まで" in resident.text()
    await resident.say("あ" * 501)
    assert "500文字以内" in resident.text() and "501文字" in resident.text()
    await resident.say("とても分かりやすかったです。次は写真の講座も受けたいです！")
    assert "ありがとうございます" in resident.text()
    await registration.refresh_from_db()
    assert registration.comment.startswith("とても分かりやすかった")
    await resident.tap(f"flow=course&step=rate&r={registration.id}&v=9")
    assert "5段階" in resident.text()
    # The same five buttons as the follow-up push, not a second set of labels.
    assert [a["label"] for a in resident.actions()] == [
        "1 不満",
        "2 やや不満",
        "3 ふつう",
        "4 満足",
        "5 とても満足",
    ]
    await resident.tap(resident.button("5 とても満足"))
    await resident.tap(resident.button("スキップ"))
    assert "またのご参加をお待ちしています" in resident.text()
    await registration.refresh_from_db()
    assert registration.satisfaction == 5


async def test_only_attendees_rate(resident: Resident_) -> None:
    session = await make_session()
    registration = await sign_up(resident, session)
    await resident.tap(f"flow=course&step=rate&r={registration.id}&v=5")
    assert "当日ご参加いただいた方" in resident.text()
    await registration.refresh_from_db()
    assert registration.satisfaction is None
