"""What a walkthrough as a resident found on the LINE side (issue 8): the method legend, the
menus' buttons, the time labels, the staff notices, the bookings carousel and typed text at a
button step — signed webhooks in, the fake LINE platform out."""

from __future__ import annotations

from datetime import date, timedelta

import httpx2
import pytest

from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from models.consultation import ConsultationSlot
from models.conversation import ConversationState
from models.residents import Resident
from shima.domain.calendar import closed_days
from shima.settings import Settings
from shima.timeutil import JST, jst_datetime, now
from shima.worker import Worker
from tests.admin import conftest as admin_fixtures
from tests.admin.conftest import page_csrf
from tests.admin.test_consult_admin import BOOKINGS, _book_on_behalf, book, future_day, jst, slot_at
from tests.admin.test_consult_admin import resident as admin_resident
from tests.line_app.planned import planned_worker
from tests.line_app.test_consult_flow import Resident_

# Staff signed in to the admin, from the admin tests' fixtures.
staff_user = admin_fixtures.staff_user
staff_client = admin_fixtures.staff_client

READY = ["相談予約", "寺子屋・交流会", "マーケット出店", "アンケート", "お知らせ", "マイページ"]
COMING_SOON = ("写真教室",)  # tests.line_app.planned: an area not built yet


@pytest.fixture
def resident(client, fake_line, settings: Settings, line: LineClient) -> Resident_:
    """A resident of an account whose menu also has an area not built yet (写真教室)."""
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, planned_worker(settings, line), "U1")


async def one_slot(
    methods: str = "visit,online,phone", counsellor: str = "田中", hours_ahead: int = 30
) -> ConsultationSlot:
    start = now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours_ahead)
    return await ConsultationSlot.create(
        starts_at=start,
        ends_at=start + timedelta(minutes=50),
        counsellor=counsellor,
        methods=methods,
    )


async def to_method_step(r: Resident_) -> None:
    await r.say("予約")
    await r.tap(r.button("開業・独立"))
    await r.tap(r.first_button_with("date"))
    await r.tap(r.first_button_with("slot"))
    assert "ご相談の方法をお選びください" in r.text()


async def _open_day() -> date:
    for ahead in range(2, 12):
        day = (now() + timedelta(days=ahead)).astimezone(JST).date()
        if not await closed_days(day, day):
            return day
    raise AssertionError("no open day")


def quick_labels(r: Resident_) -> list[str]:
    return [i["action"]["label"] for i in r.last[-1]["quickReply"]["items"]]


# ---------- #9 the method legend lists only the slot's methods ----------


async def test_method_legend_lists_only_what_the_slot_offers(resident: Resident_) -> None:
    await one_slot(methods="visit,online")
    await to_method_step(resident)
    answer = resident.text()
    assert "来所: WorkStyle Lab Inno で対面" in answer and "オンライン: ビデオ通話" in answer
    assert "電話" not in answer
    assert quick_labels(resident)[:2] == ["来所", "オンライン"]
    assert "電話" not in quick_labels(resident)


async def test_method_legend_names_phone_when_offered(resident: Resident_) -> None:
    await one_slot(methods="online,phone")
    await to_method_step(resident)
    answer = resident.text()
    assert "電話: 担当者からお電話" in answer and "来所" not in answer


# ---------- #10 menus offer only what works today ----------


@pytest.mark.parametrize(
    ("say", "tap"),
    [
        ("こんにちは", None),
        ("ありがとう", None),
        ("メニュー", None),
        ("やめる", None),
        ("今日の天気は？", None),
        ("写真教室", None),  # a 準備中 area typed
        (None, "flow=photo"),  # a 準備中 area tapped
        (None, "flow=menu"),
        (None, "flow=cancel"),
    ],
)
async def test_menus_offer_only_areas_that_work(
    resident: Resident_, say: str | None, tap: str | None
) -> None:
    if say is not None:
        await resident.say(say)
    else:
        assert tap is not None
        await resident.tap(tap)
    labels = quick_labels(resident)
    assert labels == READY, labels
    assert not set(labels) & set(COMING_SOON)


# ---------- #11 time labels keep the counsellor's name whole ----------

TANAKA = "田中（コミュニティマネージャー）"
MORI = "森（キャリア相談員）"


