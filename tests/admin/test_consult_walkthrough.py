"""What a staff walkthrough of the desk found, through the ASGI app: one counsellor spelt two
ways still cannot overlap; 代理予約 beyond the 2-booking limit only when staff say so; an
ended consultation is recorded, not moved; a closed day is named as closed, not as over."""

from __future__ import annotations

from datetime import timedelta

import httpx2

from models.audit import AuditLog
from models.consultation import Booking, BookingStatus, Closure, ConsultationSlot
from shima.domain import consultation as rules
from shima.domain import slots as slot_rules
from shima.settings import Settings
from shima.timeutil import now
from tests.admin.conftest import page_csrf
from tests.admin.test_consult_admin import BOOKINGS, SLOTS, book, future_day, jst, resident, slot_at
from tests.admin.test_consult_rules import slot_form


async def test_one_counsellor_spelt_two_ways_cannot_overlap(
    staff_client: httpx2.AsyncClient,
) -> None:
    day = future_day()
    await slot_at(jst(day, 10), counsellor="森（キャリア相談員）")
    csrf = await page_csrf(staff_client, f"{SLOTS}/new")
    for spelling in ("森", "森 ", "森(キャリア相談員)", "森（相談員）"):
        refused = await staff_client.post(
            f"{SLOTS}/new", data=slot_form(csrf, day, "10:30", "11:20", counsellor=spelling)
        )
        assert refused.status_code == 400, spelling
        assert "時間が重なります" in refused.text
    assert await ConsultationSlot.all().count() == 1
    # Someone else whose name merely starts the same is another person.
    other = await staff_client.post(
        f"{SLOTS}/new", data=slot_form(csrf, day, "10:30", "11:20", counsellor="森山")
    )
    assert other.status_code == 303
    # The form offers the spelling already in use.
    page = await staff_client.get(f"{SLOTS}/new")
    assert '<option value="森（キャリア相談員）">' in page.text


def test_counsellor_key_folds_width_spaces_and_role_notes() -> None:
    key = slot_rules.counsellor_key
    assert key("森（キャリア相談員）") == key("森") == key("森 ")
    assert key("Tanaka (CM)") == key("ｔａｎａｋａ")
    assert key("森") != key("森山") and key("") == key("  ")


async def _on_behalf(
    client: httpx2.AsyncClient, who_id: int, slot_id: int, **extra: str
) -> httpx2.Response:
    path = f"{BOOKINGS}/new?resident={who_id}"
    form = {
        "csrf_token": await page_csrf(client, path),
        "resident": str(who_id),
        "slot": str(slot_id),
        "topic": "start",
        "method": "visit",
        **extra,
    }
    return await client.post(f"{BOOKINGS}/new", data=form)


async def test_booking_on_behalf_beyond_the_limit_only_when_ticked(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = future_day()
    who = await resident()
    for hour in (10, 13):
        await book(settings, who, await slot_at(jst(day, hour)))
    third = await slot_at(jst(day, 15))
    page = await staff_client.get(f"{BOOKINGS}/new", params={"resident": who.id})
    assert "この利用者にはすでに今後の予約が2件あります" in page.text
    assert 'name="beyond_limit"' in page.text

    refused = await _on_behalf(staff_client, who.id, third.id)
    assert refused.status_code == 400
    assert "2件の予約があります" in refused.text and "上限を超えて登録する" in refused.text
    assert await Booking.filter(resident=who).count() == 2

    ticked = await _on_behalf(staff_client, who.id, third.id, beyond_limit="yes")
    assert ticked.status_code == 303
    assert await Booking.filter(resident=who, status=BookingStatus.BOOKED).count() == 3
    entry = await AuditLog.filter(action="consult.booking.create").order_by("-id").first()
    assert entry is not None and entry.detail.get("beyond_limit") == "yes"


async def test_an_ended_consultation_is_recorded_not_moved(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    who = await resident()
    over = await slot_at(now() - timedelta(hours=3))  # 3 h ago, 1 h long: over
    booking = await Booking.create(
        resident=who, slot=over, topic="start", method="visit", active_key=f"{over.id}:{who.id}"
    )
    target = await slot_at(jst(future_day(), 10))
    path = f"{BOOKINGS}/{booking.id}"
    page = await staff_client.get(path)
    assert f'action="{path}/move"' not in page.text  # no move form for it
    csrf = await page_csrf(staff_client, path)
    forged = await staff_client.post(
        f"{path}/move", data={"csrf_token": csrf, "target": str(target.id), "reason": "都合"}
    )
    assert forged.status_code == 400 and "終了した相談の日時は変更できません" in forged.text
    assert (await Booking.get(id=booking.id)).slot_id == over.id
    # While it runs (a resident arriving late) it may still move.
    running = await slot_at(now() - timedelta(minutes=20))
    late = await Booking.create(
        resident=await resident("笠利 ゆい"),
        slot=running,
        topic="start",
        method="visit",
        active_key=f"{running.id}:late",
    )
    assert rules.movable(await Booking.get(id=late.id).select_related("slot"))


async def test_a_closed_day_is_named_as_closed_not_as_over(
    staff_client: httpx2.AsyncClient,
) -> None:
    day = future_day()
    slot = await slot_at(jst(day, 10))
    await Closure.create(date=day, reason="施設点検")
    refused = await _on_behalf(staff_client, (await resident()).id, slot.id)
    assert refused.status_code == 400
    assert "休館日（施設点検）のため、この枠は予約できません" in refused.text
    assert "受付を終了しました" not in refused.text


async def test_resident_search_tells_namesakes_apart_and_has_no_empty_table(
    staff_client: httpx2.AsyncClient,
) -> None:
    first, second = await resident("名瀬 一郎"), await resident("名瀬 一郎")
    page = await staff_client.get(f"{BOOKINGS}/new", params={"q": "名瀬"})
    assert f"#{first.id}" in page.text and f"#{second.id}" in page.text
    assert "登録日" in page.text
    none = await staff_client.get(f"{BOOKINGS}/new", params={"q": "奄美"})
    assert "「奄美」に当てはまる利用者はいません。" in none.text
    assert "<table" not in none.text


async def test_an_over_long_cancel_reason_gives_the_form_back_with_it(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    booking = await book(settings, await resident(), await slot_at(jst(future_day(), 10)))
    path = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(staff_client, path)
    reason = "担当者の体調不良のため。" * 40  # 480 characters, over the 300 a notice takes
    response = await staff_client.post(
        f"{path}/cancel", data={"csrf_token": csrf, "reason": reason}
    )
    assert response.status_code == 400
    assert "キャンセル理由は300文字以内で入力してください（いま480文字です）" in response.text
    assert reason in response.text  # nothing cut: the staff member shortens it themselves
    assert (await Booking.get(id=booking.id)).status == BookingStatus.BOOKED
