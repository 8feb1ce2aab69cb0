"""Bulk creation of 相談枠 from a weekly pattern (closed days and identical slots skipped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.consult.slots import chosen_methods, form_page, form_values
from admin.consult.week import week_start
from admin.forms import form_text, parse_date, parse_int, parse_time
from models.consultation import ConsultationSlot, Method
from shima.domain.calendar import closed_days
from shima.timeutil import JST, WEEKDAYS_JA, jst_datetime, short_date, today_jst

MAX_BULK_DAYS = 366
MAX_BULK_SLOTS = 3000
DURATIONS = (15, 20, 30, 45, 60, 90, 120)  # minutes offered for the weekly pattern
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
        return form_page(request, "admin/consult/slot_bulk.html", context, [])
    form = await request.form()
    context["values"] = form_values(form)
    pattern, errors = parse_bulk_form(form)
    if pattern is None:
        return form_page(request, "admin/consult/slot_bulk.html", context, errors)
    result, planned = await create_from_pattern(pattern)
    if len(planned) > MAX_BULK_SLOTS:
        errors = [f"一度に作成できるのは{MAX_BULK_SLOTS}枠までです。期間を短くしてください。"]
        return form_page(request, "admin/consult/slot_bulk.html", context, errors)
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
    return form_page(request, "admin/consult/slot_bulk.html", context, [])
