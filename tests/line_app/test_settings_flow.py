"""マイページ → 設定 through LINE: signed webhooks in, the fake platform's messages out.
The 設定 card (and its quick reply when マイページ's reply is full), お知らせの受け取り (off and
on again, what still arrives, double taps, old and forged buttons), データの確認・削除の申請
(what each means, the confirm, the request and its date, a second one while open, a double
tap and an old confirm after staff handled it, やめる, a redelivered event)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from line_app.flows import settings as flow
from line_app.turn import Turn
from models.inbox import InboxEvent
from models.outbox import OutboxMessage
from models.privacy import DataRequest, RequestKind, RequestStatus
from models.residents import Resident
from shima.domain import data_requests, segments
from shima.settings import Settings
from shima.timeutil import format_date_ja, now
from tests.line_app import events
from tests.line_app.test_consult_flow import SECRET, Resident_


@pytest.fixture
def resident(client, fake_line, worker) -> Resident_:
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, worker, "U1")


@pytest.fixture(autouse=True)
async def all_accepted_by_line(db: str):
    yield
    refused = await OutboxMessage.filter(last_error__isnull=False).values_list(
        "last_error", flat=True
    )
    assert not refused, refused


def labels(r: Resident_) -> list[str]:
    return [a["label"] for a in r.actions()]


async def me() -> Resident:
    return await Resident.get(line_user_id="U1")


async def answers(r: Resident_) -> int:
    return len(r.fake.delivered(r.user_id))


async def tap_later(r: Resident_, data: str, seconds: int = 10) -> None:
    """A tap of an old button, a while after the last one (not a double tap)."""
    event = events.postback(r.user_id, r.fake.issue_reply_token(r.user_id), data)
    event["timestamp"] += seconds * 1000
    await r.send(event)


# -- マイページ's card ---------------------------------------------------------------------------


async def test_mypage_ends_with_the_settings_card(resident: Resident_) -> None:
    await resident.tap("flow=mypage")
    last = resident.last[-1]
    assert last["type"] == "flex" and last["altText"].startswith("設定")
    assert "受け取る" in resident.text() and "申請中" not in resident.text()
    assert labels(resident)[-3:-1] == ["お知らせの受け取り", "データの確認・削除の申請"]

    # An open request shows on the card with its day.
    await DataRequest.create(
        resident_id=(await me()).id, kind=RequestKind.EXPORT, requested_at=now()
    )
    await resident.tap("flow=mypage")
    assert f"データの確認\n{format_date_ja(now())}に申請" in resident.text()


async def test_a_full_reply_gets_a_quick_reply_instead_of_a_push(
    resident: Resident_, settings: Settings
) -> None:
    """Five messages already: a sixth would be pushed (a message of the quota)."""
    await resident.say("こんにちは")
    someone = await me()
    event = await InboxEvent.filter(line_user_id="U1").order_by("-id").first()
    assert event is not None
    turn = Turn(event=event, resident=someone, settings=settings)
    turn.reply(*[{"type": "text", "text": f"{n}"} for n in range(5)])
    await flow.show_settings(turn)
    assert len(turn.replies) == 5
    items = turn.replies[-1]["quickReply"]["items"]
    assert items[-1]["action"]["label"] == "設定"
    # That quick reply shows the card on its own.
    await resident.tap(items[-1]["action"]["data"])
    assert resident.last[0]["altText"].startswith("設定")

    # Fewer than five: the card itself.
    turn = Turn(event=event, resident=someone, settings=settings)
    turn.reply({"type": "text", "text": "1"})
    await flow.show_settings(turn)
    assert len(turn.replies) == 2 and turn.replies[-1]["type"] == "flex"


# -- お知らせの受け取り ------------------------------------------------------------------------


async def test_opt_out_and_back_in(resident: Resident_) -> None:
    await resident.tap("flow=mypage")
    await resident.tap(resident.button("お知らせの受け取り"))
    shown = resident.text()
    assert "現在の設定：受け取る" in shown
    assert "ご自身のご予約・お申し込みへのお返事" in shown and "前日のリマインダー" in shown
    assert labels(resident)[:2] == ["✓ 受け取る", "受け取らない"]
    assert await segments.reachable().filter(line_user_id="U1").exists()

    await resident.tap(resident.button("受け取らない"))
    said = resident.text()
    assert "お知らせの受け取りを停止しました" in said
    assert "ご自身のご予約・お申し込みへのお返事" in said and "これまでどおり届きます" in said
    assert labels(resident)[0] == "受け取りを再開"  # the way back, in words that fit it
    someone = await me()
    assert someone.announcements_opt_out is True
    assert someone.announcements_opt_out_at is not None
    assert now() - someone.announcements_opt_out_at < timedelta(minutes=1)
    assert not await segments.reachable().filter(line_user_id="U1").exists()

    await resident.tap("flow=mypage")
    assert "受け取らない" in resident.text()
    await resident.tap(resident.button("お知らせの受け取り"))
    assert "現在の設定：受け取らない" in resident.text()
    assert labels(resident)[:2] == ["受け取る", "✓ 受け取らない"]

    await resident.say("受け取る")  # a label typed taps it
    assert "お知らせの受け取りを再開しました" in resident.text()
    someone = await me()
    assert someone.announcements_opt_out is False and someone.announcements_opt_out_at is None
    assert await segments.reachable().filter(line_user_id="U1").exists()


@pytest.mark.parametrize("typed", ["配信停止", "ｵｼﾗｾ停止", "通知オフ"])
async def test_typed_words_reach_the_notify_setting(resident: Resident_, typed: str) -> None:
    """Residents without the rich menu (LINE for PC) type what they want: 「配信停止」 opens
    お知らせの受け取り instead of going to the desk (or to the news list, 「お知らせ」's)."""
    await resident.say(typed)
    assert "現在の設定：受け取る" in resident.text()
    assert labels(resident)[:2] == ["✓ 受け取る", "受け取らない"]


async def test_typed_settings_shows_the_settings_card(resident: Resident_) -> None:
    await resident.say("設定")
    assert resident.last[-1]["altText"].startswith("設定")
    assert "データの確認・削除の申請" in labels(resident)


async def test_double_taps_old_and_forged_buttons(resident: Resident_) -> None:
    await resident.tap("flow=notify")
    off = resident.button("受け取らない")
    on = resident.button("✓ 受け取る")
    await resident.tap(off)
    before = await answers(resident)
    stamp = (await me()).announcements_opt_out_at
    await resident.tap(off)  # a double tap: changed and answered once
    assert await answers(resident) == before
    assert (await me()).announcements_opt_out_at == stamp

    # The same button later: nothing changes, and the answer says so.
    await tap_later(resident, off)
    assert "すでに「受け取らない」になっています" in resident.text()
    assert (await me()).announcements_opt_out_at == stamp
    # An old button says what it sets, so it still does that.
    await tap_later(resident, on, 20)
    assert "再開しました" in resident.text() and not (await me()).announcements_opt_out
    # A forged one changes nothing.
    await resident.tap("flow=notify&step=set&v=maybe")
    assert flow.STALE in resident.text() and not (await me()).announcements_opt_out


# -- データの確認・削除の申請 ------------------------------------------------------------------


async def requests() -> list[DataRequest]:
    return list(await DataRequest.all().order_by("id"))


async def test_what_each_means_and_an_erasure_request(resident: Resident_) -> None:
    await resident.tap("flow=mypage")
    await resident.tap(resident.button("データの確認・削除の申請"))
    said = resident.text()
    assert "写し" in said and "窓口でお渡しします" in said
    assert "匿名化" in said and "統計の数字は残ります" in said
    assert "先にキャンセル" in said and "これまでどおりお使いいただけます" in said
    assert f"{data_requests.RESPONSE_DAYS}日以内" in said
    assert labels(resident)[:2] == ["データの確認", "データの削除"]

    await resident.tap(resident.button("データの削除"))
    assert resident.last[0]["type"] == "template"
    assert "元には戻せません" in resident.text()
    assert await requests() == []  # nothing before the confirm
    await resident.tap(resident.button("申請する"))
    [made] = await requests()
    assert (made.kind, made.status) == (RequestKind.ERASURE, RequestStatus.OPEN)
    assert made.resident_id == (await me()).id and now() - made.requested_at < timedelta(minutes=1)
    said = resident.text()
    assert f"「データの削除」の申請を受け付けました（{format_date_ja(now())}）" in said
    due = format_date_ja(data_requests.due_by(made))
    assert f"{data_requests.RESPONSE_DAYS}日以内（{due}まで）" in said
    assert said.count("このLINEでお知らせします") == 1  # said once, not twice

    # Asked again while it is open: the day it was asked, and nothing new.
    await resident.tap("flow=privacy")
    assert "申請中: データの削除" in resident.text()
    await resident.tap(resident.button("データの削除"))
    assert f"「データの削除」は、{format_date_ja(now())}に申請済みです" in resident.text()
    assert f"{due}までに対応して" in resident.text()
    assert resident.last[0]["type"] == "text"  # no confirm
    assert len(await requests()) == 1
    # Past the promised day: an apology, not a due date in the past.
    await DataRequest.filter(id=made.id).update(requested_at=now() - timedelta(days=20))
    await resident.tap("flow=privacy&step=pick&k=erasure")
    assert "お待たせしていて申し訳ありません" in resident.text()
    assert "までに対応して" not in resident.text()

    # The other kind is a request of its own.
    await resident.tap("flow=privacy&step=pick&k=export")
    await resident.tap(resident.button("申請する"))
    assert [r.kind for r in await requests()] == [RequestKind.ERASURE, RequestKind.EXPORT]
    assert "運転免許証" in resident.text()


async def test_the_confirm_makes_one_request(resident: Resident_) -> None:
    await resident.tap("flow=privacy&step=pick&k=export")
    ok = resident.button("申請する")
    stop = resident.button("やめる")
    await resident.tap(ok)
    before = await answers(resident)
    await resident.tap(ok)  # a double tap: nothing more, and silent
    assert len(await requests()) == 1 and await answers(resident) == before
    await tap_later(resident, ok)  # later: the answer says it was asked
    assert f"{format_date_ja(now())}に申請済みです" in resident.text()
    # やめる of that confirm: it was asked, and the answer says so.
    await tap_later(resident, stop, 11)
    assert "申請済みです" in resident.text()

    # Staff hand over the copy; the old confirm then asks nothing again.
    [made] = await requests()
    assert await data_requests.finish(made.id, by="kanri@example.jp") is not None
    await tap_later(resident, ok, 20)
    assert "対応が済んでいます" in resident.text()
    assert len(await requests()) == 1

    # A new confirm makes a new request.
    await resident.tap("flow=privacy&step=pick&k=export")
    await resident.tap(resident.button("申請する"))
    assert [r.status for r in await requests()] == [RequestStatus.DONE, RequestStatus.OPEN]


async def test_stop_forged_and_redelivered(resident: Resident_) -> None:
    await resident.tap("flow=privacy&step=pick&k=erasure")
    await resident.tap(resident.button("やめる"))
    assert "申請はしませんでした" in resident.text()
    assert await requests() == []

    for forged in (
        "flow=privacy&step=ok&k=erasure",  # no time
        "flow=privacy&step=ok&k=erasure&t=99999999999999999999",
        "flow=privacy&step=ok&k=erasure&t=９９",
        f"flow=privacy&step=ok&k=erasure&t={int((now() + timedelta(days=1)).timestamp() * 1000)}",
        "flow=privacy&step=ok&k=everything&t=1",
        "flow=privacy&step=pick&k=everything",
    ):
        await resident.tap(forged)
        assert flow.STALE in resident.text(), forged
    assert await requests() == []

    # The confirm's event delivered twice by LINE: one request.
    await resident.tap("flow=privacy&step=pick&k=erasure")
    event = events.postback(
        "U1", resident.fake.issue_reply_token("U1"), resident.button("申請する")
    )
    await resident.send(event)
    again = {**event, "deliveryContext": {"isRedelivery": True}}
    assert (await events.post(resident.client, SECRET, again)).status_code == 200
    await resident.worker.drain()
    assert len(await requests()) == 1


async def test_an_old_confirm_tapped_after_the_erasure_asks_nothing(resident: Resident_) -> None:
    """Erased meanwhile: the old row holds a pseudonym and the LINE user's next event makes a
    new resident, whom a confirm shown before cannot be about."""
    await resident.tap("flow=mypage")
    shown = int((now() - timedelta(minutes=10)).timestamp() * 1000)
    await Resident.filter(line_user_id="U1").update(
        line_user_id="erased-00000000000000aa", erased_at=now()
    )
    await resident.tap(f"flow=privacy&step=ok&k=erasure&t={shown}")
    assert flow.STALE in resident.text()
    assert await requests() == []
