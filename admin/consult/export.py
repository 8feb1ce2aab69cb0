"""The bookings CSV export: the list's filters and the list's order (admin.consult.bookings
ScreenOrder: from today on soonest first, then earlier ones most recent first); streamed,
never the whole table in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from admin import audit
from admin.auth import staff_required
from admin.consult.bookings import BookingFilters, ScreenOrder
from admin.csv_export import csv_response
from models.consultation import BookedBy, Booking, BookingStatus, Method, Topic
from shima.timeutil import JST, today_jst

EXPORT_BATCH = 1000  # rows fetched per query while streaming the CSV (keyset on id)
CSV_HEADER = (
    "予約ID",
    "相談日",
    "開始",
    "終了",
    "担当",
    "利用者ID",
    "利用者名",
    "相談内容",
    "相談方法",
    "状態",
    "メモ",
    "予約経路",
    "予約日時",
    "キャンセル日時",
    "キャンセル理由",
    "電話番号",
)

# ---------- CSV export ----------


FIELDS = (
    "id",
    "slot__starts_at",
    "slot__ends_at",
    "slot__counsellor",
    "resident_id",
    "resident__display_name",
    "topic",
    "method",
    "status",
    "note",
    "booked_by",
    "created_at",
    "cancelled_at",
    "cancel_reason",
    "phone",
)


async def _keyset(part: QuerySet[Booking], ascending: bool) -> AsyncIterator[dict[str, Any]]:
    """`part`'s rows in its (slot start, id) order, EXPORT_BATCH at a time: each batch starts
    after the last row of the one before (keyset, no OFFSET)."""
    after: tuple[datetime, int] | None = None
    while True:
        query = part
        if after is not None:
            at, last_id = after
            beyond = "gt" if ascending else "lt"
            later: dict[str, Any] = {f"slot__starts_at__{beyond}": at}
            tie: dict[str, Any] = {"slot__starts_at": at, f"id__{beyond}": last_id}
            query = query.filter(Q(**later) | Q(**tie))
        batch = await query.limit(EXPORT_BATCH).values(*FIELDS)
        for row in batch:
            yield row
        if len(batch) < EXPORT_BATCH:
            return
        after = (batch[-1]["slot__starts_at"], batch[-1]["id"])


async def export_rows(filters: BookingFilters) -> AsyncIterator[Sequence[object]]:
    """Rows for the CSV in the list's order (never the whole table in memory)."""
    order = ScreenOrder.of(filters.apply(Booking.all()))
    for part, ascending in ((order.upcoming, True), (order.past, False)):
        async for row in _keyset(part, ascending):
            starts: datetime = row["slot__starts_at"].astimezone(JST)
            ends: datetime = row["slot__ends_at"].astimezone(JST)
            cancelled = row["cancelled_at"]
            yield (
                row["id"],
                starts.strftime("%Y/%m/%d"),
                starts.strftime("%H:%M"),
                ends.strftime("%H:%M"),
                row["slot__counsellor"],
                row["resident_id"],
                row["resident__display_name"],
                Topic(row["topic"]).label,
                Method(row["method"]).label,
                BookingStatus(row["status"]).label,
                row["note"],
                BookedBy(row["booked_by"]).label,
                row["created_at"].astimezone(JST).strftime("%Y/%m/%d %H:%M"),
                cancelled.astimezone(JST).strftime("%Y/%m/%d %H:%M") if cancelled else "",
                row["cancel_reason"],
                row["phone"] or "",
            )


@staff_required
async def booking_export(request: Request) -> Response:
    filters = BookingFilters.from_query(request.query_params)
    stamp = today_jst().strftime("%Y%m%d")
    await audit.record(request, "consult.booking.export", "booking", "", filters.audit_detail())
    return csv_response(
        f"相談予約_{stamp}.csv",
        CSV_HEADER,
        export_rows(filters),
        fallback=f"bookings_{stamp}.csv",
    )