async def _shared_start(lengths: dict[str, int]) -> None:
    day = await _open_day()
    start = jst_datetime(day) + timedelta(hours=11)
    for counsellor, minutes in lengths.items():
        await ConsultationSlot.create(
            starts_at=start, ends_at=start + timedelta(minutes=minutes), counsellor=counsellor
        )
    await ConsultationSlot.create(
        starts_at=start + timedelta(hours=3),
        ends_at=start + timedelta(hours=3, minutes=50),
        counsellor=TANAKA,
    )


async def _time_choices(r: Resident_) -> list[dict]:
    await r.say("予約")
    await r.tap(r.button("開業・独立"))
    await r.tap(r.first_button_with("date"))
    return [a for a in r.actions() if "step=slot" in a.get("data", "")]


async def test_same_start_labels_use_the_short_name_and_drop_equal_lengths(
    resident: Resident_,
) -> None:
    await _shared_start({TANAKA: 50, MORI: 50})
    choices = await _time_choices(resident)
    assert [c["label"] for c in choices] == ["11:00 田中", "11:00 森", "14:00"]
    # The resident's own bubble still says it in full.
    assert choices[0]["displayText"].endswith(f"11:00 50分 {TANAKA}")


async def test_same_start_labels_keep_lengths_that_differ(resident: Resident_) -> None:
    await _shared_start({TANAKA: 50, "新人A": 15})
    choices = await _time_choices(resident)
    assert [c["label"] for c in choices] == ["11:00 50分 田中", "11:00 15分 新人A", "14:00"]
    assert all(len(c["label"]) <= 20 for c in choices)


async def test_a_name_too_long_for_a_label_is_never_cut(resident: Resident_) -> None:
    long_name = "ウィルヘルミーナ・ファンデルワールス"  # 18 characters, one word
    await _shared_start({long_name: 50, MORI: 50})
    choices = await _time_choices(resident)
    labels = [c["label"] for c in choices]
    assert labels == ["11:00 その1", "11:00 森", "14:00"]
    assert long_name in choices[0]["displayText"]


# ---------- #13 staff notices: neutral wording, 担当 named ----------


async def _delivered_to(who: Resident, settings: Settings, fake: FakeLinePlatform) -> str:
    line = LineClient(settings)
    try:
        await Worker(settings, line).drain()
    finally:
        await line.close()
    return "\n".join(m["text"] for d in fake.delivered(who.line_user_id) for m in d.messages)


async def test_move_notice_is_neutral_and_gives_the_reason(
    staff_client: httpx2.AsyncClient, settings: Settings, fake_line: FakeLinePlatform
) -> None:
    day = future_day()
    who = await admin_resident()
    booking = await book(settings, who, await slot_at(jst(day, 10)))
    target = await slot_at(jst(day, 14), counsellor="森")
    path = f"{BOOKINGS}/{booking.id}"
    response = await staff_client.post(
        f"{path}/move",
        data={
            "csrf_token": await page_csrf(staff_client, path),
            "target": str(target.id),
            "reason": "ご本人のご希望（お電話にて）",
        },
    )
    assert response.status_code == 303
    body = await _delivered_to(who, settings, fake_line)
    assert "【ご予約変更のお知らせ】" in body and "窓口の都合" not in body
    assert "ご予約の日時が次のとおり変更になりました" in body
    assert "理由: ご本人のご希望（お電話にて）" in body
    assert "担当: 田中 から 森 に変わります" in body and "14:00" in body


async def test_cancel_notice_does_not_blame_the_desk(
    staff_client: httpx2.AsyncClient, settings: Settings, fake_line: FakeLinePlatform
) -> None:
    who = await admin_resident()
    booking = await book(settings, who, await slot_at(jst(future_day(), 10)))
    path = f"{BOOKINGS}/{booking.id}"
    response = await staff_client.post(
        f"{path}/cancel",
        data={"csrf_token": await page_csrf(staff_client, path), "reason": "ご本人からお電話"},
    )
    assert response.status_code == 303
    body = await _delivered_to(who, settings, fake_line)
    assert "【ご予約キャンセルのお知らせ】" in body and "窓口の都合" not in body
    assert "理由: ご本人からお電話" in body


async def test_proxy_booking_notice_names_the_counsellor(
    staff_client: httpx2.AsyncClient, settings: Settings, fake_line: FakeLinePlatform
) -> None:
    who = await admin_resident()
    slot = await slot_at(jst(future_day(), 10), counsellor=MORI)
    assert (await _book_on_behalf(staff_client, who, slot)).status_code == 303
    body = await _delivered_to(who, settings, fake_line)
    assert "窓口でご予約を承りました" in body and f"担当: {MORI}" in body


