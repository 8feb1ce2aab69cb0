"""The conversation around 相談予約 (issue 8): typed intents, old buttons, the time list, the
phone number of 電話 bookings and the copy — signed webhooks in, the fake LINE platform out."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from urllib.parse import parse_qsl

import httpx2
import pytest

from line_app.client import LineClient
from models.consultation import Booking, BookingStatus, ConsultationSlot
from models.conversation import ConversationState
from shima.domain.calendar import closed_days
from shima.settings import Settings, desk_hours_text
from shima.timeutil import JST, jst_datetime, now
from tests.admin import conftest as admin_fixtures
from tests.line_app import events
from tests.line_app.planned import planned_worker
from tests.line_app.test_consult_flow import SECRET, Resident_, book_through, make_slots

# Staff signed in to the admin, from the admin tests' fixtures.
staff_user = admin_fixtures.staff_user
staff_client = admin_fixtures.staff_client

STOPPED = "操作を中止しました"
TOPICS = "ご相談の内容をお選びください"


@pytest.fixture
def resident(client, fake_line, worker) -> Resident_:
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, worker, "U1")


def footer_labels(r: Resident_) -> list[str]:
    card = r.last[-1]["contents"]
    return [b["action"]["label"] for b in card["footer"]["contents"]]


# ---------- typed intents ----------


@pytest.mark.parametrize(
    "words", ["キャンセル", "予約をキャンセルしたい", "キャンセルしたい", "ｷｬﾝｾﾙ"]
)
async def test_typed_cancel_shows_the_bookings_to_cancel(resident: Resident_, words: str) -> None:
    await make_slots(1)
    await resident.tap(await book_through(resident, note=None))
    booking = await Booking.get()
    await resident.say(words)
    answer = resident.text()
    assert STOPPED not in answer and TOPICS not in answer
    assert "キャンセルするご予約" in answer and "ご予約 1件" in answer
    cancel = resident.button("キャンセルする")
    assert dict(parse_qsl(cancel)) == {"flow": "consult", "step": "cancel", "b": str(booking.id)}
    await resident.tap(cancel)
    await resident.tap(resident.button("キャンセルする"))
    assert (await Booking.get()).status == BookingStatus.CANCELLED


async def test_typed_cancel_without_bookings_says_there_are_none(resident: Resident_) -> None:
    await resident.say("キャンセルしたい")
    assert "相談のご予約は、現在ありません" in resident.text()
    assert STOPPED not in resident.text()


async def test_cancel_typed_mid_flow_stops_it_and_offers_the_bookings(
    resident: Resident_,
) -> None:
    await make_slots(2)
    await resident.tap(await book_through(resident, note=None))
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    await resident.tap(resident.first_button_with("date"))
    await resident.tap(resident.first_button_with("slot"))
    await resident.tap(resident.button("来所"))
    assert "ひとことお聞かせください" in resident.text()  # waiting for the note
    await resident.say("キャンセル")
    answer = resident.text()
    assert "入力中の手続きは中止しました" in answer and "ご予約 1件" in answer
    assert await ConversationState.all().count() == 0
    # A note that merely mentions キャンセル stays a note.
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    await resident.tap(resident.first_button_with("date"))
    await resident.tap(resident.first_button_with("slot"))
    await resident.tap(resident.button("来所"))
    await resident.say("前回キャンセルしてしまったので改めて相談したい")
    assert "この内容で予約しますか" in resident.text()
    assert "前回キャンセルしてしまったので" in resident.text()


@pytest.mark.parametrize("words", ["やめる", "中止", "ﾔﾒﾙ"])
async def test_stop_words_still_stop_a_flow(resident: Resident_, words: str) -> None:
    await make_slots(1)
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    await resident.tap(resident.first_button_with("date"))
    await resident.tap(resident.first_button_with("slot"))
    await resident.tap(resident.button("来所"))
    await resident.say(words)
    assert STOPPED in resident.text()
    assert await ConversationState.all().count() == 0


@pytest.mark.parametrize(
    "words",
    ["よやく", "そうだん", "予約したい", "相談したい", "ﾖﾔｸ", "よやくしたいです！", "ソウダン"],
)
async def test_hiragana_and_variants_start_the_booking(resident: Resident_, words: str) -> None:
    await make_slots(1)
    await resident.say(words)
    assert TOPICS in resident.text()


@pytest.mark.parametrize("words", ["まいぺーじ", "マイページ", "ﾏｲﾍﾟｰｼﾞ", "予約確認", "予約の確認"])
async def test_mypage_words_show_the_bookings(resident: Resident_, words: str) -> None:
    await make_slots(1)
    await resident.tap(await book_through(resident, note=None))
    await resident.say(words)
    assert "ご予約 1件" in resident.text() and TOPICS not in resident.text()


@pytest.mark.parametrize(
    ("words", "answer"),
    [
        ("こんにちは", "こんにちは！"),
        ("こんにちは。", "こんにちは！"),
        ("よろしくお願いします", "こんにちは！"),
        ("はじめまして", "こんにちは！"),
        ("ありがとうございました！", "ありがとうございます"),
        ("ありがとう", "ありがとうございます"),
    ],
)
async def test_greetings_and_thanks_get_a_friendly_answer(
    resident: Resident_, words: str, answer: str
) -> None:
    await resident.say(words)
    last = resident.last[-1]
    assert answer in last["text"] and "自動でお答えできません" not in last["text"]
    assert [i["action"]["label"] for i in last["quickReply"]["items"]][0] == "相談予約"


# ---------- old buttons ----------


async def test_confirm_tapped_again_later_says_it_is_booked(resident: Resident_) -> None:
    [slot, *_] = await make_slots()
    confirm = await book_through(resident)
    await resident.tap(confirm)
    assert "ご予約を承りました" in resident.text()
    # A minute later the resident taps the old summary's 確定 again.
    await Booking.all().update(created_at=now() - timedelta(minutes=1))
    await resident.tap(confirm)
    answer = resident.text()
    assert "このご予約はすでに確定しています" in answer
    start = slot.starts_at.astimezone(JST)
    assert f"{start.month}/{start.day}" in answer and f"{start:%H:%M}" in answer
    assert await Booking.all().count() == 1


async def test_stop_tapped_after_booking_does_not_pretend_to_undo(resident: Resident_) -> None:
    await make_slots()
    confirm = await book_through(resident)
    stop = resident.button("やめる")
    await resident.tap(confirm)
    await resident.tap(stop)
    answer = resident.text()
    assert "このご予約はすでに確定しています" in answer and STOPPED not in answer
    booking = await Booking.get()
    assert booking.status == BookingStatus.BOOKED
    assert f"b={booking.id}" in resident.button("キャンセルする")


async def test_back_from_a_booked_attempt_does_not_reopen_it(resident: Resident_) -> None:
    await make_slots()
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    back_from_dates = resident.button("戻る")
    await resident.tap(resident.first_button_with("date"))
    await resident.tap(resident.first_button_with("slot"))
    await resident.tap(resident.button("来所"))
    skip_note = resident.button("スキップ")
    await resident.tap(skip_note)
    back_from_summary = resident.button("戻る")
    await resident.tap(resident.button("予約を確定する"))
    for old in (back_from_summary, back_from_dates, skip_note):
        await resident.tap(old)
        answer = resident.text()
        assert "このご予約はすでに確定しています" in answer
        assert "方法をお選びください" not in answer and TOPICS not in answer
    assert await ConversationState.all().count() == 0
    # A new attempt starts normally.
    await resident.tap("flow=consult")
    assert TOPICS in resident.text()


async def test_stop_before_booking_still_stops(resident: Resident_) -> None:
    await make_slots()
    await book_through(resident)
    await resident.tap(resident.button("やめる"))
    assert STOPPED in resident.text()
    assert await Booking.all().count() == 0


# ---------- the time list ----------


async def _open_day() -> date:
    for ahead in range(2, 12):
        day = (now() + timedelta(days=ahead)).astimezone(JST).date()
        if not await closed_days(day, day):
            return day
    raise AssertionError("no open day")


async def test_time_list_pages_and_tells_same_start_slots_apart(resident: Resident_) -> None:
    day = await _open_day()
    made = []
    for i in range(13):
        start = jst_datetime(day) + timedelta(hours=8, minutes=30 * i)
        made.append(
            await ConsultationSlot.create(
                starts_at=start, ends_at=start + timedelta(minutes=25), counsellor="田中"
            )
        )
    first = made[0].starts_at
    made.append(
        await ConsultationSlot.create(
            starts_at=first, ends_at=first + timedelta(minutes=60), counsellor="佐藤"
        )
    )
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    await resident.tap(resident.first_button_with("date", day.strftime("%Y%m%d")))
    seen: list[str] = []
    labels: list[str] = []
    for _ in range(5):
        items = resident.last[-1]["quickReply"]["items"]
        assert len(items) <= 13
        actions = [i["action"] for i in items]
        assert [a["label"] for a in actions][-2:] == ["戻る", "やめる"]
        for a in actions:
            if "step=slot" in a["data"]:
                seen.append(dict(parse_qsl(a["data"]))["s"])
                labels.append(a["label"])
        if "もっと見る" not in [a["label"] for a in actions]:
            break
        await resident.tap(resident.button("もっと見る"))
    assert sorted(seen) == sorted(str(s.id) for s in made)  # every time, none dropped
    assert "08:00 25分 田中" in labels and "08:00 60分 佐藤" in labels
    assert "08:30" in labels  # a time of its own keeps its short label
    assert "全14件中" in resident.text()


# ---------- phone number for 電話 bookings ----------


async def _to_phone_step(r: Resident_) -> None:
    await make_slots(1)
    await r.say("予約")
    await r.tap(r.button("開業・独立"))
    await r.tap(r.first_button_with("date"))
    await r.tap(r.first_button_with("slot"))
    await r.tap(r.button("電話"))


async def test_phone_booking_asks_validates_and_staff_see_the_number(
    resident: Resident_,
    staff_client: httpx2.AsyncClient,
) -> None:
    await _to_phone_step(resident)
    assert "電話番号を入力してください" in resident.text()
    assert "スキップ" in [a["label"] for a in resident.actions()]
    for wrong in ("090-1234", "abc", "12345678901"):
        await resident.say(wrong)
        assert "形式を確認できませんでした" in resident.text()
    await resident.say("０９０－１２３４－５６７８")  # full width, as phones often type it
    assert "ひとことお聞かせください" in resident.text()
    await resident.tap(resident.button("スキップ"))
    assert "この内容で予約しますか" in resident.text()
    assert "090-1234-5678" in resident.text()
    await resident.tap(resident.button("予約を確定する"))
    assert "ご予約を承りました" in resident.text() and "090-1234-5678" in resident.text()
    booking = await Booking.get()
    assert booking.phone == "090-1234-5678"
    await resident.say("マイページ")
    assert "090-1234-5678" in resident.text()  # their booking shows the number they gave

    detail = await staff_client.get(f"/admin/consult/bookings/{booking.id}")
    assert detail.status_code == 200
    assert "電話番号" in detail.text and "090-1234-5678" in detail.text
    export = await staff_client.get("/admin/consult/bookings.csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"), newline="")))
    phone_column = rows[0].index("電話番号")
    assert rows[1][phone_column] == "090-1234-5678"


async def test_phone_number_can_be_skipped(resident: Resident_) -> None:
    await _to_phone_step(resident)
    await resident.tap(resident.button("スキップ"))
    assert "ひとことお聞かせください" in resident.text()
    await resident.say("スキップ")
    assert "この内容で予約しますか" in resident.text() and "未入力" in resident.text()
    await resident.tap(resident.button("予約を確定する"))
    assert "ご予約を承りました" in resident.text()
    assert (await Booking.get()).phone is None


# ---------- copy ----------


async def test_confirmation_card_names_the_counsellor_and_puts_cancel_second(
    resident: Resident_,
) -> None:
    await make_slots(1)
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    await resident.tap(resident.first_button_with("date"))
    await resident.tap(resident.first_button_with("slot"))
    await resident.tap(resident.button("オンライン"))
    await resident.tap(resident.button("スキップ"))
    await resident.tap(resident.button("予約を確定する"))
    answer = resident.text()
    assert "担当\n田中" in answer
    assert "担当スタッフがこのトークでお送りします" in answer
    labels = footer_labels(resident)
    assert labels[-1] == "キャンセルする" and len(labels) >= 2


async def test_coming_soon_gives_the_desk_phone_and_hours(
    resident: Resident_, settings: Settings, line: LineClient
) -> None:
    resident.worker = planned_worker(settings, line)  # an area not built yet: 写真教室
    await resident.say("写真教室")
    answer = resident.text()
    assert "準備中" in answer
    assert settings.desk_phone in answer and desk_hours_text(settings) in answer


async def test_unblocking_greets_briefly(resident: Resident_) -> None:
    await resident.send(events.follow("U1", resident.fake.issue_reply_token("U1")))
    assert "友だち追加ありがとうございます" in resident.text()
    await resident.send(events.unfollow("U1"))
    unblock = events.follow("U1", resident.fake.issue_reply_token("U1"))
    unblock["follow"] = {"isUnblocked": True}
    before = len(resident.fake.delivered("U1"))
    await events.post(resident.client, SECRET, unblock)
    await resident.worker.drain()
    [delivery] = resident.fake.delivered("U1")[before:]
    [message] = delivery.messages
    assert "おかえりなさい" in message["text"] and "奄美 花子さん" in message["text"]
    assert "個人情報" not in message["text"] and "友だち追加ありがとう" not in message["text"]
    assert message["quickReply"]["items"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0997-52-1111", "0997-52-1111"),
        ("09012345678", "09012345678"),
        ("090ー1234ー5678", "090-1234-5678"),  # ー typed for a hyphen
        ("+81 90 1234 5678", "090-1234-5678"),
        ("（0997）52-1111", "0997-52-1111"),
    ],
)
async def test_phone_formats_residents_type(resident: Resident_, typed: str, stored: str) -> None:
    await _to_phone_step(resident)
    await resident.say(typed)
    assert "ひとことお聞かせください" in resident.text()
    await resident.tap(resident.button("スキップ"))
    await resident.tap(resident.button("予約を確定する"))
    assert (await Booking.get()).phone == stored


async def test_date_list_pages_instead_of_dropping_days(
    resident: Resident_, settings: Settings
) -> None:
    from shima.domain.consultation import open_dates

    today = now().astimezone(JST).date()
    for ahead in range(1, settings.consult_days_ahead + 1):
        start = jst_datetime(today + timedelta(days=ahead)) + timedelta(hours=12)
        await ConsultationSlot.create(starts_at=start, ends_at=start + timedelta(minutes=50))
    days = await open_dates(settings)
    assert len(days) > 11  # more days than one page of quick replies holds
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    offered: list[str] = []
    while True:
        items = [i["action"] for i in resident.last[-1]["quickReply"]["items"]]
        assert len(items) <= 13
        offered += [dict(parse_qsl(a["data"]))["d"] for a in items if "step=date" in a["data"]]
        if "もっと見る" not in [a["label"] for a in items]:
            break
        await resident.tap(resident.button("もっと見る"))
    assert offered == [d.strftime("%Y%m%d") for d in days]
