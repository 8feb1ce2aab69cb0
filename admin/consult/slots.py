"""相談枠 and 休館日 in the admin: the week view, creating slots singly or in bulk from a
weekly pattern (closed days and identical slots skipped), editing and deleting a slot without
orphaning its bookings, and the centre's closures.

Seats are counted by shima.domain.consultation (booked_count is never written here except through
its rules); closed days come from shima.domain.calendar.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.consult.bookings import (
    REASON_MAX,
    bookable_slots,
    cancel_and_notify,
    form_text,
    move_and_notify,
    parse_date,
    parse_int,
    parse_time,
)
from admin.errors import error_page
from admin.pages import render
from line_app.flows.consult_cards import when
from line_app.notices.consult import notify_staff_change
from models.consultation import Booking, BookingStatus, Closure, ConsultationSlot, Method
from shima.domain import consultation as rules
from shima.domain.calendar import closed_days, holiday_name
from shima.timeutil import JST, WEEKDAYS_JA, jst_datetime, short_date, today_jst

SLOTS_PATH = "/admin/consult/slots"
CLOSURES_PATH = "/admin/consult/closures"
MAX_BULK_DAYS = 366
MAX_BULK_SLOTS = 3000
DURATIONS = (15, 20, 30, 45, 60, 90, 120)  # minutes offered for the weekly pattern
NOT_CANCELLED = (BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)

OUTCOMES: dict[str, tuple[str, str]] = {
    "created": ("success", "相談枠を作成しました。"),
    "updated": ("success", "相談枠を更新しました。"),
    "deleted": ("success", "相談枠を削除しました。"),
    "closure_added": ("success", "休館日を登録しました。"),
    "closure_deleted": ("success", "休館日を削除しました。"),
}


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
    monday = week_start(parse_date(request.query_params.get("week")) or today_jst())
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
            "outcome": OUTCOMES.get(request.query_params.get("done", "")),
            "slot_count": len(slots),
        },
        active="consult_slots",
    )


def _to_week(day: date, outcome: str) -> Response:
    query = urlencode({"week": week_start(day).isoformat(), "done": outcome})
    return RedirectResponse(f"{SLOTS_PATH}?{query}", status_code=303)


# ---------- The slot form (single create and edit) ----------


@dataclass(frozen=True)
class SlotInput:
    day: date
    start: time
    end: time
    counsellor: str
    methods: tuple[Method, ...]
    capacity: int
    note: str

    @property
    def starts_at(self) -> datetime:
        return jst_datetime(self.day, self.start)

    @property
    def ends_at(self) -> datetime:
        return jst_datetime(self.day, self.end)

    @property
    def methods_value(self) -> str:
        return ",".join(m.value for m in self.methods)

    def columns(self) -> dict[str, Any]:
        """The slot's stored fields, for create and update alike."""
        return {
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "counsellor": self.counsellor,
            "methods": self.methods_value,
            "capacity": self.capacity,
            "note": self.note,
        }


def chosen_methods(form: FormData | Mapping[str, Any]) -> tuple[Method, ...]:
    values = form.getlist("methods") if isinstance(form, FormData) else form.get("methods", [])
    chosen = {v for v in values if isinstance(v, str)} if isinstance(values, list) else set()
    return tuple(m for m in Method if m.value in chosen)


def parse_slot_form(form: FormData) -> tuple[SlotInput | None, list[str]]:
    errors = []
    day = parse_date(form_text(form, "date", 10))
    start = parse_time(form_text(form, "start", 5))
    end = parse_time(form_text(form, "end", 5))
    capacity = parse_int(form.get("capacity"), None)
    methods = chosen_methods(form)
    if day is None:
        errors.append("日付を入力してください。")
    if start is None or end is None:
        errors.append("開始時刻と終了時刻を入力してください。")
    elif end <= start:
        errors.append("終了時刻は開始時刻より後にしてください。")
    if not methods:
        errors.append("相談方法を1つ以上選んでください。")
    if capacity is None or not 1 <= capacity <= 50:
        errors.append("定員は1〜50の数で入力してください。")
    if errors or day is None or start is None or end is None or capacity is None:
        return None, errors
    return (
        SlotInput(
            day=day,
            start=start,
            end=end,
            counsellor=form_text(form, "counsellor", 100),
            methods=methods,
            capacity=capacity,
            note=form_text(form, "note", 200),
        ),
        [],
    )


