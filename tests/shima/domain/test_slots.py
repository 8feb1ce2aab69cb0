"""The slot lifecycle (today in admin/slots.py): bulk planning from a weekly pattern, the slot
form, edit constraints and removal."""

from __future__ import annotations

from datetime import date, time, timedelta

import httpx2
import pytest
from starlette.datastructures import FormData
from tortoise.transactions import in_transaction

from admin.consult.bulk import BulkResult, create_from_pattern, parse_bulk_form, pattern_times
from admin.consult.slots import SlotChanged, _remove_slot, parse_slot_form
from models.consultation import Booking, Closure, ConsultationSlot, Method, Topic
from shima.domain import consultation as rules
from shima.settings import Settings
from shima.timeutil import JST, today_jst
from tests.admin.conftest import page_csrf
from tests.shima.domain.helpers import jst, open_day, resident, slot


def pattern(first: date, last: date, **kw: object) -> dict[str, object]:
    return {
        "first": first,
        "last": last,
        "weekdays": {1, 3},  # 火・木
        "start": time(10),
        "end": time(12),
        "minutes": 60,
        "capacity": 1,
        "methods": "visit,online",
        "counsellor": "田中",
        "note": "",
        **kw,
    }


# ---------- Bulk planning ----------


def test_pattern_times_fit_whole_slots_in_jst() -> None:
    day = date(2026, 12, 8)
    times = pattern_times(day, time(10), time(12, 30), 45)
    assert [(s.astimezone(JST).time(), e.astimezone(JST).time()) for s, e in times] == [
        (time(10), time(10, 45)),
        (time(10, 45), time(11, 30)),
        (time(11, 30), time(12, 15)),
    ]
    assert times[0][0] == jst(day, 10) and times[0][0].utcoffset() == timedelta(0)
    assert pattern_times(day, time(10), time(10, 30), 60) == []


async def test_create_from_pattern_skips_closed_days_and_duplicates(db: str) -> None:
    # 2026-11-23 (月) 勤労感謝の日 … 12/6; 火・木 are 11/24, 11/26, 12/1, 12/3.
    await Closure.create(date=date(2026, 12, 1), reason="施設点検")
    await ConsultationSlot.create(
        starts_at=jst(date(2026, 11, 26), 10),
        ends_at=jst(date(2026, 11, 26), 11),
        counsellor="田中",
    )
    result, planned = await create_from_pattern(pattern(date(2026, 11, 23), date(2026, 12, 6)))
    assert result.skipped == [(date(2026, 12, 1), "施設点検")]
    assert result.duplicates == 1 and result.created == len(planned) == 5
    days = sorted({s.starts_at.astimezone(JST).date() for s in planned})
    assert days == [date(2026, 11, 24), date(2026, 11, 26), date(2026, 12, 3)]
    assert all(s.methods == "visit,online" and s.counsellor == "田中" for s in planned)
    assert await ConsultationSlot.all().count() == 1  # planning stores nothing
    holidays, _ = await create_from_pattern(
        pattern(date(2026, 12, 28), date(2027, 1, 4), weekdays={0, 1, 2, 3, 4})
    )
    assert [d for d, _ in holidays.skipped] == [
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
    ]
    assert holidays.created == 4  # 12/28 and 1/4, two slots each


async def test_another_counsellor_at_the_same_time_is_not_a_duplicate(db: str) -> None:
    day = date(2026, 12, 8)
    await ConsultationSlot.create(starts_at=jst(day, 10), ends_at=jst(day, 11), counsellor="田中")
    result, planned = await create_from_pattern(pattern(day, day, counsellor="鈴木"))
    assert result.duplicates == 0 and len(planned) == 2


def test_bulk_summary() -> None:
    assert BulkResult(created=3).summary == "3件作成、0日スキップ。"
    text = BulkResult(created=2, duplicates=1, skipped=[(date(2026, 12, 1), "施設点検")]).summary
    assert text == (
        "2件作成、1日スキップ（12/1(火) 施設点検）。"
        "同じ枠がすでにあったため 1件は作成しませんでした。"
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
    assert parsed["weekdays"] == {1, 3} and parsed["methods"] == "visit,phone"
    assert parsed["minutes"] == 60 and parsed["first"] == date(2026, 12, 1)
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


# ---------- Removal ----------


async def test_remove_a_slot_nobody_booked_deletes_it(db: str) -> None:
    empty = await slot(jst(open_day(), 10))
    await _remove_slot(empty)
    assert not await ConsultationSlot.exists(id=empty.id)


async def test_remove_a_slot_with_history_keeps_it_inactive(settings: Settings) -> None:
    target = await slot(jst(open_day(), 10))
    async with in_transaction():
        booking = await rules.book(
            await resident(), rules.BookingRequest(target.id, Topic.START, Method.VISIT), settings
        )
    with pytest.raises(SlotChanged):  # an active booking: never removed under it
        await _remove_slot(target)
    await rules.cancel_by_staff(booking.id, "")
    await _remove_slot(target)
    kept = await ConsultationSlot.get(id=target.id)
    assert kept.is_active is False and await Booking.exists(slot_id=target.id)


# ---------- Edit constraints (in the edit handler today) ----------


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
