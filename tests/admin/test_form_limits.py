"""Oversized admin forms, through the ASGI app: a field over its limit gets its form back
with a Japanese message and the typed values; a body over the admin's limit gets the page
(or, for a button-only route, the error page with a way back) in Japanese — never the
server's English 「Content Too Large」."""

from __future__ import annotations

import httpx2

from admin.routing import MAX_FORM_BYTES
from models.consultation import Booking, Closure, ConsultationSlot
from shima.settings import Settings
from tests.admin.conftest import page_csrf
from tests.admin.test_consult_admin import BOOKINGS, book, future_day, jst, resident, slot_at

LONG_NOTE = "島" * 10_000  # ~90 KB url-encoded: more than the old 64 KB body limit


async def test_a_10000_character_note_gets_the_form_back(
    staff_client: httpx2.AsyncClient,
) -> None:
    who = await resident("喜界 一郎")
    slot = await slot_at(jst(future_day(), 10))
    path = f"{BOOKINGS}/new?resident={who.id}"
    form = {
        "csrf_token": await page_csrf(staff_client, path),
        "resident": str(who.id),
        "slot": str(slot.id),
        "topic": "start",
        "method": "phone",
        "note": LONG_NOTE,
    }
    response = await staff_client.post(f"{BOOKINGS}/new", data=form)
    assert response.status_code == 400
    assert "Content Too Large" not in response.text
    assert "メモは500文字以内で入力してください（いま10,000文字です）。" in response.text
    assert LONG_NOTE in response.text  # what was typed is still in the textarea
    assert await Booking.all().count() == 0  # never saved cut to 500 characters


async def test_over_long_slot_note_and_closure_reason_keep_the_typed_values(
    staff_client: httpx2.AsyncClient,
) -> None:
    day = future_day()
    csrf = await page_csrf(staff_client, "/admin/consult/slots/new")
    note = "あ" * 201
    slot_form = {
        "csrf_token": csrf,
        "date": day.isoformat(),
        "start": "10:00",
        "end": "11:00",
        "counsellor": "田中",
        "methods": "visit",
        "capacity": "1",
        "note": note,
    }
    response = await staff_client.post("/admin/consult/slots/new", data=slot_form)
    assert response.status_code == 400
    assert "メモは200文字以内で入力してください（いま201文字です）。" in response.text
    assert note in response.text and 'value="田中"' in response.text
    assert await ConsultationSlot.all().count() == 0

    reason = "点検" * 51
    closure = {"csrf_token": csrf, "date": day.isoformat(), "reason": reason}
    response = await staff_client.post("/admin/consult/closures", data=closure)
    assert response.status_code == 400
    assert "理由は100文字以内で入力してください（いま102文字です）。" in response.text
    assert f'value="{reason}"' in response.text
    assert await Closure.all().count() == 0


async def test_a_multipart_body_over_the_limit_gets_the_page_with_a_japanese_notice(
    staff_client: httpx2.AsyncClient,
) -> None:
    csrf = await page_csrf(staff_client, "/admin/consult/slots/new")
    big = b"x" * (MAX_FORM_BYTES + 1)
    response = await staff_client.post(
        "/admin/consult/slots/new",
        data={"csrf_token": csrf, "date": future_day().isoformat()},
        files={"upload": ("big.bin", big, "application/octet-stream")},
        headers={"referer": "http://testserver/admin/consult/slots/new?date=2026-12-24"},
    )
    assert response.status_code == 413
    assert "Content Too Large" not in response.text
    assert "送信された内容が大きすぎるため、受け付けませんでした（上限 256 KB）。" in response.text
    assert '<form method="post"' in response.text  # the slot form itself, to fill in again
    assert 'value="2026-12-24"' in response.text  # as it was opened (the Referer's query)
    assert "ログイン中" in response.text  # in the admin's frame, signed in
    assert await ConsultationSlot.all().count() == 0


async def test_a_button_only_route_gets_the_error_page_with_a_way_back(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    booking = await book(settings, await resident(), await slot_at(jst(future_day(), 10)))
    detail = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(staff_client, detail)
    response = await staff_client.post(
        f"{detail}/cancel",
        data={"csrf_token": csrf, "reason": "島" * 30_000},
        headers={"referer": f"http://testserver{detail}"},
    )
    assert response.status_code == 413
    assert "Content Too Large" not in response.text
    assert "送信された内容が大きすぎるため" in response.text
    assert f'href="{detail}"' in response.text and "前の画面に戻る" in response.text
    assert (await Booking.get(id=booking.id)).status.value == "booked"


async def test_a_field_over_its_limit_is_never_cut_silently(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    # A form without its own length check still refuses (admin.forms.form_text), in Japanese.
    booking = await book(settings, await resident(), await slot_at(jst(future_day(), 10)))
    detail = f"{BOOKINGS}/{booking.id}"
    csrf = await page_csrf(staff_client, detail)
    target = await slot_at(jst(future_day(), 14))
    response = await staff_client.post(
        f"{detail}/move",
        data={"csrf_token": csrf, "target": str(target.id), "reason": "都合" * 200},
        headers={"referer": f"http://testserver{detail}"},
    )
    assert response.status_code == 400
    assert "入力欄の文字数が多すぎます（300文字まで）。" in response.text
    assert (await Booking.get(id=booking.id)).slot_id != target.id
