"""相談予約 in the admin: the bookings list (filters, search, pages), a booking's detail with
the resident's history, staff actions (cancel with a reason, 来所済み / 無断キャンセル,
代理予約), the CSV export, and today's consultations for the dashboard.

The rules live in shima.domain.consultation and the resident notices in line_app.notices.consult;
this module translates forms into calls to them. Every view of booking data and every change
is recorded in the audit log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute
from tortoise.expressions import F, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.csv_export import csv_response
from admin.errors import error_page
from admin.pages import page_url, paginate, render
from admin.sessions import settings_of
from line_app.flows.consult_cards import when
from line_app.notices.consult import (
    notify_staff_booking,
    notify_staff_cancel,
    notify_staff_change,
)
from models.consultation import Booking, BookingStatus, ConsultationSlot, Method, Topic
from models.residents import Resident
from shima.domain import consultation as rules
from shima.timeutil import JST, jst_datetime, now, today_jst

LIST_PATH = "/admin/consult/bookings"
EXPORT_BATCH = 1000  # rows fetched per query while streaming the CSV (keyset on id)
HISTORY_LIMIT = 50
RESIDENT_SEARCH_LIMIT = 20
BOOKABLE_DAYS = 60  # 代理予約 offers free slots this far ahead
REASON_MAX = 300
NOTE_MAX = 500

# Outcome codes in redirects; only these fixed texts are ever shown (nothing reflected).
OUTCOMES: dict[str, tuple[str, str]] = {
    "cancelled": ("success", "予約をキャンセルし、利用者に LINE でお知らせしました。"),
    "attended": ("success", "来所済みにしました。"),
    "no_show": ("success", "無断キャンセルとして記録しました。"),
    "booked": ("success", "予約中に戻しました。"),
    "created": ("success", "代理予約を登録しました。"),
    "stale": ("warning", "この予約はすでにキャンセルされているため、変更できません。"),
}

ACTION_LABELS = {
    "consult.booking.list": "相談予約一覧の閲覧",
    "consult.booking.view": "相談予約詳細の閲覧",
    "consult.booking.export": "相談予約の CSV 出力",
    "consult.booking.cancel": "相談予約のキャンセル",
    "consult.booking.mark": "相談予約の来所記録",
    "consult.booking.create": "相談の代理予約",
    "consult.booking.move": "相談予約の日時変更",
    "consult.resident.search": "代理予約の利用者検索",
    "consult.slot.week": "相談枠（週）の閲覧",
    "consult.slot.create": "相談枠の作成",
    "consult.slot.bulk_create": "相談枠の一括作成",
    "consult.slot.update": "相談枠の編集",
    "consult.slot.delete": "相談枠の削除",
    "consult.closure.create": "休館日の登録",
    "consult.closure.delete": "休館日の削除",
}
# The audit page shows these labels; registered here so the area owns its own vocabulary.
audit.ACTION_LABELS.update(ACTION_LABELS)

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
)
BOOKED_BY_LABELS = {"line": "LINE", "staff": "スタッフ"}
CANCELLED_BY_LABELS = {"resident": "利用者", "staff": "スタッフ"}


# ---------- Small parsing helpers (forms and query strings) ----------


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        return None


def parse_time(value: str | None) -> time | None:
    try:
        return time.fromisoformat((value or "").strip()[:5])
    except ValueError:
        return None


def parse_int(value: object, default: int | None = None) -> int | None:
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isdigit() and len(text) <= 9 else default


def form_text(form: FormData | Mapping[str, Any], name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


# ---------- Filters shared by the list and the CSV export ----------


@dataclass(frozen=True)
class BookingFilters:
    date_from: date | None = None
    date_to: date | None = None
    status: BookingStatus | None = None
    topic: Topic | None = None
    counsellor: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> BookingFilters:
        status = params.get("status", "")
        topic = params.get("topic", "")
        return cls(
            date_from=parse_date(params.get("from")),
            date_to=parse_date(params.get("to")),
            status=BookingStatus(status) if status in BookingStatus._value2member_map_ else None,
            topic=Topic(topic) if topic in Topic._value2member_map_ else None,
            counsellor=params.get("counsellor", "").strip()[:100],
            q=params.get("q", "").strip()[:100],
        )

    def params(self) -> list[tuple[str, str]]:
        pairs = [
            ("from", self.date_from.isoformat() if self.date_from else ""),
            ("to", self.date_to.isoformat() if self.date_to else ""),
            ("status", self.status.value if self.status else ""),
            ("topic", self.topic.value if self.topic else ""),
            ("counsellor", self.counsellor),
            ("q", self.q),
        ]
        return [(k, v) for k, v in pairs if v]

    def query_string(self) -> str:
        return urlencode(self.params())

    def audit_detail(self) -> dict[str, str]:
        return dict(self.params())

    def apply(self, bookings: QuerySet[Booking]) -> QuerySet[Booking]:
        """Only indexed conditions: slot time (slots.starts_at), status, resident."""
        if self.date_from:
            bookings = bookings.filter(slot__starts_at__gte=jst_datetime(self.date_from))
        if self.date_to:
            end = jst_datetime(self.date_to + timedelta(days=1))
            bookings = bookings.filter(slot__starts_at__lt=end)
        if self.status:
            bookings = bookings.filter(status=self.status)
        if self.topic:
            bookings = bookings.filter(topic=self.topic)
        if self.counsellor:
            bookings = bookings.filter(slot__counsellor=self.counsellor)
        if self.q:
            # The names match first (one small query), then bookings by resident_id: indexed.
            matching = Resident.filter(display_name__icontains=self.q).values("id")
            bookings = bookings.filter(resident_id__in=Subquery(matching))
        return bookings


# Earlier than any slot: a range condition on the slot's start turns the ORM's LEFT JOIN into
# an inner join (SQLite does not for IS NOT NULL written as NOT … IS NULL), so the database
# walks slots by the starts_at index instead of sorting every booking.
SLOT_TIME_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)


def ordered_by_slot_time(bookings: QuerySet[Booking], filters: BookingFilters) -> QuerySet[Booking]:
    """Newest consultation first; see SLOT_TIME_FLOOR."""
    if filters.date_from is None:
        bookings = bookings.filter(slot__starts_at__gte=SLOT_TIME_FLOOR)
    return bookings.order_by("-slot__starts_at", "-id")


async def counsellors() -> list[str]:
    names = (
        await ConsultationSlot.exclude(counsellor="")
        .distinct()
        .values_list("counsellor", flat=True)
    )
    return sorted({str(n) for n in names})


# ---------- Actions with their resident notices (one transaction each) ----------


async def cancel_and_notify(request: Request, booking_id: int, reason: str) -> Booking:
    """Cancel by staff, queue the resident's notice, and audit. Call inside a transaction,
    so the three happen together or not at all."""
    booking = await rules.cancel_by_staff(booking_id, reason)
    await notify_staff_cancel(booking, reason)
    await audit.record(
        request,
        "consult.booking.cancel",
        "booking",
        booking.id,
        {"slot": booking.slot_id, "reason": reason},
    )
    return booking


async def move_and_notify(
    request: Request, booking: Booking, target_slot_id: int, reason: str
) -> Booking:
    """Move a booking to another slot: the rules cancel the old one and book the new one (so
    capacity is enforced as for any booking), and the resident hears of the change.
    Call inside a transaction; raises BookingError when the target cannot take it."""
    await booking.fetch_related("slot", "resident")
    before = when(booking.slot)
    moved = await rules.move_by_staff(
        booking.id, target_slot_id, reason[:REASON_MAX], settings_of(request)
    )
    await notify_staff_change(moved, before, reason)
    await audit.record(
        request,
        "consult.booking.move",
        "booking",
        moved.id,
        {"from_booking": booking.id, "from_slot": booking.slot_id, "to_slot": target_slot_id},
    )
    return moved


# ---------- Pages ----------


def _outcome(request: Request) -> tuple[str, str] | None:
    return OUTCOMES.get(request.query_params.get("done", ""))


@staff_required
async def booking_list(request: Request) -> Response:
    filters = BookingFilters.from_query(request.query_params)
    bookings = filters.apply(Booking.all())
    page = paginate(request, await bookings.count())
    # Two steps: the page's ids from a narrow, index-ordered query, then those rows whole.
    ids = (
        await ordered_by_slot_time(bookings, filters)
        .offset(page.offset)
        .limit(page.per_page)
        .values_list("id", flat=True)
    )
    by_id = {
        b.id: b for b in await Booking.filter(id__in=list(ids)).select_related("slot", "resident")
    }
    rows = [by_id[int(str(i))] for i in ids if int(str(i)) in by_id]
    await audit.record(
        request,
        "consult.booking.list",
        "booking",
        "",
        {**filters.audit_detail(), "page": page.number},
    )
    return render(
        request,
        "admin/consult/bookings.html",
        {
            "bookings": rows,
            "filters": filters,
            "statuses": list(BookingStatus),
            "topics": list(Topic),
            "counsellors": await counsellors(),
            "export_url": f"{LIST_PATH}.csv"
            + (f"?{filters.query_string()}" if filters.params() else ""),
            "today": today_jst(),
            "page": page,
            "outcome": _outcome(request),
            "prev_url": page_url(request, page.number - 1),
            "next_url": page_url(request, page.number + 1),
        },
        active="consult",
    )


@staff_required
async def booking_detail(request: Request) -> Response:
    booking = await Booking.get_or_none(id=request.path_params["booking_id"]).select_related(
        "slot", "resident"
    )
    if booking is None:
        return error_page(request, 404, title="予約が見つかりません")
    history = (
        await Booking.filter(resident_id=booking.resident_id)
        .exclude(id=booking.id)
        .select_related("slot")
        .order_by("-slot__starts_at", "-id")
        .limit(HISTORY_LIMIT)
    )
    await audit.record(request, "consult.booking.view", "booking", booking.id)
    return render(
        request,
        "admin/consult/booking_detail.html",
        {
            "booking": booking,
            "history": history,
            "outcome": _outcome(request),
            "error": "",
            "booked_by_labels": BOOKED_BY_LABELS,
            "cancelled_by_labels": CANCELLED_BY_LABELS,
            "reason_max": REASON_MAX,
        },
        active="consult",
    )


def _to_detail(booking_id: int, outcome: str) -> Response:
    return RedirectResponse(f"{LIST_PATH}/{booking_id}?done={outcome}", status_code=303)


@staff_required
async def booking_cancel(request: Request) -> Response:
    booking_id: int = request.path_params["booking_id"]
    reason = form_text(await request.form(), "reason", REASON_MAX)
    if not await Booking.exists(id=booking_id):
        return error_page(request, 404, title="予約が見つかりません")
    if not reason:
        return error_page(
            request,
            400,
            title="キャンセル理由を入力してください",
            message="理由は利用者への LINE のお知らせに載ります。戻って入力してください。",
        )
    try:
        async with in_transaction():
            await cancel_and_notify(request, booking_id, reason)
    except rules.BookingError:
        return _to_detail(booking_id, "stale")
    return _to_detail(booking_id, "cancelled")


@staff_required
async def booking_mark(request: Request) -> Response:
    booking_id: int = request.path_params["booking_id"]
    value = form_text(await request.form(), "status", 16)
    allowed = {BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.BOOKED}
    if value not in allowed:
        return error_page(request, 400)
    if not await Booking.exists(id=booking_id):
        return error_page(request, 404, title="予約が見つかりません")
    status = BookingStatus(value)
    try:
        async with in_transaction():
            await rules.mark(booking_id, status)
            await audit.record(
                request, "consult.booking.mark", "booking", booking_id, {"status": value}
            )
    except rules.BookingError:
        return _to_detail(booking_id, "stale")
    return _to_detail(booking_id, value)


async def bookable_slots(request: Request) -> list[ConsultationSlot]:
    """Slots with a free seat that have not ended (staff may book a walk-in late; the rules
    decide — this list only offers choices)."""
    start = now()
    return (
        await ConsultationSlot.filter(
            is_active=True,
            booked_count__lt=F("capacity"),
            ends_at__gt=start,
            starts_at__lt=start + timedelta(days=BOOKABLE_DAYS),
        )
        .order_by("starts_at", "id")
        .limit(500)
    )


@staff_required
async def booking_new(request: Request) -> Response:
    """代理予約: find the resident, then pick a free slot, topic, method and note."""
    error = ""
    form: FormData | Mapping[str, str] = request.query_params
    if request.method == "POST":
        form = await request.form()
    q = form_text(form, "q", 100)
    resident_id = parse_int(form.get("resident"))
    resident = await Resident.get_or_none(id=resident_id) if resident_id else None
    if request.method == "POST" and resident is not None:
        slot_id = parse_int(form.get("slot"))
        topic = form_text(form, "topic", 16)
        method = form_text(form, "method", 16)
        note = form_text(form, "note", NOTE_MAX)
        if slot_id is None or topic not in Topic._value2member_map_:
            error = "相談枠と相談内容を選んでください。"
        elif method not in Method._value2member_map_:
            error = "相談方法を選んでください。"
        else:
            try:
                async with in_transaction():
                    booking = await rules.book(
                        resident,
                        rules.BookingRequest(
                            slot_id=slot_id,
                            topic=Topic(topic),
                            method=Method(method),
                            note=note,
                            booked_by="staff",
                        ),
                        settings_of(request),
                    )
                    await notify_staff_booking(booking)
                    await audit.record(
                        request,
                        "consult.booking.create",
                        "booking",
                        booking.id,
                        {"resident": resident.id, "slot": slot_id},
                    )
            except rules.BookingError as exc:
                error = exc.message
            else:
                return _to_detail(booking.id, "created")
    matches: list[Resident] = []
    if q and resident is None:
        matches = (
            await Resident.filter(display_name__icontains=q)
            .order_by("display_name", "id")
            .limit(RESIDENT_SEARCH_LIMIT)
        )
        await audit.record(request, "consult.resident.search", "resident", "", {"q": q})
    elif resident is not None:
        await audit.record(request, "resident.view", "resident", resident.id, {"for": "代理予約"})
    return render(
        request,
        "admin/consult/booking_new.html",
        {
            "q": q,
            "matches": matches,
            "resident": resident,
            "slots": await bookable_slots(request) if resident is not None else [],
            "topics": list(Topic),
            "methods": list(Method),
            "form": form,
            "error": error,
            "note_max": NOTE_MAX,
        },
        status_code=400 if error else 200,
        active="consult_new",
    )


# ---------- CSV export ----------


async def export_rows(filters: BookingFilters) -> AsyncIterator[Sequence[object]]:
    """Rows for the CSV, fetched EXPORT_BATCH at a time by id (keyset: no OFFSET, never
    the whole table in memory)."""
    last_id = 0
    base = filters.apply(Booking.all())
    while True:
        batch = (
            await base.filter(id__gt=last_id)
            .order_by("id")
            .limit(EXPORT_BATCH)
            .values(
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
            )
        )
        if not batch:
            return
        for row in batch:
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
                BOOKED_BY_LABELS.get(row["booked_by"], row["booked_by"]),
                row["created_at"].astimezone(JST).strftime("%Y/%m/%d %H:%M"),
                cancelled.astimezone(JST).strftime("%Y/%m/%d %H:%M") if cancelled else "",
                row["cancel_reason"],
            )
        last_id = batch[-1]["id"]


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


# ---------- Dashboard ----------


async def todays_consultations() -> list[Booking]:
    """Today's (JST) consultations that were not cancelled, by start time."""
    start = jst_datetime(today_jst())
    return (
        await Booking.filter(
            slot__starts_at__gte=start,
            slot__starts_at__lt=start + timedelta(days=1),
            status__in=[BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW],
        )
        .select_related("slot", "resident")
        .order_by("slot__starts_at", "id")
    )


