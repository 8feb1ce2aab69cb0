"""Staff read staff wording: a booking rule's refusal in the admin is not the resident's LINE
text, and the dashboard does not call 相談予約 a feature still to come."""

from __future__ import annotations

import re

import httpx2

from models.consultation import Booking, BookingStatus
from shima.settings import Settings
from shima.timeutil import JST, now
from tests.admin.conftest import page_csrf
from tests.admin.test_booking_list_order import booking_on
from tests.admin.test_consult_admin import BOOKINGS, book, future_day, jst, resident, slot_at


async def test_a_full_slot_is_told_to_staff_as_staff(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    slot = await slot_at(jst(future_day(), 10))
    await book(settings, await resident("先客 一郎"), slot)
    who = await resident("喜界 一郎")
    path = f"{BOOKINGS}/new?resident={who.id}"
    form = {
        "csrf_token": await page_csrf(staff_client, path),
        "resident": str(who.id),
        "slot": str(slot.id),
        "topic": "start",
        "method": "visit",
    }
    response = await staff_client.post(f"{BOOKINGS}/new", data=form)
    assert response.status_code == 400
    assert "この枠は満席です。別の枠を選んでください。" in response.text
    assert "申し訳ありません" not in response.text and "ご予約" not in response.text
    assert await Booking.filter(resident_id=who.id).count() == 0


def card_value(html: str, label: str) -> str:
    match = re.search(rf'card-label">{label}</h3>\s*<p class="card-value">(\d+)<', html)
    assert match, label
    return match.group(1)


async def test_the_dashboard_counts_consultations_and_names_only_what_is_to_come(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    await book(settings, await resident(), await slot_at(jst(future_day(), 10)))
    # Earlier this month (today just after midnight on the 1st).
    earlier = -1 if now().astimezone(JST).day > 1 else 0
    past = await booking_on(await resident(), earlier, hour=0)
    await Booking.filter(id=past.id).update(status=BookingStatus.ATTENDED)
    text = (await staff_client.get("/admin/")).text
    assert card_value(text, "今後の相談予約") == "1"
    assert card_value(text, "今月の来所済み") == "1"
    assert card_value(text, "今月の無断キャンセル") == "0"
    # Every area has its admin now (アンケート was the last): none is named as still to come.
    assert "管理画面ができしだいここに表示されます" not in text


async def test_a_missing_page_is_shown_to_signed_in_staff_in_the_admin(
    staff_client: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    response = await staff_client.get("/admin/consult/no-such-page")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text
    assert "ダッシュボードへ戻る" in response.text and "ログイン画面へ" not in response.text
    assert "島 花子" in response.text  # signed in: the admin's frame
    client.cookies.clear()
    anonymous = await client.get("/admin/consult/no-such-page")
    assert anonymous.status_code == 404 and "ログイン画面へ" in anonymous.text