def slot_form_values(slot: ConsultationSlot | None = None) -> dict[str, Any]:
    if slot is None:
        return {
            "date": "",
            "start": "10:00",
            "end": "11:00",
            "counsellor": "",
            "methods": [m.value for m in Method],
            "capacity": "1",
            "note": "",
        }
    starts, ends = slot.starts_at.astimezone(JST), slot.ends_at.astimezone(JST)
    return {
        "date": starts.date().isoformat(),
        "start": starts.strftime("%H:%M"),
        "end": ends.strftime("%H:%M"),
        "counsellor": slot.counsellor,
        "methods": slot.methods.split(","),
        "capacity": str(slot.capacity),
        "note": slot.note,
    }


def form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values["methods"] = form.getlist("methods")
    values["weekdays"] = form.getlist("weekdays")
    return values


async def closed_reason(day: date) -> str | None:
    return (await closed_days(day, day)).get(day)


def _form_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    errors: list[str],
) -> Response:
    return render(
        request,
        template,
        {"errors": errors, "all_methods": list(Method), **context},
        status_code=400 if errors else 200,
        active="consult_slots",
    )


@staff_required
async def slot_new(request: Request) -> Response:
    if request.method == "GET":
        values = slot_form_values()
        values["date"] = (parse_date(request.query_params.get("date")) or today_jst()).isoformat()
        return _form_page(request, "admin/consult/slot_form.html", {"values": values}, [])
    form = await request.form()
    data, errors = parse_slot_form(form)
    if data is not None:
        reason = await closed_reason(data.day)
        if reason:
            errors.append(
                f"{short_date(data.day)}は休館日（{reason}）です。別の日を選んでください。"
            )
        elif await ConsultationSlot.exists(
            is_active=True,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            counsellor=data.counsellor,
        ):
            errors.append("同じ日時・担当の相談枠がすでにあります。")
    if errors or data is None:
        return _form_page(
            request, "admin/consult/slot_form.html", {"values": form_values(form)}, errors
        )
    async with in_transaction():
        slot = await ConsultationSlot.create(**data.columns())
        await audit.record(request, "consult.slot.create", "slot", slot.id)
    return _to_week(data.day, "created")


# ---------- Bulk creation from a weekly pattern ----------