# ---------- #15 the bookings carousel shows 担当 and the phone number ----------


async def _book(r: Resident_, method: str, phone: str | None = None) -> None:
    await r.say("予約")
    await r.tap(r.button("開業・独立"))
    await r.tap(r.first_button_with("date"))
    await r.tap(r.first_button_with("slot"))
    await r.tap(r.button(method))
    if phone is not None:
        await r.say(phone)
    await r.tap(r.button("スキップ"))
    await r.tap(r.button("予約を確定する"))
    assert "ご予約を承りました" in r.text()


async def test_bookings_carousel_names_the_counsellor_and_the_phone_number(
    resident: Resident_,
) -> None:
    await one_slot(counsellor=TANAKA)
    await _book(resident, "電話", "090-1234-5678")
    await one_slot(counsellor=MORI, hours_ahead=54)
    await _book(resident, "来所")
    for ask in ("マイページ", "予約"):  # マイページ, and the 2-booking limit at the start
        await resident.say(ask)
        answer = resident.text()
        assert "ご予約 2件" in answer
        assert f"担当\n{TANAKA}" in answer and f"担当\n{MORI}" in answer
        assert "電話番号\n090-1234-5678" in answer


# ---------- #8 typed text at a button step keeps the buttons ----------

CHOOSE = "下のボタンからお選びください"


async def test_typed_text_at_the_method_step_asks_again_with_the_same_buttons(
    resident: Resident_,
) -> None:
    await one_slot(methods="visit,online")
    await to_method_step(resident)
    offered = quick_labels(resident)
    await resident.say("abc")
    answer = resident.text()
    assert CHOOSE in answer and "ご相談の方法をお選びください" in answer
    assert "自動でお答えできません" not in answer
    assert quick_labels(resident) == offered == ["来所", "オンライン", "戻る", "やめる"]
    await resident.say("こんにちは")  # small talk, too, keeps the buttons
    assert CHOOSE in resident.text() and quick_labels(resident) == offered
    await resident.tap(resident.button("来所"))
    assert "ひとことお聞かせください" in resident.text()


async def test_typing_a_buttons_label_picks_it(resident: Resident_) -> None:
    await one_slot()
    await resident.say("予約")
    await resident.say("開業・独立")  # the topic, typed
    assert "ご希望の日をお選びください" in resident.text()
    await resident.tap(resident.first_button_with("date"))
    await resident.tap(resident.first_button_with("slot"))
    await resident.say("電話でお願いします。")
    assert "電話番号を入力してください" in resident.text()
    await resident.say("090-1234-5678")
    await resident.tap(resident.button("スキップ"))
    await resident.tap(resident.button("予約を確定する"))
    assert "ご予約を承りました" in resident.text()


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("やめる", "操作を中止しました"),
        ("キャンセル", "入力中の手続きは中止しました"),
        ("マイページ", "相談のご予約は、現在ありません"),
        ("メニュー", "ご用件をお選びください"),
    ],
)
async def test_words_that_leave_still_leave_a_button_step(
    resident: Resident_, typed: str, answer: str
) -> None:
    await one_slot()
    await to_method_step(resident)
    await resident.say(typed)
    assert answer in resident.text() and CHOOSE not in resident.text()
    assert await ConversationState.all().count() == 0
    await resident.say("abc")  # the old step is forgotten
    assert CHOOSE not in resident.text()


@pytest.mark.parametrize(
    "elsewhere",
    ["flow=photo", "flow=course", "flow=survey"],  # a 準備中 area, other areas' flows
)
async def test_a_tap_elsewhere_forgets_the_button_step(resident: Resident_, elsewhere: str) -> None:
    await one_slot()
    await to_method_step(resident)
    await resident.tap(elsewhere)
    await resident.say("abc")
    assert CHOOSE not in resident.text() and "方法をお選びください" not in resident.text()


async def test_typed_text_at_the_time_step_keeps_the_times(resident: Resident_) -> None:
    await one_slot()
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    await resident.tap(resident.first_button_with("date"))
    times = quick_labels(resident)
    await resident.say("午後がいいです")
    assert CHOOSE in resident.text() and quick_labels(resident) == times
    await resident.say(times[0])  # the time, typed as shown
    assert "ご相談の方法をお選びください" in resident.text()
