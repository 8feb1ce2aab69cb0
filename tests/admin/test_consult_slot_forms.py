"""The 相談枠 forms (single slot, weekly pattern) and the edit page's constraints, through
the ASGI app. The rules themselves are tested in tests/shima/domain/test_slots.py."""

from __future__ import annotations

from datetime import date

import httpx2
from starlette.datastructures import FormData
from tortoise.transactions import in_transaction

from admin.consult.bulk import parse_bulk_form, summary
from admin.consult.slots import parse_slot_form
from models.consultation import ConsultationSlot, Method, Topic
from shima.domain import consultation as rules
from shima.domain.slots import PatternPlan
from shima.settings import Settings
from shima.timeutil import today_jst
from tests.admin.conftest import page_csrf
from tests.shima.domain.helpers import jst, open_day, resident, slot


def test_bulk_summary() -> None:
    assert summary(PatternPlan(slots=[ConsultationSlot()] * 3)) == ("3件作成しました。", [])
    plan = PatternPlan(
        slots=[ConsultationSlot()] * 2, duplicates=1, skipped=[(date(2026, 12, 1), "施設点検")]
    )
    assert summary(plan) == (
        "2件作成しました。",
        [
            "1日は休館日などのため作成しませんでした（12/1(火) 施設点検）。",
            "同じ枠がすでにあったため 1件は作成しませんでした。",
        ],
    )


def _form(**values: object) -> FormData:
    items: list[tuple[str, str]] = []
    for key, value in values.items():
        items += [(key, v) for v in value] if isinstance(value, list) else [(key, str(value))]
    return FormData(items)


BULK = {
    "date_from": "2026-12-01",
    "date_to": "2026-12-31",
    "weekdays": ["1", "3"],
    "start": "10:00",
    "end": "16:00",
    "duration": "60",
    "capacity": "1",
    "methods": ["visit", "phone"],
    "counsellor": "田中",
}


def test_parse_bulk_form() -> None:
    parsed, errors = parse_bulk_form(_form(**BULK))
    assert errors == [] and parsed is not None
    assert parsed.weekdays == {1, 3} and parsed.methods == "visit,phone"
    assert parsed.minutes == 60 and parsed.first == date(2026, 12, 1)
    bad = {
        "date_to": "2026-11-30",
        "weekdays": ["7"],
        "end": "09:00",
        "duration": "50",
        "capacity": "51",
        "methods": ["fax"],
    }
    parsed, errors = parse_bulk_form(_form(**{**BULK, **bad}))
    assert parsed is None
    assert errors == [
        "終了日は開始日以降にしてください。",
        "曜日を1つ以上選んでください。",
        "終了時刻は開始時刻より後にしてください。",
        "1枠の長さを選んでください。",
        "相談方法を1つ以上選んでください。",
        "定員は1〜50の数で入力してください。",
    ]
    _, errors = parse_bulk_form(_form(**{**BULK, "date_to": "2027-12-02"}))
    assert errors == ["一度に作成できる期間は1年までです。"]
    _, errors = parse_bulk_form(_form(**{**BULK, "date_from": "x"}))
    assert errors == ["期間（開始日と終了日）を入力してください。"]


def test_parse_slot_form() -> None:
    good = {"date": "2026-12-08", "start": "10:00", "end": "11:00", "capacity": "2"}
    parsed, errors = parse_slot_form(_form(**good, methods=["online"], note="オンライン専用"))
    assert errors == [] and parsed is not None
    assert parsed.starts_at == jst(date(2026, 12, 8), 10) and parsed.capacity == 2
    assert parsed.columns()["methods"] == "online" and parsed.methods == (Method.ONLINE,)
    parsed, errors = parse_slot_form(_form(date="", start="11:00", end="10:00", capacity="0"))
    assert parsed is None and errors == [
        "日付を入力してください。",
        "終了時刻は開始時刻より後にしてください。",
        "相談方法を1つ以上選んでください。",
        "定員は1〜50の数で入力してください。",
    ]


# ---------- Edit constraints through the edit page ----------


async def test_edit_keeps_room_and_methods_for_existing_bookings(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = open_day()
    target = await slot(jst(day, 10), capacity=3)
    for method in (Method.VISIT, Method.PHONE):
        async with in_transaction():
            await rules.book(
                await resident(), rules.BookingRequest(target.id, Topic.START, method), settings
            )
    path = f"/admin/consult/slots/{target.id}/edit"
    form = {
        "csrf_token": await page_csrf(staff_client, path),
        "date": day.isoformat(),
        "start": "10:00",
        "end": "10:50",
        "counsellor": "田中",
        "methods": ["visit", "online"],
        "capacity": "1",
    }
    refused = await staff_client.post(path, data=form)
    assert refused.status_code == 400
    assert "予約が2件あるため、定員はそれより少なくできません。" in refused.text
    assert "予約で選ばれている相談方法（電話）は外せません。" in refused.text
    await target.refresh_from_db()
    assert target.capacity == 3 and target.methods == "visit,online,phone"
    done = await staff_client.post(
        path, data={**form, "capacity": "2", "methods": ["visit", "phone"]}
    )
    assert done.status_code == 303
    await target.refresh_from_db()
    assert target.capacity == 2 and target.methods == "visit,phone"


async def test_edit_cannot_move_a_slot_onto_a_closed_day_or_move_bookings_silently(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    day = open_day()
    target = await slot(jst(day, 10))
    async with in_transaction():
        await rules.book(
            await resident(), rules.BookingRequest(target.id, Topic.START, Method.VISIT), settings
        )
    path = f"/admin/consult/slots/{target.id}/edit"
    form = {
        "csrf_token": await page_csrf(staff_client, path),
        "date": "2026-12-30",
        "start": "10:00",
        "end": "10:50",
        "counsellor": "田中",
        "methods": ["visit", "online", "phone"],
        "capacity": "1",
        "booking_action": "notify",
        "reason": "会議室の都合",
    }
    closed = await staff_client.post(path, data=form)
    assert closed.status_code == 400 and "休館日（年末年始）です" in closed.text
    other_day = {**form, "date": open_day((day - today_jst()).days + 1).isoformat()}
    unasked = await staff_client.post(path, data={**other_day, "booking_action": ""})
    assert "日時を変えるときは、入っている予約の扱いを選んでください。" in unasked.text
    no_reason = await staff_client.post(path, data={**other_day, "reason": ""})
    assert "利用者にお知らせする理由を入力してください。" in no_reason.text
    await target.refresh_from_db()
    assert target.starts_at == jst(day, 10)
