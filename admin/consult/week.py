"""The week of 相談枠: each day's slots with their bookings, closed days marked."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin import audit
from admin.auth import staff_required
from admin.forms import flash, parse_date
from admin.pages import render
from models.consultation import Booking, BookingStatus, ConsultationSlot, Method
from shima.domain.calendar import closed_days
from shima.timeutil import JST, jst_datetime, short_date, today_jst

SLOTS_PATH = "/admin/consult/slots"
NOT_CANCELLED = (BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
OUTCOMES: dict[str, tuple[str, str]] = {
    "created": ("success", "相談枠を作成しました。"),
    "updated": ("success", "相談枠を更新しました。"),
    "deleted": ("success", "相談枠を削除しました。"),
    "updated_blocked": (
        "warning",
        "相談枠を更新しました。LINE をブロック中の利用者にはお知らせが届きません。",
    ),
    "deleted_blocked": (
        "warning",
        "相談枠を削除しました。LINE をブロック中の利用者にはお知らせが届きません。",
    ),
}
BAD_WEEK = ("warning", "指定された週の日付が正しくないため、今週を表示しています。")


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def methods_text(methods: str) -> str:
    return "・".join(Method(m).label for m in methods.split(",") if m in Method._value2member_map_)


# ---------- Week view ----------


@dataclass
class SlotView:
    slot: ConsultationSlot
    bookings: list[Booking] = field(default_factory=list)

    @property
    def free(self) -> int:
        return max(0, self.slot.capacity - self.slot.booked_count)


@dataclass
class DayView:
    day: date
    closed: str | None
    slots: list[SlotView] = field(default_factory=list)

    @property
    def label(self) -> str:
        return short_date(self.day)


@staff_required
async def slot_week(request: Request) -> Response:
    asked = request.query_params.get("week")
    day = parse_date(asked)
    monday = week_start(day or today_jst())
    # A week that is not a date (or far outside 2000–2099) shows this week, and says so.
    outcome = flash(request, OUTCOMES) if day or not asked else BAD_WEEK
    start, end = jst_datetime(monday), jst_datetime(monday + timedelta(days=7))
    slots = await ConsultationSlot.filter(
        is_active=True, starts_at__gte=start, starts_at__lt=end
    ).order_by("starts_at", "id")
    bookings: dict[int, list[Booking]] = defaultdict(list)
    if slots:
        for booking in (
            await Booking.filter(slot_id__in=[s.id for s in slots], status__in=NOT_CANCELLED)
            .select_related("resident")
            .order_by("id")
        ):
            bookings[booking.slot_id].append(booking)
    closed = await closed_days(monday, monday + timedelta(days=6))
    days = [
        DayView(monday + timedelta(days=i), closed.get(monday + timedelta(days=i)))
        for i in range(7)
    ]
    for slot in slots:
        local = slot.starts_at.astimezone(JST).date()
        days[(local - monday).days].slots.append(SlotView(slot, bookings[slot.id]))
    await audit.record(request, "consult.slot.week", "slot", "", {"week": monday.isoformat()})
    return render(
        request,
        "admin/consult/slots_week.html",
        {
            "days": days,
            "monday": monday,
            "sunday": monday + timedelta(days=6),
            "prev_week": (monday - timedelta(days=7)).isoformat(),
            "next_week": (monday + timedelta(days=7)).isoformat(),
            "this_week": week_start(today_jst()).isoformat(),
            "today": today_jst(),
            "methods_text": methods_text,
            "outcome": outcome,
            "slot_count": len(slots),
        },
        active="consult_slots",
    )


def to_week(day: date, outcome: str) -> Response:
    query = urlencode({"week": week_start(day).isoformat(), "done": outcome})
    return RedirectResponse(f"{SLOTS_PATH}?{query}", status_code=303)
