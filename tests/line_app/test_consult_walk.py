"""What a walkthrough as a resident found on the LINE side (issue 8): the method legend, the
menus' buttons, the time labels, the staff notices, the bookings carousel and typed text at a
button step — signed webhooks in, the fake LINE platform out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.consultation import ConsultationSlot
from shima.timeutil import now
from tests.line_app.test_consult_flow import Resident_

COMING_SOON = ("寺子屋・交流会", "マーケット出店", "アンケート", "お知らせ")


@pytest.fixture
def resident(client, fake_line, worker) -> Resident_:
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, worker, "U1")


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
        ("マーケット", None),  # a 準備中 area typed
        (None, "flow=course"),  # a 準備中 area tapped (rich menu)
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
    assert labels == ["相談予約", "マイページ"], labels
    assert not set(labels) & set(COMING_SOON)