# ---------- Routes ----------


def consult_routes() -> list[BaseRoute]:
    """The 相談予約 pages, to be listed in admin.routes.routes() (all guarded)."""
    # Imported here: admin.routes imports this module to build its list.
    from admin.consult import slots
    from admin.routes import _route

    return [
        _route("/consult/bookings", booking_list, ["GET"], "consult_bookings"),
        _route("/consult/bookings.csv", booking_export, ["GET"], "consult_bookings_csv"),
        _route("/consult/bookings/new", booking_new, ["GET", "POST"], "consult_booking_new"),
        _route("/consult/bookings/{booking_id:int}", booking_detail, ["GET"], "consult_booking"),
        _route(
            "/consult/bookings/{booking_id:int}/cancel",
            booking_cancel,
            ["POST"],
            "consult_booking_cancel",
        ),
        _route(
            "/consult/bookings/{booking_id:int}/mark",
            booking_mark,
            ["POST"],
            "consult_booking_mark",
        ),
        _route("/consult/slots", slots.slot_week, ["GET"], "consult_slots"),
        _route("/consult/slots/new", slots.slot_new, ["GET", "POST"], "consult_slot_new"),
        _route("/consult/slots/bulk", slots.slot_bulk, ["GET", "POST"], "consult_slot_bulk"),
        _route(
            "/consult/slots/{slot_id:int}/edit",
            slots.slot_edit,
            ["GET", "POST"],
            "consult_slot_edit",
        ),
        _route(
            "/consult/slots/{slot_id:int}/delete",
            slots.slot_delete,
            ["GET", "POST"],
            "consult_slot_delete",
        ),
        _route("/consult/closures", slots.closure_list, ["GET", "POST"], "consult_closures"),
        _route(
            "/consult/closures/{closure_id:int}/delete",
            slots.closure_delete,
            ["POST"],
            "consult_closure_delete",
        ),
    ]
