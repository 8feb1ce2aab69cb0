"""The audit page in Japanese (actions, targets and changed values through the registry's
vocabulary), filtered by kind (変更 / 閲覧), staff member and date range."""

from __future__ import annotations

from datetime import timedelta

import httpx2

from admin import audit
from models.consultation import Booking, ConsultationSlot, Method, Topic
from models.staff import StaffUser
from shima.timeutil import JST, now
from tests.admin.conftest import page_csrf
from tests.admin.test_consult_admin import BOOKINGS, resident

AUDIT = "/admin/audit"


async def past_booking() -> Booking:
    start = now() - timedelta(hours=2)
    slot = await ConsultationSlot.create(
        starts_at=start, ends_at=start + timedelta(hours=1), counsellor="森", booked_count=1
    )
    who = await resident()
    return await Booking.create(
        resident=who, slot=slot, topic=Topic.START, method=Method.VISIT, active_key=f"{slot.id}"
    )


async def test_entries_read_in_japanese(admin_client: httpx2.AsyncClient) -> None:
    booking = await past_booking()
    detail = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(admin_client, detail)
    marked = await admin_client.post(
        f"{detail}/mark", data={"csrf_token": csrf, "status": "attended", "confirm": "yes"}
    )
    assert marked.status_code == 303
    await admin_client.get(BOOKINGS, params={"status": "cancelled"})

    page = await admin_client.get(AUDIT)
    assert page.status_code == 200
    text = page.text
    assert "相談予約の来所記録" in text
    assert f'<a href="{detail}">相談予約 #{booking.id}</a>' in text
    assert '<span class="k">状態</span> 来所済み' in text  # was "status attended"
    assert '<span class="k">状態</span> キャンセル' in text  # the list's filter
    assert "booking #" not in text and ">status<" not in text and "attended" not in text
    assert '<td data-label="操作">consult.' not in text


async def test_views_are_separated_from_changes(admin_client: httpx2.AsyncClient) -> None:
    booking = await past_booking()
    detail = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(admin_client, detail)  # a view (相談予約詳細の閲覧)
    await admin_client.post(
        f"{detail}/mark", data={"csrf_token": csrf, "status": "no_show", "confirm": "yes"}
    )

    changes = (await admin_client.get(AUDIT, params={"kind": "change"})).text
    assert '<td data-label="操作">相談予約の来所記録</td>' in changes
    assert '<td data-label="操作">相談予約詳細の閲覧</td>' not in changes
    assert '<td data-label="操作">ログイン成功</td>' not in changes
    assert "1件中" in changes

    views = (await admin_client.get(AUDIT, params={"kind": "view"})).text
    assert '<td data-label="操作">相談予約詳細の閲覧</td>' in views
    assert '<td data-label="操作">相談予約の来所記録</td>' not in views
    assert 'aria-current="page">閲覧</a>' in views

    logins = (await admin_client.get(AUDIT, params={"kind": "login"})).text
    assert '<td data-label="操作">ログイン成功</td>' in logins and "1件中" in logins


async def test_filters_by_staff_and_date_range(
    admin_client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    await audit.record(None, "resident.list", "resident", "", {"q": "奄美"}, staff=staff_user)
    mine = await admin_client.get(AUDIT, params={"staff": str(staff_user.id)})
    assert "1件中" in mine.text and "奄美" in mine.text
    assert '<td data-label="操作">ログイン成功</td>' not in mine.text
    assert f'<option value="{staff_user.id}" selected>島 花子</option>' in mine.text

    today = now().astimezone(JST).date()
    todays = await admin_client.get(AUDIT, params={"from": today.isoformat(), "to": str(today)})
    assert "2件中" in todays.text  # the admin's sign-in and the staff member's search
    tomorrow = (today + timedelta(days=1)).isoformat()
    later = await admin_client.get(AUDIT, params={"from": tomorrow})
    assert "記録はありません。" in later.text

    backwards = await admin_client.get(AUDIT, params={"from": tomorrow, "to": today.isoformat()})
    assert backwards.status_code == 200
    assert "期間の範囲が正しくありません" in backwards.text
    assert "記録はありません。" in backwards.text
    typo = await admin_client.get(AUDIT, params={"from": "2026-13-45"})
    assert "期間（から）の「2026-13-45」は日付として読めないため、使っていません。" in typo.text
