"""休館日: the centre's closures (dates no slot is offered on)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.forms import flash, form_text, parse_date, short_text, too_long, typed_text
from admin.pages import render
from models.consultation import Closure
from shima.domain import calendar
from shima.domain.calendar import holiday_name
from shima.timeutil import short_date, today_jst

CLOSURES_PATH = "/admin/consult/closures"
REASON_MAX = 100
OUTCOMES: dict[str, tuple[str, str]] = {
    "closure_added": ("success", "休館日を登録しました。"),
    "closure_deleted": ("success", "休館日を削除しました。"),
}
# ---------- Closures ----------


@staff_required
async def closure_list(request: Request) -> Response:
    errors: list[str] = []
    values: dict[str, str] = {"date": "", "reason": ""}
    warning = ""
    if request.method == "POST":
        form = await request.form()
        day = parse_date(short_text(form, "date", 10))
        values = {"date": short_text(form, "date", 10), "reason": typed_text(form, "reason")}
        errors = too_long(form, {"reason": ("理由", REASON_MAX)})
        reason = "" if errors else form_text(form, "reason", REASON_MAX)
        if day is None:
            errors.append("日付を入力してください。")
        if not reason and not errors:
            errors.append("理由を入力してください（例：施設点検）。")
        if day is not None and reason and not errors:
            try:
                async with in_transaction():
                    closure = await calendar.add_closure(day, reason)
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
                query = {"done": "closure_added"}
                if await calendar.bookings_on(day):
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
            "reason_max": REASON_MAX,
            "errors": errors,
            "warning_day": warning,
            "today": today,
            "day_label": short_date,
            "holiday_name": holiday_name,
            "outcome": flash(request, OUTCOMES),
        },
        status_code=400 if errors else 200,
        active="consult_closures",
    )


@staff_required
async def closure_delete(request: Request) -> Response:
    async with in_transaction():
        closure = await calendar.remove_closure(request.path_params["closure_id"])
        if closure is None:
            return RedirectResponse(CLOSURES_PATH, status_code=303)
        await audit.record(
            request,
            "consult.closure.delete",
            "closure",
            closure.id,
            {"date": closure.date.isoformat(), "reason": closure.reason},
        )
    return RedirectResponse(f"{CLOSURES_PATH}?done=closure_deleted", status_code=303)