@dataclass
class BulkResult:
    created: int = 0
    duplicates: int = 0
    skipped: list[tuple[date, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        text = f"{self.created}件作成、{len(self.skipped)}日スキップ"
        if self.skipped:
            reasons = "、".join(f"{short_date(d)} {r}" for d, r in self.skipped)
            text += f"（{reasons}）"
        if self.duplicates:
            text += f"。同じ枠がすでにあったため {self.duplicates}件は作成しませんでした"
        return text + "。"


def parse_bulk_form(form: FormData) -> tuple[dict[str, Any] | None, list[str]]:
    errors = []
    first = parse_date(form_text(form, "date_from", 10))
    last = parse_date(form_text(form, "date_to", 10))
    weekdays = {int(v) for v in form.getlist("weekdays") if v in {str(i) for i in range(7)}}
    start = parse_time(form_text(form, "start", 5))
    end = parse_time(form_text(form, "end", 5))
    minutes = parse_int(form.get("duration"), None)
    capacity = parse_int(form.get("capacity"), None)
    methods = chosen_methods(form)
    if first is None or last is None:
        errors.append("期間（開始日と終了日）を入力してください。")
    elif last < first:
        errors.append("終了日は開始日以降にしてください。")
    elif (last - first).days >= MAX_BULK_DAYS:
        errors.append("一度に作成できる期間は1年までです。")
    if not weekdays:
        errors.append("曜日を1つ以上選んでください。")
    if start is None or end is None:
        errors.append("開始時刻と終了時刻を入力してください。")
    elif end <= start:
        errors.append("終了時刻は開始時刻より後にしてください。")
    if minutes not in DURATIONS:
        errors.append("1枠の長さを選んでください。")
    if not methods:
        errors.append("相談方法を1つ以上選んでください。")
    if capacity is None or not 1 <= capacity <= 50:
        errors.append("定員は1〜50の数で入力してください。")
    if errors:
        return None, errors
    return {
        "first": first,
        "last": last,
        "weekdays": weekdays,
        "start": start,
        "end": end,
        "minutes": minutes,
        "capacity": capacity,
        "methods": ",".join(m.value for m in methods),
        "counsellor": form_text(form, "counsellor", 100),
        "note": form_text(form, "note", 200),
    }, []


def pattern_times(
    day: date, start: time, end: time, minutes: int
) -> list[tuple[datetime, datetime]]:
    times = []
    at = datetime.combine(day, start, tzinfo=JST)
    stop = datetime.combine(day, end, tzinfo=JST)
    step = timedelta(minutes=minutes)
    while at + step <= stop:
        times.append((at.astimezone(UTC), (at + step).astimezone(UTC)))
        at += step
    return times


async def create_from_pattern(p: dict[str, Any]) -> tuple[BulkResult, list[ConsultationSlot]]:
    """Plan the slots of a weekly pattern: closed days and identical slots are skipped."""
    first: date = p["first"]
    last: date = p["last"]
    result = BulkResult()
    closed = await closed_days(first, last)
    existing = {
        (s.starts_at, s.ends_at, s.counsellor)
        for s in await ConsultationSlot.filter(
            is_active=True,
            starts_at__gte=jst_datetime(first),
            starts_at__lt=jst_datetime(last + timedelta(days=1)),
        )
    }
    planned: list[ConsultationSlot] = []
    day = first
    while day <= last:
        if day.weekday() in p["weekdays"]:
            if day in closed:
                result.skipped.append((day, closed[day]))
            else:
                for starts_at, ends_at in pattern_times(day, p["start"], p["end"], p["minutes"]):
                    if (starts_at, ends_at, p["counsellor"]) in existing:
                        result.duplicates += 1
                        continue
                    planned.append(
                        ConsultationSlot(
                            starts_at=starts_at,
                            ends_at=ends_at,
                            counsellor=p["counsellor"],
                            methods=p["methods"],
                            capacity=p["capacity"],
                            note=p["note"],
                        )
                    )
        day += timedelta(days=1)
    result.created = len(planned)
    return result, planned


def bulk_defaults() -> dict[str, Any]:
    today = today_jst()
    return {
        "date_from": today.isoformat(),
        "date_to": (today + timedelta(days=27)).isoformat(),
        "weekdays": ["1", "3"],  # 火・木, the centre's usual consultation days
        "start": "10:00",
        "end": "16:00",
        "duration": "60",
        "counsellor": "",
        "methods": [m.value for m in Method],
        "capacity": "1",
        "note": "",
    }


@staff_required
async def slot_bulk(request: Request) -> Response:
    context: dict[str, Any] = {
        "weekdays": list(enumerate(WEEKDAYS_JA)),
        "durations": DURATIONS,
        "result": None,
    }
    if request.method == "GET":
        context["values"] = bulk_defaults()
        return _form_page(request, "admin/consult/slot_bulk.html", context, [])
    form = await request.form()
    context["values"] = form_values(form)
    pattern, errors = parse_bulk_form(form)
    if pattern is None:
        return _form_page(request, "admin/consult/slot_bulk.html", context, errors)
    result, planned = await create_from_pattern(pattern)
    if len(planned) > MAX_BULK_SLOTS:
        errors = [f"一度に作成できるのは{MAX_BULK_SLOTS}枠までです。期間を短くしてください。"]
        return _form_page(request, "admin/consult/slot_bulk.html", context, errors)
    async with in_transaction():
        if planned:
            await ConsultationSlot.bulk_create(planned, batch_size=500)
        await audit.record(
            request,
            "consult.slot.bulk_create",
            "slot",
            "",
            {
                "from": pattern["first"].isoformat(),
                "to": pattern["last"].isoformat(),
                "created": result.created,
                "skipped_days": len(result.skipped),
                "duplicates": result.duplicates,
            },
        )
    context["result"] = result
    context["week"] = week_start(pattern["first"]).isoformat()
    return _form_page(request, "admin/consult/slot_bulk.html", context, [])


# ---------- Editing and deleting a slot that may hold bookings ----------


async def active_bookings(slot_id: int) -> list[Booking]:
    return (
        await Booking.filter(slot_id=slot_id, status=BookingStatus.BOOKED)
        .select_related("resident")
        .order_by("id")
    )


async def _slot_or_404(request: Request) -> ConsultationSlot | Response:
    slot = await ConsultationSlot.get_or_none(id=request.path_params["slot_id"], is_active=True)
    if slot is None:
        return error_page(request, 404, title="相談枠が見つかりません")
    return slot


class SlotChanged(Exception):
    """Someone booked the slot while staff were editing it."""


@staff_required
async def slot_edit(request: Request) -> Response:
    slot = await _slot_or_404(request)
    if isinstance(slot, Response):
        return slot
    bookings = await active_bookings(slot.id)
    context: dict[str, Any] = {"slot": slot, "bookings": bookings, "reason_max": REASON_MAX}
    if bookings:
        await audit.record(request, "consult.booking.list", "slot", slot.id, {"for": "枠の編集"})
    if request.method == "GET":
        context["values"] = slot_form_values(slot)
        return _form_page(request, "admin/consult/slot_form.html", context, [])
    form = await request.form()
    context["values"] = form_values(form)
    data, errors = parse_slot_form(form)
    action = form_text(form, "booking_action", 16)
    reason = form_text(form, "reason", REASON_MAX)
    moved = data is not None and (data.starts_at, data.ends_at) != (slot.starts_at, slot.ends_at)
    cancelling = bool(bookings) and moved and action == "cancel"
    if data is not None:
        if moved and (closed := await closed_reason(data.day)):
            errors.append(f"{short_date(data.day)}は休館日（{closed}）です。")
        if not cancelling:
            if len(bookings) > data.capacity:
                errors.append(f"予約が{len(bookings)}件あるため、定員はそれより少なくできません。")
            missing = {Method(b.method) for b in bookings} - set(data.methods)
            if missing:
                labels = "・".join(m.label for m in missing)
                errors.append(f"予約で選ばれている相談方法（{labels}）は外せません。")
        if bookings and moved:
            if action not in {"notify", "cancel"}:
                errors.append("日時を変えるときは、入っている予約の扱いを選んでください。")
            elif not reason:
                errors.append("利用者にお知らせする理由を入力してください。")
    if errors or data is None:
        return _form_page(request, "admin/consult/slot_form.html", context, errors)
    before = when(slot)
    try:
        async with in_transaction():
            if cancelling:
                for booking in bookings:
                    await cancel_and_notify(request, booking.id, reason)
            # Conditional: a booking that arrived meanwhile must still fit.
            changed = await ConsultationSlot.filter(
                id=slot.id, is_active=True, booked_count__lte=data.capacity
            ).update(**data.columns())
            if changed != 1:
                raise SlotChanged
            if bookings and moved and action == "notify":
                await rules.slot_rescheduled(slot.id)
                for booking in bookings:
                    await notify_staff_change(booking, before, reason)
            await audit.record(
                request,
                "consult.slot.update",
                "slot",
                slot.id,
                {"moved": moved, "bookings": len(bookings), "action": action if moved else ""},
            )
    except (SlotChanged, rules.BookingError):
        errors = ["編集中にこの枠の予約が変わりました。内容を確認して、もう一度保存してください。"]
        context["bookings"] = await active_bookings(slot.id)
        return _form_page(request, "admin/consult/slot_form.html", context, errors)
    return _to_week(data.day, "updated")


@staff_required
async def slot_delete(request: Request) -> Response:
    slot = await _slot_or_404(request)
    if isinstance(slot, Response):
        return slot
    bookings = await active_bookings(slot.id)
    targets = [s for s in await bookable_slots(request) if s.id != slot.id]
    context: dict[str, Any] = {
        "slot": slot,
        "bookings": bookings,
        "targets": targets,
        "methods_text": methods_text,
        "reason_max": REASON_MAX,
        "values": {},
        "errors": [],
    }
    if bookings:
        await audit.record(request, "consult.booking.list", "slot", slot.id, {"for": "枠の削除"})
    if request.method == "GET":
        return render(request, "admin/consult/slot_delete.html", context, active="consult_slots")
    form = await request.form()
    action = form_text(form, "booking_action", 16)
    reason = form_text(form, "reason", REASON_MAX)
    target = parse_int(form.get("target"))
    context["values"] = {"booking_action": action, "reason": reason, "target": target}
    errors = []
    if bookings:
        if action not in {"cancel", "move"}:
            errors.append("入っている予約の扱いを選んでください。")
        elif not reason:
            errors.append("利用者にお知らせする理由を入力してください。")
        elif action == "move" and target is None:
            errors.append("移動先の相談枠を選んでください。")
    if not errors:
        try:
            async with in_transaction():
                for booking in bookings:
                    if action == "move" and target is not None:
                        await move_and_notify(request, booking, target, reason)
                    else:
                        await cancel_and_notify(request, booking.id, reason)
                await _remove_slot(slot)
                await audit.record(
                    request,
                    "consult.slot.delete",
                    "slot",
                    slot.id,
                    {"bookings": len(bookings), "action": action if bookings else ""},
                )
        except rules.BookingError as exc:
            errors.append(f"移動できませんでした: {exc.message}")
        except SlotChanged:
            errors.append("この枠に新しい予約が入りました。内容を確認してください。")
    if errors:
        context["errors"] = errors
        context["bookings"] = await active_bookings(slot.id)
        return render(
            request,
            "admin/consult/slot_delete.html",
            context,
            status_code=400,
            active="consult_slots",
        )
    return _to_week(slot.starts_at.astimezone(JST).date(), "deleted")


async def _remove_slot(slot: ConsultationSlot) -> None:
    """Delete a slot nobody ever booked; keep (deactivated) one with booking history."""
    if await Booking.exists(slot_id=slot.id):
        removed = await ConsultationSlot.filter(id=slot.id, booked_count=0).update(is_active=False)
    else:
        removed = await ConsultationSlot.filter(id=slot.id, booked_count=0).delete()
    if removed != 1:
        raise SlotChanged


# ---------- Closures ----------


@staff_required
async def closure_list(request: Request) -> Response:
    errors: list[str] = []
    values: dict[str, str] = {"date": "", "reason": ""}
    warning = ""
    if request.method == "POST":
        form = await request.form()
        day = parse_date(form_text(form, "date", 10))
        reason = form_text(form, "reason", 100)
        values = {"date": form_text(form, "date", 10), "reason": reason}
        if day is None:
            errors.append("日付を入力してください。")
        if not reason:
            errors.append("理由を入力してください（例：施設点検）。")
        if day is not None and reason:
            try:
                async with in_transaction():
                    closure = await Closure.create(date=day, reason=reason)
                    await audit.record(
                        request,
                        "consult.closure.create",
                        "closure",
                        closure.id,
                        {"date": day.isoformat(), "reason": reason},
                    )
            except IntegrityError:
                errors.append(f"{short_date(day)}はすでに休館日として登録されています。")
            else:
                booked = await Booking.filter(
                    status=BookingStatus.BOOKED,
                    slot__starts_at__gte=jst_datetime(day),
                    slot__starts_at__lt=jst_datetime(day + timedelta(days=1)),
                ).count()
                query = {"done": "closure_added"}
                if booked:
                    query["booked_on"] = day.isoformat()
                return RedirectResponse(f"{CLOSURES_PATH}?{urlencode(query)}", status_code=303)
    booked_on = parse_date(request.query_params.get("booked_on"))
    if booked_on:
        warning = booked_on.isoformat()
    today = today_jst()
    closures = await Closure.filter(date__gte=today - timedelta(days=90)).order_by("date")
    return render(
        request,
        "admin/consult/closures.html",
        {
            "closures": closures,
            "values": values,
            "errors": errors,
            "warning_day": warning,
            "today": today,
            "day_label": short_date,
            "holiday_name": holiday_name,
            "outcome": OUTCOMES.get(request.query_params.get("done", "")),
        },
        status_code=400 if errors else 200,
        active="consult_closures",
    )


@staff_required
async def closure_delete(request: Request) -> Response:
    closure = await Closure.get_or_none(id=request.path_params["closure_id"])
    if closure is None:
        return RedirectResponse(CLOSURES_PATH, status_code=303)
    async with in_transaction():
        await Closure.filter(id=closure.id).delete()
        await audit.record(
            request,
            "consult.closure.delete",
            "closure",
            closure.id,
            {"date": closure.date.isoformat(), "reason": closure.reason},
        )
    return RedirectResponse(f"{CLOSURES_PATH}?done=closure_deleted", status_code=303)
