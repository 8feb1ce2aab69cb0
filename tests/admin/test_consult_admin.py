"""相談予約 in the admin, through the ASGI app: slots, closures, bookings, CSV."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import httpx2
from starlette.routing import Mount, Route
from tortoise.transactions import in_transaction

from admin.consult.area import todays_consultations
from models.audit import AuditLog
from models.consultation import (
    BookedBy,
    Booking,
    BookingStatus,
    CancelledBy,
    Closure,
    ConsultationSlot,
    Method,
    Topic,
)
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.domain import consultation as rules
from shima.settings import Settings
from shima.timeutil import JST, now
from tests.admin.conftest import page_csrf

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
BOOKINGS = "/admin/consult/bookings"
SLOTS = "/admin/consult/slots"


def jst(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=JST).astimezone(UTC)


def future_day(days: int = 10) -> date:
    """A weekday at least `days` ahead that is not a holiday or 年末年始."""
    from shima.domain.calendar import holiday_name

    day = now().astimezone(JST).date() + timedelta(days=days)
    while day.weekday() >= 5 or holiday_name(day):
        day += timedelta(days=1)
    return day


async def resident(name: str = "奄美 花子") -> Resident:
    return await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name)


async def slot_at(
    start: datetime, counsellor: str = "田中", methods: str = "visit,online,phone"
) -> ConsultationSlot:
    return await ConsultationSlot.create(
        starts_at=start, ends_at=start + timedelta(hours=1), counsellor=counsellor, methods=methods
    )


async def book(
    settings: Settings,
    who: Resident,
    slot: ConsultationSlot,
    topic: Topic = Topic.START,
    note: str = "",
    method: Method = Method.VISIT,
) -> Booking:
    async with in_transaction():
        return await rules.book(
            who,
            # Fixtures book as staff who know the limit (the limit has its own tests).
            rules.BookingRequest(
                slot.id, topic, method, note, booked_by=BookedBy.STAFF, beyond_limit=True
            ),
            settings,
        )


def consult_routes(client: httpx2.AsyncClient) -> list[tuple[str, str]]:
    app = client.app  # type: ignore[attr-defined]
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin")
    found = []
    for route in mount.routes:
        assert isinstance(route, Route)
        if route.name.startswith("consult"):
            path = "/admin" + re.sub(r"\{[^}]+\}", "1", route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((method, path))
    return found


# ---------- Guards ----------


async def test_every_consult_route_refuses_anonymous_users(client: httpx2.AsyncClient) -> None:
    await ConsultationSlot.create(starts_at=now(), ends_at=now() + timedelta(hours=1))
    routes = consult_routes(client)
    assert len(routes) >= 17
    for method, path in routes:
        response = await client.request(method, path, data={} if method == "POST" else None)
        if method == "GET":
            assert response.status_code == 303, path
            assert urlsplit(response.headers["location"]).path == "/admin/login"
        else:
            assert response.status_code == 403, path
    assert await AuditLog.all().count() == 0
    assert await ConsultationSlot.filter(is_active=True).count() == 1


async def test_post_without_csrf_token_is_refused(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    who = await resident()
    booking = await book(settings, who, await slot_at(jst(future_day(), 10)))
    response = await staff_client.post(f"{BOOKINGS}/{booking.id}/cancel", data={"reason": "x"})
    assert response.status_code == 403
    assert "不正なリクエスト" in response.text
    await booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED
    assert await OutboxMessage.all().count() == 0


# ---------- Slots ----------


async def test_bulk_creation_skips_holidays_year_end_and_closures(
    staff_client: httpx2.AsyncClient,
) -> None:
    await Closure.create(date=date(2027, 1, 6), reason="施設点検")
    csrf = await page_csrf(staff_client, f"{SLOTS}/bulk")
    form = {
        "csrf_token": csrf,
        "date_from": "2026-12-28",
        "date_to": "2027-01-12",
        "weekdays": ["0", "2"],  # 月・水: 12/28 12/30 1/4 1/6 1/11
        "start": "10:00",
        "end": "12:30",  # two 60-minute slots; 12:00–13:00 does not fit
        "duration": "60",
        "counsellor": "田中",
        "methods": ["visit", "online"],
        "capacity": "1",
    }
    response = await staff_client.post(f"{SLOTS}/bulk", data=form)
    assert response.status_code == 200, response.text
    assert "4件作成しました" in response.text and "3日は休館日などのため" in response.text
    for reason in ("年末年始", "成人の日", "施設点検"):
        assert reason in response.text
    starts = sorted(
        s.starts_at.astimezone(JST).strftime("%m/%d %H:%M") for s in await ConsultationSlot.all()
    )
    assert starts == ["01/04 10:00", "01/04 11:00", "12/28 10:00", "12/28 11:00"]
    slot = await ConsultationSlot.first()
    assert slot is not None and slot.methods == "visit,online" and slot.counsellor == "田中"

    again = await staff_client.post(f"{SLOTS}/bulk", data=form)
    assert "0件作成しました" in again.text and "4件は作成しませんでした" in again.text
    assert await ConsultationSlot.all().count() == 4
    assert await AuditLog.filter(action="consult.slot.bulk_create").count() == 2


async def test_week_view_shows_slots_bookings_and_closed_days(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    taken = await slot_at(jst(date(2027, 1, 12), 10), counsellor="森")
    await slot_at(jst(date(2027, 1, 12), 11), counsellor="森")
    booking = await book(settings, await resident(XSS), taken)
    response = await staff_client.get(SLOTS, params={"week": "2027-01-14"})
    assert response.status_code == 200
    text = response.text
    assert "1/11(月)" in text and "休館：成人の日" in text
    assert "10:00–11:00" in text and "11:00–12:00" in text
    assert f'href="{BOOKINGS}/{booking.id}"' in text and "予約済み" in text and "空き" in text
    assert XSS_ESCAPED in text and XSS not in text
    assert 'href="/admin/consult/slots?week=2027-01-04"' in text  # previous week
    assert await AuditLog.filter(action="consult.slot.week").count() == 1


async def test_single_slot_create_refuses_a_closed_day(staff_client: httpx2.AsyncClient) -> None:
    csrf = await page_csrf(staff_client, f"{SLOTS}/new")
    form = {
        "csrf_token": csrf,
        "date": "2026-12-30",
        "start": "10:00",
        "end": "11:00",
        "methods": ["visit"],
        "capacity": "1",
    }
    refused = await staff_client.post(f"{SLOTS}/new", data=form)
    assert refused.status_code == 400 and "年末年始" in refused.text
    day = future_day()
    created = await staff_client.post(f"{SLOTS}/new", data={**form, "date": day.isoformat()})
    assert created.status_code == 303
    slot = await ConsultationSlot.get()
    assert slot.starts_at == jst(day, 10) and slot.methods == "visit"


async def test_editing_the_time_of_a_booked_slot_asks_and_notifies(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = future_day()
    slot = await slot_at(jst(day, 10))
    who = await resident()
    await book(settings, who, slot)
    await Booking.filter(slot_id=slot.id).update(reminder_queued_at=datetime.now(UTC))
    path = f"{SLOTS}/{slot.id}/edit"
    page = await staff_client.get(path)
    assert "予約が1件あります" in page.text
    form = {
        "csrf_token": await page_csrf(staff_client, path),
        "date": day.isoformat(),
        "start": "14:00",
        "end": "15:00",
        "counsellor": "田中",
        "methods": ["visit", "online", "phone"],
        "capacity": "1",
    }
    asked = await staff_client.post(path, data=form)
    assert asked.status_code == 400 and "予約の扱いを選んでください" in asked.text
    await slot.refresh_from_db()
    assert slot.starts_at == jst(day, 10)
    done = await staff_client.post(
        path, data={**form, "booking_action": "notify", "reason": "会議室の都合"}
    )
    assert done.status_code == 303
    await slot.refresh_from_db()
    assert slot.starts_at == jst(day, 14) and slot.booked_count == 1
    messages = await OutboxMessage.filter(line_user_id=who.line_user_id)
    assert len(messages) == 1 and messages[0].kind == "staff_change"
    assert "会議室の都合" in messages[0].messages[0]["text"]
    assert "14:00" in messages[0].messages[0]["text"]
    # The day-before reminder follows the new time (queued again if it had gone out).
    assert (await Booking.get(slot_id=slot.id)).reminder_queued_at is None


async def test_deleting_a_booked_slot_moves_the_booking(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = future_day()
    old = await slot_at(jst(day, 10))
    target = await slot_at(jst(day, 15))
    who = await resident()
    booking = await book(settings, who, old, topic=Topic.SKILL, note="持参資料あり")
    path = f"{SLOTS}/{old.id}/delete"
    csrf = await page_csrf(staff_client, path)
    asked = await staff_client.post(path, data={"csrf_token": csrf})
    assert asked.status_code == 400 and "予約の扱いを選んでください" in asked.text
    assert (await ConsultationSlot.get(id=old.id)).is_active
    done = await staff_client.post(
        path,
        data={
            "csrf_token": csrf,
            "booking_action": "move",
            "target": str(target.id),
            "reason": "担当者の研修",
        },
    )
    assert done.status_code == 303, done.text
    # The same booking, now on the target (see test_consult_rules for its history).
    moved = await Booking.get(id=booking.id)
    assert moved.slot_id == target.id and await Booking.all().count() == 1
    assert moved.status == BookingStatus.BOOKED and moved.resident_id == who.id
    assert moved.topic == Topic.SKILL and moved.note == "持参資料あり"
    old_row = await ConsultationSlot.get(id=old.id)
    assert not old_row.is_active and old_row.booked_count == 0  # kept for the history
    assert (await ConsultationSlot.get(id=target.id)).booked_count == 1
    messages = await OutboxMessage.filter(line_user_id=who.line_user_id)
    assert [m.kind for m in messages] == ["staff_change"]
    assert "担当者の研修" in messages[0].messages[0]["text"]


async def test_deleting_a_booked_slot_can_cancel_and_an_empty_slot_is_removed(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = future_day()
    booked_slot = await slot_at(jst(day, 10))
    empty = await slot_at(jst(day, 11))
    who = await resident()
    booking = await book(settings, who, booked_slot)
    csrf = await page_csrf(staff_client, f"{SLOTS}/{booked_slot.id}/delete")
    response = await staff_client.post(
        f"{SLOTS}/{booked_slot.id}/delete",
        data={"csrf_token": csrf, "booking_action": "cancel", "reason": "台風接近のため"},
    )
    assert response.status_code == 303
    await booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.cancel_reason == "台風接近のため"
    assert [m.kind for m in await OutboxMessage.all()] == ["staff_cancel"]
    response = await staff_client.post(f"{SLOTS}/{empty.id}/delete", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert not await ConsultationSlot.exists(id=empty.id)


async def test_closures_are_added_listed_and_deleted(staff_client: httpx2.AsyncClient) -> None:
    csrf = await page_csrf(staff_client, "/admin/consult/closures")
    day = future_day(20)
    response = await staff_client.post(
        "/admin/consult/closures",
        data={"csrf_token": csrf, "date": day.isoformat(), "reason": "施設点検"},
    )
    assert response.status_code == 303
    page = await staff_client.get("/admin/consult/closures")
    assert "施設点検" in page.text
    again = await staff_client.post(
        "/admin/consult/closures",
        data={"csrf_token": csrf, "date": day.isoformat(), "reason": "二重"},
    )
    assert again.status_code == 400 and "すでに休館日" in again.text
    closure = await Closure.get(date=day)
    response = await staff_client.post(
        f"/admin/consult/closures/{closure.id}/delete", data={"csrf_token": csrf}
    )
    assert response.status_code == 303 and not await Closure.exists(id=closure.id)
    actions = set(await AuditLog.all().values_list("action", flat=True))
    assert {"consult.closure.create", "consult.closure.delete"} <= actions


# ---------- Bookings ----------


async def test_staff_cancel_frees_the_slot_and_tells_the_resident_once(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    slot = await slot_at(jst(future_day(), 10))
    who = await resident()
    other = await resident("別の人")
    booking = await book(settings, who, slot)
    path = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(staff_client, path)
    empty = await staff_client.post(f"{path}/cancel", data={"csrf_token": csrf, "reason": " "})
    assert empty.status_code == 400
    response = await staff_client.post(
        f"{path}/cancel", data={"csrf_token": csrf, "reason": "担当者の急病のため"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{path}?done=cancelled"
    await booking.refresh_from_db()
    await slot.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_by == CancelledBy.STAFF
    assert slot.booked_count == 0
    messages = await OutboxMessage.all()
    assert len(messages) == 1
    assert messages[0].line_user_id == who.line_user_id
    assert "担当者の急病のため" in messages[0].messages[0]["text"]
    # A second cancel changes nothing and sends nothing.
    twice = await staff_client.post(f"{path}/cancel", data={"csrf_token": csrf, "reason": "再"})
    assert twice.headers["location"] == f"{path}?done=stale"
    assert await OutboxMessage.all().count() == 1
    # The seat is bookable again.
    await book(settings, other, slot)
    entry = await AuditLog.get(action="consult.booking.cancel")
    assert entry.target_id == str(booking.id) and entry.detail["reason"] == "担当者の急病のため"


async def test_mark_attended_and_no_show(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    started = await slot_at(now() - timedelta(minutes=5))  # 来所済み only from the start on
    booking = await booked_earlier(await resident(), started)
    path = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(staff_client, path)
    done = {"csrf_token": csrf, "confirm": "yes"}
    response = await staff_client.post(f"{path}/mark", data={**done, "status": "attended"})
    assert response.status_code == 303
    await booking.refresh_from_db()
    assert booking.status == BookingStatus.ATTENDED
    await staff_client.post(f"{path}/mark", data={**done, "status": "no_show"})
    await booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW
    bad = await staff_client.post(f"{path}/mark", data={"csrf_token": csrf, "status": "cancelled"})
    assert bad.status_code == 400
    assert await AuditLog.filter(action="consult.booking.mark").count() == 2
    assert await OutboxMessage.all().count() == 0


async def test_booking_list_filters_search_escape_and_audit(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = future_day()
    villain = await resident(XSS)
    hanako = await resident("奄美 花子")
    b1 = await book(settings, villain, await slot_at(jst(day, 10), "森"), topic=Topic.SALES)
    b2 = await book(settings, hanako, await slot_at(jst(day + timedelta(days=1), 10), "田中"))
    async with in_transaction():
        await rules.cancel_by_staff(b2.id, "都合")

    page = await staff_client.get(BOOKINGS)
    assert page.status_code == 200
    assert XSS_ESCAPED in page.text and XSS not in page.text
    assert "2件中 1〜2件" in page.text

    def ids(response: httpx2.Response) -> set[int]:
        return {int(i) for i in re.findall(r'href="/admin/consult/bookings/(\d+)"', response.text)}

    assert ids(page) == {b1.id, b2.id}
    assert ids(await staff_client.get(BOOKINGS, params={"status": "cancelled"})) == {b2.id}
    assert ids(await staff_client.get(BOOKINGS, params={"topic": "sales"})) == {b1.id}
    assert ids(await staff_client.get(BOOKINGS, params={"counsellor": "田中"})) == {b2.id}
    assert ids(await staff_client.get(BOOKINGS, params={"q": "花子"})) == {b2.id}
    day_only = {"from": day.isoformat(), "to": day.isoformat()}
    assert ids(await staff_client.get(BOOKINGS, params=day_only)) == {b1.id}
    after = {"from": (day + timedelta(days=1)).isoformat()}
    assert ids(await staff_client.get(BOOKINGS, params=after)) == {b2.id}
    assert await AuditLog.filter(action="consult.booking.list").count() == 7


async def test_booking_list_is_paginated(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    who = await resident()
    start = jst(future_day(), 9)
    slots = [
        ConsultationSlot(starts_at=start + timedelta(minutes=i), ends_at=start, booked_count=1)
        for i in range(55)
    ]
    await ConsultationSlot.bulk_create(slots)
    await Booking.bulk_create(
        [
            Booking(resident=who, slot=s, topic=Topic.OTHER, method=Method.PHONE)
            for s in await ConsultationSlot.all()
        ]
    )
    first = await staff_client.get(BOOKINGS)
    assert first.text.count('class="row-link"') == 50 and "55件中 1〜50件" in first.text
    assert 'href="/admin/consult/bookings?page=2"' in first.text
    second = await staff_client.get(BOOKINGS, params={"page": "2"})
    assert second.text.count('class="row-link"') == 5


async def test_booking_detail_shows_history_and_is_audited(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    who = await resident()
    day = future_day()
    earlier = await book(settings, who, await slot_at(jst(day, 10)), topic=Topic.MIGRATION)
    later = await book(settings, who, await slot_at(jst(day, 13)), note="子連れで伺います")
    response = await staff_client.get(f"{BOOKINGS}/{later.id}")
    assert response.status_code == 200
    assert "子連れで伺います" in response.text and "移住・島での暮らし" in response.text
    assert f'href="{BOOKINGS}/{earlier.id}"' in response.text
    assert (await staff_client.get(f"{BOOKINGS}/999999")).status_code == 404
    entry = await AuditLog.get(action="consult.booking.view")
    assert entry.target_id == str(later.id)


async def test_staff_book_on_behalf_of_a_resident(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    who = await resident("喜界 一郎")
    slot = await slot_at(jst(future_day(), 10), methods="visit,phone")
    search = await staff_client.get(f"{BOOKINGS}/new", params={"q": "喜界"})
    assert f"resident={who.id}" in search.text
    path = f"{BOOKINGS}/new?resident={who.id}"
    page = await staff_client.get(path)
    assert f'value="{slot.id}"' in page.text
    csrf = await page_csrf(staff_client, path)
    form = {
        "csrf_token": csrf,
        "resident": str(who.id),
        "slot": str(slot.id),
        "topic": "parenting",
        "method": "online",
        "note": "電話で受付",
    }
    refused = await staff_client.post(f"{BOOKINGS}/new", data=form)
    assert refused.status_code == 400 and "選んだ相談方法を受け付けていません" in refused.text
    response = await staff_client.post(f"{BOOKINGS}/new", data={**form, "method": "phone"})
    assert response.status_code == 303
    booking = await Booking.get(resident_id=who.id)
    assert booking.booked_by == BookedBy.STAFF and booking.topic == Topic.PARENTING
    assert booking.note == "電話で受付" and booking.status == BookingStatus.BOOKED
    assert (await ConsultationSlot.get(id=slot.id)).booked_count == 1
    full = await staff_client.post(f"{BOOKINGS}/new", data={**form, "method": "phone"})
    assert full.status_code == 400
    assert await Booking.filter(resident_id=who.id).count() == 1
    assert await AuditLog.filter(action="consult.booking.create").count() == 1
    # The resident is told on LINE, once.
    [notice] = await OutboxMessage.filter(line_user_id=who.line_user_id)
    assert notice.kind == "staff_booking" and "窓口でご予約を承りました" in str(notice.messages)


async def booked_earlier(who: Resident, slot: ConsultationSlot) -> Booking:
    """A booking made back when the slot was still open (the rules refuse past slots now)."""
    await ConsultationSlot.filter(id=slot.id).update(booked_count=1)
    return await Booking.create(
        resident=who,
        slot=slot,
        topic=Topic.START,
        method=Method.VISIT,
        active_key=f"{slot.id}:{who.id}",
    )


async def test_todays_consultations(settings: Settings, db: str) -> None:
    today = now().astimezone(JST).date()
    who = await resident()
    mine = await booked_earlier(who, await slot_at(jst(today, 0, 30)))
    late = await booked_earlier(who, await slot_at(jst(today, 23)))
    cancelled = await booked_earlier(await resident(), await slot_at(jst(today, 12)))
    async with in_transaction():
        await rules.cancel_by_staff(cancelled.id, "")
    await booked_earlier(who, await slot_at(jst(today + timedelta(days=1), 0, 30)))
    assert [b.id for b in await todays_consultations()] == [mine.id, late.id]


# ---------- CSV ----------


async def test_csv_export_is_excel_safe_streamed_and_filtered(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = future_day()
    tricky = await resident('=HYPERLINK("http://evil.example","x")')
    plain = await resident('山田, "太郎"')
    notes = ["+1", "-1", "@x", "改行\nあり"]
    made = []
    for i, note in enumerate(notes):
        made.append(await book(settings, tricky, await slot_at(jst(day, 9 + i)), note=note))
    other = await book(settings, plain, await slot_at(jst(day + timedelta(days=1), 10)))
    async with in_transaction():
        await rules.cancel_by_staff(other.id, "\tタブ")

    response = await staff_client.get(f"{BOOKINGS}.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="bookings_')
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert re.fullmatch(r"相談予約_\d{8}\.csv", unquote(encoded))
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\r\n" in text
    assert text.count("\r\n") == 6  # header + 5 rows; the note keeps its own "\\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:3] == ["予約ID", "相談日", "開始"]
    by_id = {int(r[0]): r for r in rows[1:]}
    assert set(by_id) == {b.id for b in made} | {other.id}
    assert by_id[made[0].id][6] == "'" + '=HYPERLINK("http://evil.example","x")'
    assert [by_id[b.id][10] for b in made] == ["'+1", "'-1", "'@x", "改行\nあり"]
    assert by_id[other.id][6] == '山田, "太郎"'
    assert by_id[other.id][14] == "'\tタブ"
    assert by_id[other.id][9] == "キャンセル"
    assert '"山田, ""太郎"""' in text  # RFC 4180: quoted, quotes doubled
    assert by_id[made[0].id][1] == day.strftime("%Y/%m/%d") and by_id[made[0].id][2] == "09:00"

    filtered = await staff_client.get(f"{BOOKINGS}.csv", params={"status": "cancelled"})
    filtered_rows = list(csv.reader(io.StringIO(filtered.content.decode("utf-8-sig"))))
    ids = [int(r[0]) for r in filtered_rows[1:]]
    assert ids == [other.id]
    entries = await AuditLog.filter(action="consult.booking.export").order_by("id")
    assert len(entries) == 2 and entries[1].detail == {"status": "cancelled"}


