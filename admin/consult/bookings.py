"""相談予約 bookings in the admin: the list (filters, search, pages), a booking's detail with
the resident's history and its move history, and staff actions (cancel with a reason, move
to another slot, 来所済み / 無断キャンセル after a confirmation, and their undo).

The rules live in shima.domain.consultation and the resident notices in
line_app.notices.consult; this module translates forms into calls to them. Every view of
booking data and every change is recorded in the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import flash, form_text, parse_date_range, parse_int, too_long
from admin.listing import paginate
from admin.pages import render
from admin.sessions import settings_of
from line_app.notices import consult as consult_notices
from models.consultation import Booking, BookingMove, BookingStatus, ConsultationSlot, Topic
from models.residents import Resident
from shima.domain import consultation as rules
from shima.timeutil import jst_datetime, today_jst

LIST_PATH = "/admin/consult/bookings"
EXPORT_BATCH = 1000  # rows fetched per query while streaming the CSV (keyset on id)
HISTORY_LIMIT = 50
RESIDENT_SEARCH_LIMIT = 20
BOOKABLE_DAYS = 60  # 代理予約 offers free slots this far ahead
REASON_MAX = 300
NOTE_MAX = 500

# Outcome codes in redirects; only these fixed texts are ever shown (nothing reflected).
# A resident who blocked the account (Resident.is_following False) gets no LINE notice:
# the staff action then says so instead of 「お知らせしました」.
NOT_DELIVERED = (
    "利用者は LINE をブロック中のため、お知らせは届きません（電話などでお伝えください）。"
)
OUTCOMES: dict[str, tuple[str, str]] = {
    "cancelled": ("success", "予約をキャンセルし、利用者に LINE でお知らせしました。"),
    "cancelled_blocked": ("warning", "予約をキャンセルしました。" + NOT_DELIVERED),
    "moved": ("success", "予約の日時を変更し、利用者に LINE でお知らせしました。"),
    "moved_blocked": ("warning", "予約の日時を変更しました。" + NOT_DELIVERED),
    "attended": ("success", "来所済みにしました。間違えたときは「予約済みに戻す」で取り消せます。"),
    "no_show": (
        "success",
        "無断キャンセルとして記録しました。間違えたときは「予約済みに戻す」で取り消せます。",
    ),
    "booked": ("success", "予約済みに戻しました。"),
    "created": ("success", "代理予約を登録し、利用者に LINE でお知らせしました。"),
    "created_blocked": ("warning", "代理予約を登録しました。" + NOT_DELIVERED),
    "too_early": ("warning", "来所済み・無断キャンセルは、相談の開始時刻から記録できます。"),
    "stale": ("warning", "この予約はすでにキャンセルされているため、変更できません。"),
}
MARK_QUESTIONS = {
    BookingStatus.ATTENDED: "この予約を「来所済み」にします。よろしいですか？",
    BookingStatus.NO_SHOW: "この予約を「無断キャンセル」として記録します。よろしいですか？",
}


def delivered(outcome: str, resident: Resident) -> str:
    """The outcome code for a staff action that told `resident` on LINE."""
    return outcome if resident.is_following else f"{outcome}_blocked"


# ---------- Filters shared by the list and the CSV export ----------


@dataclass(frozen=True)
class BookingFilters:
    date_from: date | None = None
    date_to: date | None = None
    status: BookingStatus | None = None
    topic: Topic | None = None
    counsellor: str = ""
    q: str = ""
    # What was wrong with the typed dates, in Japanese (a malformed date is not used).
    problems: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> BookingFilters:
        status = params.get("status", "")
        topic = params.get("topic", "")
        dates = parse_date_range(params, what="相談日")
        return cls(
            date_from=dates.start,
            date_to=dates.end,
            problems=dates.problems,
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


@dataclass(frozen=True)
class ScreenOrder:
    """The order of the list and of its CSV: consultations from today (JST) on, soonest
    first, then the earlier ones, most recent first. Each part is one index-ordered query
    on slots.starts_at (see SLOT_TIME_FLOOR)."""

    upcoming: QuerySet[Booking]  # ascending
    past: QuerySet[Booking]  # descending
    boundary: datetime  # the start of today, JST

    @classmethod
    def of(cls, bookings: QuerySet[Booking]) -> ScreenOrder:
        boundary = jst_datetime(today_jst())
        return cls(
            upcoming=bookings.filter(slot__starts_at__gte=boundary).order_by(
                "slot__starts_at", "id"
            ),
            past=bookings.filter(
                slot__starts_at__gte=SLOT_TIME_FLOOR, slot__starts_at__lt=boundary
            ).order_by("-slot__starts_at", "-id"),
            boundary=boundary,
        )

    async def page_ids(self, offset: int, limit: int) -> tuple[list[int], int]:
        """The ids at [offset, offset + limit) of upcoming-then-past, and how many of them
        are upcoming."""
        ids = [
            int(str(i))
            for i in await self.upcoming.offset(offset).limit(limit).values_list("id", flat=True)
        ]
        if len(ids) == limit:  # all upcoming: no count needed
            return ids, len(ids)
        # Where the upcoming part ends: known from a short page, else counted.
        known = ids or offset == 0
        upcoming_total = offset + len(ids) if known else await self.upcoming.count()
        upcoming_here = len(ids)
        if len(ids) < limit:
            rest = await (
                self.past.offset(max(0, offset - upcoming_total))
                .limit(limit - len(ids))
                .values_list("id", flat=True)
            )
            ids += [int(str(i)) for i in rest]
        return ids, upcoming_here


async def counsellors() -> list[str]:
    names = (
        await ConsultationSlot.exclude(counsellor="")
        .distinct()
        .values_list("counsellor", flat=True)
    )
    return sorted({str(n) for n in names})


# ---------- Actions with their resident notices (one transaction each) ----------


async def cancel_and_notify(request: Request, booking_id: int, reason: str) -> Booking:
    """Cancel by staff with the resident's notice, and audit. Call inside a transaction,
    so the three happen together or not at all."""
    booking = await consult_notices.cancel_by_staff(booking_id, reason)
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
) -> BookingMove:
    """Move a booking to another slot (the same booking row, with a history line; the rules
    check the target's capacity, closed day and time as for any booking), tell the resident,
    and audit. Call inside a transaction; raises BookingError when the target cannot take
    it."""
    move = await consult_notices.move_by_staff(
        booking.id,
        target_slot_id,
        reason[:REASON_MAX],
        settings_of(request),
        getattr(request.state, "staff", None),
    )
    await audit.record(
        request,
        "consult.booking.move",
        "booking",
        booking.id,
        {"from_slot": move.from_slot_id, "to_slot": move.to_slot_id, "reason": move.reason},
    )
    return move


# ---------- Pages ----------


@staff_required
async def booking_list(request: Request) -> Response:
    filters = BookingFilters.from_query(request.query_params)
    bookings = filters.apply(Booking.all())
    page = paginate(request, await bookings.count())
    # Two steps: the page's ids from narrow, index-ordered queries, then those rows whole.
    ids, upcoming_here = await ScreenOrder.of(bookings).page_ids(page.offset, page.per_page)
    by_id = {b.id: b for b in await Booking.filter(id__in=ids).select_related("slot", "resident")}
    rows = [by_id[i] for i in ids if i in by_id]
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
            "upcoming_here": upcoming_here,  # rows before it are from today on
            "filters": filters,
            "statuses": list(BookingStatus),
            "topics": list(Topic),
            "counsellors": await counsellors(),
            "export_url": f"{LIST_PATH}.csv"
            + (f"?{filters.query_string()}" if filters.params() else ""),
            "today": today_jst(),
            "page": page,
            "outcome": flash(request, OUTCOMES),
        },
        active="consult",
    )


async def _detail_page(
    request: Request,
    booking: Booking,
    *,
    error: str = "",
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    history = (
        await Booking.filter(resident_id=booking.resident_id)
        .exclude(id=booking.id)
        .select_related("slot")
        .order_by("-slot__starts_at", "-id")
        .limit(HISTORY_LIMIT)
    )
    return render(
        request,
        "admin/consult/booking_detail.html",
        {
            "booking": booking,
            "history": history,
            "moves": await rules.moves_of(booking.id),
            "markable": rules.markable(booking),
            "movable": rules.movable(booking),
            "targets": (
                [
                    s
                    for s in await rules.staff_choices(BOOKABLE_DAYS, moving=True)
                    if s.id != booking.slot_id
                ]
                if rules.movable(booking)
                else []
            ),
            "outcome": flash(request, OUTCOMES),
            "error": error,
            "values": values or {},
            "reason_max": REASON_MAX,
        },
        status_code=status_code,
        active="consult",
    )


async def _booking_or_404(request: Request) -> Booking | Response:
    booking = await Booking.get_or_none(id=request.path_params["booking_id"]).select_related(
        "slot", "resident"
    )
    if booking is None:
        return error_page(request, 404, title="予約が見つかりません")
    return booking


@staff_required
async def booking_detail(request: Request) -> Response:
    booking = await _booking_or_404(request)
    if isinstance(booking, Response):
        return booking
    await audit.record(request, "consult.booking.view", "booking", booking.id)
    return await _detail_page(request, booking)


def to_detail(booking_id: int, outcome: str) -> Response:
    return RedirectResponse(f"{LIST_PATH}/{booking_id}?done={outcome}", status_code=303)


@staff_required
async def booking_cancel(request: Request) -> Response:
    booking = await _booking_or_404(request)
    if isinstance(booking, Response):
        return booking
    form = await request.form()
    typed = form.get("reason")
    over = too_long(form, {"reason": ("キャンセル理由", REASON_MAX)})
    reason = "" if over else form_text(form, "reason", REASON_MAX)
    if not reason:
        # The form comes back with what was typed (whitespace only counts as nothing).
        return await _detail_page(
            request,
            booking,
            error=over[0]
            if over
            else "キャンセル理由を入力してください。理由は利用者への LINE のお知らせに載ります。",
            values={"reason": typed if isinstance(typed, str) else ""},
            status_code=400,
        )
    try:
        async with in_transaction():
            await cancel_and_notify(request, booking.id, reason)
    except rules.BookingError:
        return to_detail(booking.id, "stale")
    return to_detail(booking.id, delivered("cancelled", booking.resident))


@staff_required
async def booking_move(request: Request) -> Response:
    """Move one booking to another slot (the same booking; the resident is told)."""
    booking = await _booking_or_404(request)
    if isinstance(booking, Response):
        return booking
    form = await request.form()
    target = parse_int(form.get("target"))
    reason = form_text(form, "reason", REASON_MAX)
    values = {"target": str(target or ""), "move_reason": reason}
    error = ""
    if target is None:
        error = "変更先の相談枠を選んでください。"
    elif not reason:
        error = "変更の理由を入力してください。理由は利用者への LINE のお知らせに載ります。"
    else:
        try:
            async with in_transaction():
                await move_and_notify(request, booking, target, reason)
        except rules.BookingError as exc:
            error = f"日時を変更できませんでした: {exc.message}"
        else:
            return to_detail(booking.id, delivered("moved", booking.resident))
    fresh = await _booking_or_404(request)
    if isinstance(fresh, Response):
        return fresh
    return await _detail_page(request, fresh, error=error, values=values, status_code=400)


@staff_required
async def booking_mark(request: Request) -> Response:
    """来所済み / 無断キャンセル after a confirmation step (the form comes back with the
    question until `confirm` is sent), only from the slot's start; 予約済みに戻す undoes
    it. Each change is audited."""
    booking = await _booking_or_404(request)
    if isinstance(booking, Response):
        return booking
    form = await request.form()
    value = form_text(form, "status", 16)
    allowed = {BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.BOOKED}
    if value not in allowed:
        return error_page(request, 400)
    status = BookingStatus(value)
    if status != BookingStatus.BOOKED:
        if booking.status == BookingStatus.CANCELLED:
            return to_detail(booking.id, "stale")
        if not rules.markable(booking):
            return to_detail(booking.id, "too_early")
        if form_text(form, "confirm", 3) != "yes":
            return render(
                request,
                "admin/consult/booking_mark.html",
                {"booking": booking, "status": status, "question": MARK_QUESTIONS[status]},
                active="consult",
            )
    previous = booking.status
    if status == previous:
        return to_detail(booking.id, value)
    try:
        async with in_transaction():
            await rules.mark(booking.id, status)
            await audit.record(
                request,
                "consult.booking.unmark"
                if status == BookingStatus.BOOKED
                else "consult.booking.mark",
                "booking",
                booking.id,
                {"status": value, "from": previous.value},
            )
    except rules.TooEarly:
        return to_detail(booking.id, "too_early")
    except rules.BookingError:
        return to_detail(booking.id, "stale")
    return to_detail(booking.id, value)
