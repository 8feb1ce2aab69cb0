"""Issue 8, rules in every staff action: what the admin refuses or says, through the ASGI app
(overlap, closed days, the past, 来所済み timing with a confirmation and an undo, a move as
one booking with its history, blocked residents, a cancel without a reason)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import httpx2
import pytest

from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from models.audit import AuditLog
from models.consultation import Booking, BookingMove, BookingStatus, Closure, ConsultationSlot
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.domain import consultation as rules
from shima.domain import slots as slot_rules
from shima.settings import Settings
from shima.timeutil import JST, now
from shima.worker import Worker
from tests.admin.conftest import page_csrf
from tests.admin.test_consult_admin import (
    BOOKINGS,
    SLOTS,
    _book_on_behalf,
    book,
    booked_earlier,
    future_day,
    jst,
    resident,
    slot_at,
)


def slot_form(csrf: str, day: date, start: str, end: str, counsellor: str = "田中") -> dict:
    return {
        "csrf_token": csrf,
        "date": day.isoformat(),
        "start": start,
        "end": end,
        "counsellor": counsellor,
        "methods": ["visit", "online", "phone"],
        "capacity": "1",
    }


def offered(html: str, select: str) -> set[int]:
    """The slot ids offered in the <select name=…> of a page."""
    match = re.search(rf'<select[^>]*name="{select}".*?</select>', html, re.S)
    assert match, f"no select {select}"
    return {int(v) for v in re.findall(r'<option value="(\d+)"', match.group(0))}


# ---------- 1. Overlapping slots of one counsellor ----------


async def test_single_create_refuses_an_overlapping_slot_of_the_same_counsellor(
    staff_client: httpx2.AsyncClient,
) -> None:
    day = future_day()
    await slot_at(jst(day, 10))  # 田中 10:00–11:00
    csrf = await page_csrf(staff_client, f"{SLOTS}/new")
    refused = await staff_client.post(f"{SLOTS}/new", data=slot_form(csrf, day, "10:30", "11:30"))
    assert refused.status_code == 400
    assert "田中さんの相談枠" in refused.text and "時間が重なります" in refused.text
    assert await ConsultationSlot.all().count() == 1
    # Another counsellor at that time, and the same counsellor right after (touching), are fine.
    other = await staff_client.post(
        f"{SLOTS}/new", data=slot_form(csrf, day, "10:30", "11:30", counsellor="森")
    )
    touching = await staff_client.post(f"{SLOTS}/new", data=slot_form(csrf, day, "11:00", "12:00"))
    assert other.status_code == 303 and touching.status_code == 303
    assert await ConsultationSlot.all().count() == 3


async def test_a_removed_slot_does_not_block_its_time(staff_client: httpx2.AsyncClient) -> None:
    day = future_day()
    gone = await slot_at(jst(day, 10))
    await ConsultationSlot.filter(id=gone.id).update(is_active=False)
    csrf = await page_csrf(staff_client, f"{SLOTS}/new")
    created = await staff_client.post(f"{SLOTS}/new", data=slot_form(csrf, day, "10:00", "11:00"))
    assert created.status_code == 303


async def test_edit_refuses_an_overlap_by_time_or_by_counsellor(
    staff_client: httpx2.AsyncClient,
) -> None:
    day = future_day()
    await slot_at(jst(day, 10))  # 田中 10–11
    later = await slot_at(jst(day, 13))  # 田中 13–14
    moris = await slot_at(jst(day, 10), counsellor="森")  # 森 10–11
    path = f"{SLOTS}/{later.id}/edit"
    csrf = await page_csrf(staff_client, path)
    moved = await staff_client.post(path, data=slot_form(csrf, day, "10:30", "11:30"))
    assert moved.status_code == 400 and "時間が重なります" in moved.text
    await later.refresh_from_db()
    assert later.starts_at == jst(day, 13)
    path = f"{SLOTS}/{moris.id}/edit"
    renamed = await staff_client.post(path, data=slot_form(csrf, day, "10:00", "11:00", "田中"))
    assert renamed.status_code == 400 and "同じ日時・担当の相談枠がすでにあります" in renamed.text
    assert (await ConsultationSlot.get(id=moris.id)).counsellor == "森"
    # Its own time is not an overlap with itself.
    kept = await staff_client.post(path, data=slot_form(csrf, day, "10:00", "11:00", "森"))
    assert kept.status_code == 303


async def test_bulk_lists_the_overlaps_it_skipped_and_why(
    staff_client: httpx2.AsyncClient,
) -> None:
    day = future_day()
    await ConsultationSlot.create(
        starts_at=jst(day, 10, 30), ends_at=jst(day, 11), counsellor="田中"
    )
    csrf = await page_csrf(staff_client, f"{SLOTS}/bulk")
    form = {
        "csrf_token": csrf,
        "date_from": day.isoformat(),
        "date_to": day.isoformat(),
        "weekdays": [str(day.weekday())],
        "start": "10:00",
        "end": "12:00",
        "duration": "60",
        "counsellor": "田中",
        "methods": ["visit"],
        "capacity": "1",
    }
    response = await staff_client.post(f"{SLOTS}/bulk", data=form)
    assert response.status_code == 200
    assert "1件作成しました" in response.text and "日は休館日などのため" not in response.text
    assert '<div class="alert alert-warning" role="status">' in response.text  # listed apart
    assert "田中さんの既存の枠と時間が重なるため 1件は作成しませんでした" in response.text
    assert "10:00〜11:00 は" in response.text and "10:30〜11:00 の枠と重なります" in response.text
    starts = sorted(s.starts_at for s in await ConsultationSlot.all())
    assert starts == [jst(day, 10, 30), jst(day, 11)]
    entry = await AuditLog.get(action="consult.slot.bulk_create")
    assert entry.detail["overlaps"] == 1


# ---------- 2. Closed days hold for staff ----------


async def test_booking_on_behalf_never_offers_nor_accepts_a_closed_day(
    staff_client: httpx2.AsyncClient,
) -> None:
    who = await resident()
    day = future_day()
    closed = await slot_at(jst(day, 10))
    open_slot = await slot_at(jst(future_day(20), 10))
    await Closure.create(date=day, reason="施設点検")
    page = await staff_client.get(f"{BOOKINGS}/new", params={"resident": who.id})
    assert offered(page.text, "slot") == {open_slot.id}
    forged = await _book_on_behalf(staff_client, who, closed)  # a forged POST with its id
    assert forged.status_code == 400 and "休館日（施設点検）" in forged.text
    assert await Booking.all().count() == 0
    assert (await ConsultationSlot.get(id=closed.id)).booked_count == 0


async def test_a_move_never_offers_nor_accepts_a_closed_day(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    who = await resident()
    day = future_day()
    closed = await slot_at(jst(day, 10))
    other = await slot_at(jst(future_day(20), 11))
    current = await slot_at(jst(future_day(20), 10))
    await Closure.create(date=day, reason="施設点検")
    booking = await book(settings, who, current)
    detail = await staff_client.get(f"{BOOKINGS}/{booking.id}")
    assert offered(detail.text, "target") == {other.id}
    removal = await staff_client.get(f"{SLOTS}/{current.id}/delete")
    assert offered(removal.text, "target") == {other.id}
    csrf = await page_csrf(staff_client, f"{BOOKINGS}/{booking.id}")
    forged = await staff_client.post(
        f"{BOOKINGS}/{booking.id}/move",
        data={"csrf_token": csrf, "target": str(closed.id), "reason": "担当者の都合"},
    )
    assert forged.status_code == 400 and "休館日（施設点検）" in forged.text
    await booking.refresh_from_db()
    assert booking.slot_id == current.id and booking.status == BookingStatus.BOOKED
    assert (await ConsultationSlot.get(id=closed.id)).booked_count == 0
    assert await BookingMove.all().count() == 0 and await OutboxMessage.all().count() == 0


async def test_week_view_shows_a_closed_days_slots_as_not_bookable(
    staff_client: httpx2.AsyncClient,
) -> None:
    day = future_day()
    await slot_at(jst(day, 10))
    await slot_at(jst(day + timedelta(days=1), 10))
    await Closure.create(date=day, reason="施設点検")
    page = await staff_client.get(SLOTS, params={"week": day.isoformat()})

    def section(d: date) -> str:
        match = re.search(rf'aria-labelledby="day-{d}">(.*?)</section>', page.text, re.S)
        assert match
        return match.group(1)

    closed_day, open_day = section(day), section(day + timedelta(days=1))
    assert "予約不可（休館日）" in closed_day and "空き" not in closed_day
    if (day + timedelta(days=1)).weekday() < 5:
        assert "空き" in open_day and "予約不可" not in open_day


# ---------- 3. The past ----------


async def test_slot_creation_into_the_past_is_refused(staff_client: httpx2.AsyncClient) -> None:
    csrf = await page_csrf(staff_client, f"{SLOTS}/new")
    yesterday = now().astimezone(JST).date() - timedelta(days=1)
    refused = await staff_client.post(
        f"{SLOTS}/new", data=slot_form(csrf, yesterday, "10:00", "11:00")
    )
    assert refused.status_code == 400 and "過去の日時には相談枠を作れません" in refused.text
    assert await ConsultationSlot.all().count() == 0


async def test_editing_a_slot_into_the_past_is_refused(staff_client: httpx2.AsyncClient) -> None:
    slot = await slot_at(jst(future_day(), 10))
    path = f"{SLOTS}/{slot.id}/edit"
    csrf = await page_csrf(staff_client, path)
    yesterday = now().astimezone(JST).date() - timedelta(days=1)
    refused = await staff_client.post(path, data=slot_form(csrf, yesterday, "10:00", "11:00"))
    assert refused.status_code == 400 and "過去の日時には相談枠を作れません" in refused.text


async def test_bulk_creation_skips_past_times_and_refuses_a_past_range(
    staff_client: httpx2.AsyncClient,
) -> None:
    today = now().astimezone(JST).date()
    csrf = await page_csrf(staff_client, f"{SLOTS}/bulk")
    form = {
        "csrf_token": csrf,
        "date_from": (today - timedelta(days=14)).isoformat(),
        "date_to": (today - timedelta(days=1)).isoformat(),
        "weekdays": [str(i) for i in range(7)],
        "start": "10:00",
        "end": "11:00",
        "duration": "60",
        "counsellor": "田中",
        "methods": ["visit"],
        "capacity": "1",
    }
    refused = await staff_client.post(f"{SLOTS}/bulk", data=form)
    assert refused.status_code == 400 and "過去の期間には相談枠を作れません" in refused.text
    assert await ConsultationSlot.all().count() == 0
    # A range from last week into next week: only the future part is created.
    spanning = {**form, "date_to": (today + timedelta(days=14)).isoformat()}
    response = await staff_client.post(f"{SLOTS}/bulk", data=spanning)
    assert response.status_code == 200 and "過去の日時のため" in response.text
    assert await ConsultationSlot.all().count() > 0
    assert not await ConsultationSlot.filter(starts_at__lte=now()).exists()


async def test_a_move_into_the_past_is_refused(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    booking = await book(settings, await resident(), await slot_at(jst(future_day(), 10)))
    started = await slot_at(now() - timedelta(minutes=10))  # a free seat, but begun
    csrf = await page_csrf(staff_client, f"{BOOKINGS}/{booking.id}")
    detail = await staff_client.get(f"{BOOKINGS}/{booking.id}")
    assert started.id not in offered(detail.text, "target")
    forged = await staff_client.post(
        f"{BOOKINGS}/{booking.id}/move",
        data={"csrf_token": csrf, "target": str(started.id), "reason": "都合"},
    )
    assert forged.status_code == 400 and "開始時刻を過ぎた枠へは変更できません" in forged.text
    assert (await Booking.get(id=booking.id)).slot_id != started.id


async def test_booking_on_behalf_into_the_past_says_so(staff_client: httpx2.AsyncClient) -> None:
    who = await resident()
    over = await slot_at(now() - timedelta(hours=2))
    refused = await _book_on_behalf(staff_client, who, over)
    assert refused.status_code == 400 and "終了した時間の枠には予約できません" in refused.text
    assert await Booking.all().count() == 0


async def test_new_slot_form_defaults_to_the_next_free_hour(
    staff_client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = future_day()
    clock = datetime.combine(day, time(10, 20), tzinfo=JST)
    monkeypatch.setattr(slot_rules, "now", lambda: clock)
    await slot_at(jst(day, 11), counsellor="森")  # 11:00–12:00 is taken
    page = await staff_client.get(f"{SLOTS}/new")
    assert f'name="date" type="date" value="{day.isoformat()}"' in page.text
    assert 'name="start" type="time" step="300" value="12:00"' in page.text
    assert 'name="end" type="time" step="300" value="13:00"' in page.text
    # A later day asked for from the week view starts at the desk's opening hour.
    later = day + timedelta(days=7)
    page = await staff_client.get(f"{SLOTS}/new", params={"date": later.isoformat()})
    assert 'name="start" type="time" step="300" value="09:00"' in page.text


# ---------- 4. 来所済み / 無断キャンセル from the start on, confirmed, undoable ----------


async def test_attended_before_the_start_is_refused_and_not_offered(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    booking = await book(settings, await resident(), await slot_at(jst(future_day(), 10)))
    path = f"{BOOKINGS}/{booking.id}"
    page = await staff_client.get(path)
    assert "来所済みにする" not in page.text and "無断キャンセルにする" not in page.text
    assert "相談の開始時刻" in page.text
    csrf = await page_csrf(staff_client, path)
    for status in ("attended", "no_show"):
        forged = await staff_client.post(
            f"{path}/mark", data={"csrf_token": csrf, "status": status, "confirm": "yes"}
        )
        assert forged.headers["location"] == f"{path}?done=too_early"
    await booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED
    assert not await AuditLog.filter(action="consult.booking.mark").exists()


async def test_attended_asks_first_and_can_be_undone(staff_client: httpx2.AsyncClient) -> None:
    booking = await booked_earlier(await resident(), await slot_at(now() - timedelta(minutes=1)))
    path = f"{BOOKINGS}/{booking.id}"
    page = await staff_client.get(path)
    assert "来所済みにする" in page.text
    csrf = await page_csrf(staff_client, path)
    asked = await staff_client.post(f"{path}/mark", data={"csrf_token": csrf, "status": "attended"})
    assert asked.status_code == 200 and "「来所済み」にします。よろしいですか？" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert (await Booking.get(id=booking.id)).status == BookingStatus.BOOKED
    done = await staff_client.post(
        f"{path}/mark", data={"csrf_token": csrf, "status": "attended", "confirm": "yes"}
    )
    assert done.headers["location"] == f"{path}?done=attended"
    assert (await Booking.get(id=booking.id)).status == BookingStatus.ATTENDED
    marked = await staff_client.get(done.headers["location"])
    assert "予約済みに戻す" in marked.text
    undone = await staff_client.post(f"{path}/mark", data={"csrf_token": csrf, "status": "booked"})
    assert undone.headers["location"] == f"{path}?done=booked"
    assert (await Booking.get(id=booking.id)).status == BookingStatus.BOOKED
    [mark] = await AuditLog.filter(action="consult.booking.mark")
    [unmark] = await AuditLog.filter(action="consult.booking.unmark")
    assert mark.detail == {"status": "attended", "from": "booked"}
    assert unmark.detail == {"status": "booked", "from": "attended"}


# ---------- 5. A move is one booking with its history ----------


async def test_a_move_keeps_one_booking_with_its_history_and_names_the_new_counsellor(
    staff_client: httpx2.AsyncClient, settings: Settings, fake_line: FakeLinePlatform
) -> None:
    day = future_day()
    who = await resident()
    current = await slot_at(jst(day, 10))  # 田中
    target = await slot_at(jst(day + timedelta(days=1), 14), counsellor="森")
    booking = await book(settings, who, current)
    path = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(staff_client, path)
    response = await staff_client.post(
        f"{path}/move", data={"csrf_token": csrf, "target": str(target.id), "reason": "研修"}
    )
    assert response.headers["location"] == f"{path}?done=moved"
    assert await Booking.all().count() == 1
    moved = await Booking.get(id=booking.id)
    assert moved.slot_id == target.id and moved.status == BookingStatus.BOOKED
    assert (await ConsultationSlot.get(id=current.id)).booked_count == 0
    assert (await ConsultationSlot.get(id=target.id)).booked_count == 1
    [move] = await BookingMove.all()
    assert (move.from_slot_id, move.to_slot_id) == (current.id, target.id)
    assert (move.from_counsellor, move.to_counsellor) == ("田中", "森")
    assert move.moved_by_id is not None and move.reason == "研修"
    page = await staff_client.get(response.headers["location"])
    assert "予約の日時を変更し、利用者に LINE でお知らせしました。" in page.text
    history = page.text.split("日時変更の履歴", 1)[1]
    assert "10:00〜11:00" in history and "14:00〜15:00" in history and "担当 森（変更）" in history
    assert "島 花子" in history  # who moved it
    entry = await AuditLog.get(action="consult.booking.move")
    assert entry.target_id == str(booking.id) and entry.detail["to_slot"] == target.id
    # The resident hears of it on LINE, the new counsellor named.
    line = LineClient(settings)
    try:
        await Worker(settings, line).drain()
    finally:
        await line.close()
    [delivery] = fake_line.delivered(who.line_user_id)
    body = delivery.messages[0]["text"]
    assert "【ご予約変更のお知らせ】" in body and "担当: 田中 から 森 に変わります。" in body
    assert "14:00" in body


async def test_a_slot_edit_that_moves_bookings_records_their_history(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = future_day()
    slot = await slot_at(jst(day, 10))
    booking = await book(settings, await resident(), slot)
    path = f"{SLOTS}/{slot.id}/edit"
    csrf = await page_csrf(staff_client, path)
    form = {
        **slot_form(csrf, day, "15:00", "16:00"),
        "booking_action": "notify",
        "reason": "会議室の都合",
    }
    assert (await staff_client.post(path, data=form)).status_code == 303
    [move] = await rules.moves_of(booking.id)
    assert move.from_starts_at == jst(day, 10) and move.to_starts_at == jst(day, 15)
    assert move.from_slot_id == move.to_slot_id == slot.id


# ---------- 6. A resident who blocked the account ----------


async def test_staff_actions_say_a_blocked_resident_gets_no_notice(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = future_day()
    who = await resident("喜界 一郎")
    await Resident.filter(id=who.id).update(is_following=False)
    first = await slot_at(jst(day, 10))
    second = await slot_at(jst(day, 13))
    third = await slot_at(jst(day, 15))
    # 代理予約
    created = await _book_on_behalf(staff_client, who, first)
    assert created.status_code == 303 and created.headers["location"].endswith(
        "done=created_blocked"
    )
    booking = await Booking.get(resident_id=who.id)
    page = await staff_client.get(created.headers["location"])
    assert "ブロック中" in page.text and "お知らせは届きません" in page.text
    assert "お知らせしました" not in page.text
    listing = await staff_client.get(BOOKINGS)
    assert "ブロック中" in listing.text
    removal = await staff_client.get(f"{SLOTS}/{first.id}/delete")
    assert "ブロック中" in removal.text
    # Move
    path = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(staff_client, path)
    moved = await staff_client.post(
        f"{path}/move", data={"csrf_token": csrf, "target": str(second.id), "reason": "都合"}
    )
    assert moved.headers["location"] == f"{path}?done=moved_blocked"
    page = await staff_client.get(moved.headers["location"])
    assert "予約の日時を変更しました。" in page.text and "お知らせしました" not in page.text
    # Cancel
    cancelled = await staff_client.post(
        f"{path}/cancel", data={"csrf_token": csrf, "reason": "都合"}
    )
    assert cancelled.headers["location"] == f"{path}?done=cancelled_blocked"
    page = await staff_client.get(cancelled.headers["location"])
    assert "予約をキャンセルしました。" in page.text and "お知らせしました" not in page.text
    # A resident who follows still hears 「お知らせしました」.
    friend = await book(settings, await resident(), third)
    csrf = await page_csrf(staff_client, f"{BOOKINGS}/{friend.id}")
    told = await staff_client.post(
        f"{BOOKINGS}/{friend.id}/cancel", data={"csrf_token": csrf, "reason": "都合"}
    )
    assert told.headers["location"].endswith("done=cancelled")


# ---------- 7. A cancel without a reason keeps the form ----------


async def test_cancel_without_a_reason_gives_the_form_back(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    booking = await book(settings, await resident(), await slot_at(jst(future_day(), 10)))
    path = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(staff_client, path)
    response = await staff_client.post(f"{path}/cancel", data={"csrf_token": csrf, "reason": "  "})
    assert response.status_code == 400
    assert "キャンセル理由を入力してください" in response.text
    assert f'action="{path}/cancel"' in response.text  # the form itself, not an error page
    assert '<textarea id="reason" name="reason"' in response.text
    assert (await Booking.get(id=booking.id)).status == BookingStatus.BOOKED
    # A move without a reason keeps what was chosen.
    target = await slot_at(jst(future_day(), 14))
    again = await staff_client.post(
        f"{path}/move", data={"csrf_token": csrf, "target": str(target.id), "reason": ""}
    )
    assert again.status_code == 400 and "変更の理由を入力してください" in again.text
    assert f'<option value="{target.id}" selected>' in again.text


async def test_removing_a_blocked_residents_slot_says_the_notice_is_not_delivered(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    who = await resident()
    await Resident.filter(id=who.id).update(is_following=False)
    slot = await slot_at(jst(future_day(), 10))
    await book(settings, who, slot)
    path = f"{SLOTS}/{slot.id}/delete"
    csrf = await page_csrf(staff_client, path)
    response = await staff_client.post(
        path, data={"csrf_token": csrf, "booking_action": "cancel", "reason": "台風接近のため"}
    )
    assert response.headers["location"].endswith("done=deleted_blocked")
    week = await staff_client.get(response.headers["location"])
    assert "ブロック中の利用者にはお知らせが届きません" in week.text
