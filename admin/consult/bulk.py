"""Bulk creation of 相談枠 from a weekly pattern (closed days, past times, identical and
overlapping slots skipped)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.consult.slots import SLOT_TEXT, chosen_methods, form_page, form_values
from admin.consult.week import week_start
from admin.forms import form_text, parse_date, parse_int, parse_time, short_text, too_long
from models.consultation import Method
from shima.domain import slots
from shima.timeutil import WEEKDAYS_JA, short_date, today_jst

DURATIONS = (15, 20, 30, 45, 60, 90, 120)  # minutes offered for the weekly pattern


OVERLAPS_LISTED = 10  # overlapping slots named in the summary; the rest are counted


def summary(plan: slots.PatternPlan) -> tuple[str, list[str]]:
    """What was created (the headline) and each kind of skipped slot with its reason (shown
    as a list next to it, so a long skip report never hides the headline)."""
    skipped: list[str] = []
    if plan.skipped:
        reasons = "、".join(f"{short_date(d)} {r}" for d, r in plan.skipped)
        skipped.append(f"{len(plan.skipped)}日は休館日などのため作成しませんでした（{reasons}）。")
    if plan.past:
        skipped.append(f"過去の日時のため {plan.past}件は作成しませんでした。")
    if plan.duplicates:
        skipped.append(f"同じ枠がすでにあったため {plan.duplicates}件は作成しませんでした。")
    if plan.overlaps:
        named = [
            f"{slots.slot_span(s, e)} は {slots.slot_span(o.starts_at, o.ends_at)} の枠と重なります"
            for s, e, o in plan.overlaps[:OVERLAPS_LISTED]
        ]
        more = len(plan.overlaps) - OVERLAPS_LISTED
        if more > 0:
            named.append(f"ほか{more}件")
        who = slots.counsellor_label(plan.overlaps[0][2].counsellor)
        skipped.append(
            f"{who}さんの既存の枠と時間が重なるため {len(plan.overlaps)}件は作成しませんでした"
            f"（{'、'.join(named)}）。"
        )
    return f"{plan.created}件作成しました。", skipped


def parse_bulk_form(form: FormData) -> tuple[slots.WeeklyPattern | None, list[str]]:
    errors = too_long(form, SLOT_TEXT)
    first = parse_date(short_text(form, "date_from", 10))
    last = parse_date(short_text(form, "date_to", 10))
    weekdays = {int(v) for v in form.getlist("weekdays") if v in {str(i) for i in range(7)}}
    start = parse_time(short_text(form, "start", 5))
    end = parse_time(short_text(form, "end", 5))
    minutes = parse_int(form.get("duration"), None)
    capacity = parse_int(form.get("capacity"), None)
    methods = chosen_methods(form)
    if first is None or last is None:
        errors.append("期間（開始日と終了日）を入力してください。")
    elif last < first:
        errors.append("終了日は開始日以降にしてください。")
    elif (last - first).days >= slots.MAX_PATTERN_DAYS:
        errors.append("一度に作成できる期間は1年までです。")
    elif last < today_jst():
        errors.append("過去の期間には相談枠を作れません。今日以降の期間を選んでください。")
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
    if (
        errors
        or first is None
        or last is None
        or start is None
        or end is None
        or minutes is None
        or capacity is None
    ):
        return None, errors
    return (
        slots.WeeklyPattern(
            first=first,
            last=last,
            weekdays=frozenset(weekdays),
            start=start,
            end=end,
            minutes=minutes,
            capacity=capacity,
            methods=",".join(m.value for m in methods),
            counsellor=form_text(form, "counsellor", 100),
            note=form_text(form, "note", 200),
        ),
        [],
    )


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
        return await form_page(request, "admin/consult/slot_bulk.html", context, [])
    form = await request.form()
    context["values"] = form_values(form)
    pattern, errors = parse_bulk_form(form)
    if pattern is None:
        return await form_page(request, "admin/consult/slot_bulk.html", context, errors)
    try:
        async with in_transaction():
            plan = await slots.create_from_pattern(pattern)
            await audit.record(
                request,
                "consult.slot.bulk_create",
                "slot",
                "",
                {
                    "from": pattern.first.isoformat(),
                    "to": pattern.last.isoformat(),
                    "created": plan.created,
                    "skipped_days": len(plan.skipped),
                    "duplicates": plan.duplicates,
                    "past": plan.past,
                    "overlaps": len(plan.overlaps),
                },
            )
    except slots.TooManySlots:
        limit = slots.MAX_PATTERN_SLOTS
        errors = [f"一度に作成できるのは{limit}枠までです。期間を短くしてください。"]
        return await form_page(request, "admin/consult/slot_bulk.html", context, errors)
    context["result"], context["skipped"] = summary(plan)
    context["week"] = week_start(pattern.first).isoformat()
    return await form_page(request, "admin/consult/slot_bulk.html", context, [])
