"""A single 相談枠: create, edit and delete it without orphaning its bookings.

The rules (what may change while a slot holds bookings, how it is removed) live in
shima.domain.slots; this module translates forms into calls to them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.consult.booking_new import BOOKABLE_DAYS
from admin.consult.bookings import REASON_MAX, cancel_and_notify, move_and_notify
from admin.consult.week import methods_text, to_week
from admin.errors import error_page, staff_message
from admin.forms import (
    form_text,
    parse_date,
    parse_int,
    parse_time,
    short_text,
    too_long,
    typed_text,
)
from admin.pages import render
from admin.sessions import settings_of
from line_app.notices import consult as consult_notices
from models.consultation import ConsultationSlot, Method
from shima.domain import consultation as rules
from shima.domain import slots
from shima.domain.slots import SlotSpec
from shima.timeutil import JST

# ---------- The slot form (single create and edit) ----------

# Free-text fields with their limits (the templates' maxlength): over-long values come back
# with a message, never cut (admin.forms.too_long).
SLOT_TEXT = {"counsellor": ("担当", 100), "note": ("メモ", 200)}
REASON_TEXT = {"reason": ("理由", REASON_MAX)}


def chosen_methods(form: FormData | Mapping[str, Any]) -> tuple[Method, ...]:
    values = form.getlist("methods") if isinstance(form, FormData) else form.get("methods", [])
    chosen = {v for v in values if isinstance(v, str)} if isinstance(values, list) else set()
    return tuple(m for m in Method if m.value in chosen)


def parse_slot_form(form: FormData) -> tuple[SlotSpec | None, list[str]]:
    errors = too_long(form, SLOT_TEXT)
    day = parse_date(short_text(form, "date", 10))
    start = parse_time(short_text(form, "start", 5))
    end = parse_time(short_text(form, "end", 5))
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
        SlotSpec(
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


async def form_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    errors: list[str],
) -> Response:
    counsellors = await slots.known_counsellors()  # the 担当 field's suggestions
    return render(
        request,
        template,
        {"errors": errors, "all_methods": list(Method), "counsellors": counsellors, **context},
        status_code=400 if errors else 200,
        active="consult_slots",
    )


@staff_required
async def slot_new(request: Request) -> Response:
    if request.method == "GET":
        values = slot_form_values()
        settings = settings_of(request)
        day, start, end = await slots.next_free_hour(
            parse_date(request.query_params.get("date")),
            settings.desk_open_hour,
            settings.desk_close_hour,
        )
        values.update(date=day.isoformat(), start=f"{start:%H:%M}", end=f"{end:%H:%M}")
        return await form_page(request, "admin/consult/slot_form.html", {"values": values}, [])
    form = await request.form()
    data, errors = parse_slot_form(form)
    if data is not None:
        try:
            async with in_transaction():
                slot = await slots.create_slot(data)
                await audit.record(request, "consult.slot.create", "slot", slot.id)
        except slots.SlotRefused as refused:
            errors = refused.problems
        else:
            return to_week(data.day, "created")
    return await form_page(
        request, "admin/consult/slot_form.html", {"values": form_values(form)}, errors
    )


# ---------- Editing and deleting a slot that may hold bookings ----------


async def _slot_or_404(request: Request) -> ConsultationSlot | Response:
    slot = await ConsultationSlot.get_or_none(id=request.path_params["slot_id"], is_active=True)
    if slot is None:
        return error_page(request, 404, title="相談枠が見つかりません")
    return slot


@staff_required
async def slot_edit(request: Request) -> Response:
    slot = await _slot_or_404(request)
    if isinstance(slot, Response):
        return slot
    bookings = await slots.active_bookings(slot.id)
    context: dict[str, Any] = {"slot": slot, "bookings": bookings, "reason_max": REASON_MAX}
    if bookings:
        await audit.record(request, "consult.booking.list", "slot", slot.id, {"for": "枠の編集"})
    if request.method == "GET":
        context["values"] = slot_form_values(slot)
        return await form_page(request, "admin/consult/slot_form.html", context, [])
    form = await request.form()
    context["values"] = form_values(form)
    data, errors = parse_slot_form(form)
    errors += too_long(form, REASON_TEXT)
    action = short_text(form, "booking_action", 16)
    reason = "" if errors else form_text(form, "reason", REASON_MAX)
    if data is not None and not errors:
        errors = await slots.edit_problems(slot, bookings, data, action, reason)
    if errors or data is None:
        return await form_page(request, "admin/consult/slot_form.html", context, errors)
    moved = data.moves(slot)
    cancelling = bool(bookings) and moved and action == slots.CANCEL
    before = ConsultationSlot(
        starts_at=slot.starts_at, ends_at=slot.ends_at, counsellor=slot.counsellor
    )
    try:
        async with in_transaction():
            if cancelling:
                for booking in bookings:
                    await cancel_and_notify(request, booking.id, reason)
            await slots.update_slot(slot, data)
            if bookings and moved and action == slots.NOTIFY:
                await consult_notices.slot_moved(
                    slot.id, before, reason, getattr(request.state, "staff", None)
                )
            await audit.record(
                request,
                "consult.slot.update",
                "slot",
                slot.id,
                {"moved": moved, "bookings": len(bookings), "action": action if moved else ""},
            )
    except slots.SlotRefused as refused:
        return await form_page(request, "admin/consult/slot_form.html", context, refused.problems)
    except (slots.SlotChanged, rules.BookingError):
        errors = ["編集中にこの枠の予約が変わりました。内容を確認して、もう一度保存してください。"]
        context["bookings"] = await slots.active_bookings(slot.id)
        return await form_page(request, "admin/consult/slot_form.html", context, errors)
    blocked = any(not b.resident.is_following for b in bookings) and moved
    return to_week(data.day, "updated_blocked" if blocked else "updated")


@staff_required
async def slot_delete(request: Request) -> Response:
    slot = await _slot_or_404(request)
    if isinstance(slot, Response):
        return slot
    bookings = await slots.active_bookings(slot.id)
    targets = [s for s in await rules.staff_choices(BOOKABLE_DAYS, moving=True) if s.id != slot.id]
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
    action = short_text(form, "booking_action", 16)
    target = parse_int(form.get("target"))
    context["values"] = {
        "booking_action": action,
        "reason": typed_text(form, "reason"),
        "target": target,
    }
    errors = too_long(form, REASON_TEXT)
    reason = "" if errors else form_text(form, "reason", REASON_MAX)
    errors = errors or slots.removal_problems(bookings, action, reason, target)
    if not errors:
        try:
            async with in_transaction():
                for booking in bookings:
                    if action == slots.MOVE and target is not None:
                        await move_and_notify(request, booking, target, reason)
                    else:
                        await cancel_and_notify(request, booking.id, reason)
                await slots.remove_slot(slot)
                await audit.record(
                    request,
                    "consult.slot.delete",
                    "slot",
                    slot.id,
                    {"bookings": len(bookings), "action": action if bookings else ""},
                )
        except rules.BookingError as exc:
            errors.append(f"移動できませんでした: {staff_message(exc)}")
        except slots.SlotChanged:
            errors.append("この枠に新しい予約が入りました。内容を確認してください。")
    if errors:
        context["errors"] = errors
        context["bookings"] = await slots.active_bookings(slot.id)
        return render(
            request,
            "admin/consult/slot_delete.html",
            context,
            status_code=400,
            active="consult_slots",
        )
    blocked = any(not b.resident.is_following for b in bookings)
    return to_week(
        slot.starts_at.astimezone(JST).date(), "deleted_blocked" if blocked else "deleted"
    )