async def test_csv_link_carries_the_filters(staff_client: httpx2.AsyncClient) -> None:
    page = await staff_client.get(BOOKINGS, params={"status": "booked", "q": "花子"})
    link = re.search(r'href="(/admin/consult/bookings\.csv[^"]*)"', page.text)
    assert link
    query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    assert query == {"status": ["booked"], "q": ["花子"]}


async def _book_on_behalf(
    staff_client: httpx2.AsyncClient, who: Resident, slot: ConsultationSlot
) -> httpx2.Response:
    path = f"{BOOKINGS}/new?resident={who.id}"
    form = {
        "csrf_token": await page_csrf(staff_client, path),
        "resident": str(who.id),
        "slot": str(slot.id),
        "topic": "start",
        "method": "phone",
    }
    return await staff_client.post(f"{BOOKINGS}/new", data=form)


async def test_staff_book_after_the_resident_cut_off_but_never_a_past_slot(
    staff_client: httpx2.AsyncClient,
) -> None:
    who = await resident()
    soon = await slot_at(now() + timedelta(minutes=30))  # residents' booking has closed
    assert (await _book_on_behalf(staff_client, who, soon)).status_code == 303
    over = await slot_at(now() - timedelta(hours=2))  # ended an hour ago (a stale form)
    refused = await _book_on_behalf(staff_client, who, over)
    assert refused.status_code == 400 and "この枠は受付を終了しました" in refused.text
    assert await Booking.filter(slot_id=over.id).count() == 0
    assert (await ConsultationSlot.get(id=over.id)).booked_count == 0
    assert await OutboxMessage.filter(line_user_id=who.line_user_id).count() == 1


async def test_staff_cannot_book_or_move_onto_a_closed_day(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    who = await resident()
    day = future_day()
    slot = await slot_at(jst(day, 10))
    other = await slot_at(jst(future_day(20), 10))
    await Closure.create(date=day, reason="施設点検")
    refused = await _book_on_behalf(staff_client, who, slot)
    assert refused.status_code == 400 and "休館日（施設点検）のため" in refused.text
    assert await Booking.all().count() == 0
    # Moving a booking onto the closed day is refused through the same rule.
    booking = await book(settings, who, other)
    path = f"{SLOTS}/{other.id}/delete"
    form = {
        "csrf_token": await page_csrf(staff_client, path),
        "booking_action": "move",
        "reason": "担当者の都合",
        "target": str(slot.id),
    }
    moved = await staff_client.post(path, data=form)
    assert moved.status_code == 400 and "休館日（施設点検）のため" in moved.text
    assert (await Booking.get(id=booking.id)).status == BookingStatus.BOOKED
    assert (await ConsultationSlot.get(id=slot.id)).booked_count == 0
