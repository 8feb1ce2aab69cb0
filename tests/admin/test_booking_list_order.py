"""The bookings list and its CSV: from today on soonest first, then the earlier ones most
recent first, the CSV in the screen's order; an impossible date range says so."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import httpx2
import pytest

from models.consultation import Booking, ConsultationSlot, Method, Topic
from models.residents import Resident
from shima.timeutil import JST, now
from tests.admin.test_consult_admin import BOOKINGS, jst, resident


async def booking_on(who: Resident, days: int, hour: int = 10) -> Booking:
    """A booking `days` from today (negative: in the past), made directly (the rules refuse
    past slots)."""
    day = now().astimezone(JST).date() + timedelta(days=days)
    start = jst(day, hour)
    slot = await ConsultationSlot.create(
        starts_at=start, ends_at=start + timedelta(hours=1), booked_count=1
    )
    return await Booking.create(
        resident=who, slot=slot, topic=Topic.START, method=Method.VISIT, active_key=f"{slot.id}"
    )


def page_ids(response: httpx2.Response) -> list[int]:
    return [
        int(i)
        for i in re.findall(r'class="row-link" href="/admin/consult/bookings/(\d+)"', response.text)
    ]


def csv_ids(response: httpx2.Response) -> list[int]:
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    return [int(r[0]) for r in rows[1:]]


async def test_upcoming_soonest_first_then_past_most_recent_first(
    staff_client: httpx2.AsyncClient,
) -> None:
    who = await resident()
    made = {d: await booking_on(who, d) for d in (20, -5, 3, -1, 10, 0)}
    expected = [made[d].id for d in (0, 3, 10, 20, -1, -5)]
    page = await staff_client.get(BOOKINGS)
    assert page_ids(page) == expected
    assert "今日以降（相談日時の早い順）" in page.text and "過去の予約（新しい順）" in page.text
    export = await staff_client.get(f"{BOOKINGS}.csv")
    assert csv_ids(export) == expected  # the same order as the screen

    only_past = await staff_client.get(
        BOOKINGS, params={"to": str(now().astimezone(JST).date() - timedelta(days=3))}
    )
    assert page_ids(only_past) == [made[-5].id]
    assert "今日以降（" not in only_past.text


async def test_the_order_holds_across_pages_and_csv_batches(
    staff_client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import admin.consult.export as export

    who = await resident()
    upcoming = [await booking_on(who, 1 + i // 8, 9 + i % 8) for i in range(52)]
    past = [await booking_on(who, -1 - i) for i in range(3)]
    expected = [b.id for b in upcoming] + [b.id for b in past]
    first = await staff_client.get(BOOKINGS)
    second = await staff_client.get(BOOKINGS, params={"page": "2"})
    assert page_ids(first) + page_ids(second) == expected
    assert "過去の予約（新しい順）" not in first.text
    assert "過去の予約（新しい順）" in second.text and "今日以降（" in second.text
    monkeypatch.setattr(export, "EXPORT_BATCH", 7)
    assert csv_ids(await staff_client.get(f"{BOOKINGS}.csv")) == expected


async def test_an_impossible_date_range_says_so(staff_client: httpx2.AsyncClient) -> None:
    who = await resident()
    await booking_on(who, 3)
    backwards = await staff_client.get(BOOKINGS, params={"from": "2026-12-20", "to": "2026-12-01"})
    assert backwards.status_code == 200
    assert (
        "相談日の範囲が正しくありません"
        "（「から」の 2026/12/20 が「まで」の 2026/12/01 より後です）。" in backwards.text
    )
    assert page_ids(backwards) == []
    assert "CSV 出力" not in backwards.text

    typo = await staff_client.get(BOOKINGS, params={"from": "2026-02-30"})
    assert "相談日（から）の「2026-02-30」は日付として読めないため、使っていません。" in typo.text
    assert len(page_ids(typo)) == 1  # the rest of the filter still applies
    fine = await staff_client.get(BOOKINGS, params={"from": "2026-12-01"})
    assert "正しくありません" not in fine.text and "読めない" not in fine.text
