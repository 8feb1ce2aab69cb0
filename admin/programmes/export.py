"""CSV exports (Excel-ready, admin.csv_export) of 寺子屋・交流会: a session's registrations in
their order (the 託児 requests staff arrange childcare from), a session's attendance, and
the attendance of every session in a date range. Each export is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from admin import audit
from admin.auth import staff_required
from admin.csv_export import csv_response
from admin.errors import error_page
from admin.forms import parse_date_range
from admin.programmes.sessions import session_or_404
from models.consultation import BookedBy
from models.course import (
    Attendance,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from shima.domain import course as rules
from shima.timeutil import JST, jst_datetime, today_jst

SESSION_BATCH = 100  # sessions read per query for the period's attendance CSV

REGISTRATION_HEADER = (
    "順番",
    "状態",
    "氏名",
    "利用者ID",
    "託児（人数）",
    "子どもの年齢",
    "申込経路",
    "申込日時",
    "キャンセル待ち登録日時",
    "キャンセル日時",
    "キャンセル理由",
)
ATTENDANCE_HEADER = (
    "氏名",
    "区分",
    "利用者ID",
    "出欠",
    "記録方法",
    "記録日時",
    "満足度",
    "コメント",
)
PERIOD_HEADER = ("開催日", "開始", "終了", "種別", "講座・イベント", "会場", *ATTENDANCE_HEADER)
RECORDED_BY = {"line": "LINE チェックイン", "staff": "スタッフ"}


def stamp(value: datetime | None) -> str:
    return value.astimezone(JST).strftime("%Y/%m/%d %H:%M") if value else ""


def registration_row(order: int | str, r: Registration) -> tuple[object, ...]:
    waiting = r.status in (RegistrationStatus.WAITING, RegistrationStatus.OFFERED)
    return (
        order,
        r.status.label,
        r.name,
        r.resident_id or "",
        r.children,
        r.children_ages,
        "当日参加" if r.resident_id is None else BookedBy(r.registered_by).label,
        stamp(r.registered_at),
        stamp(r.queued_at) if waiting or r.queued_at else "",
        stamp(r.cancelled_at),
        r.cancel_reason,
    )


def attendance_row(r: Registration) -> tuple[object, ...]:
    return (
        r.name,
        "当日参加" if r.resident_id is None else "LINE 申込",
        r.resident_id or "",
        Attendance(r.attendance).label,
        RECORDED_BY.get(r.attendance_by, r.attendance_by),
        stamp(r.attendance_at),
        r.satisfaction if r.satisfaction is not None else "",
        r.comment,
    )


def session_name(session: ProgrammeSession) -> str:
    return f"{session.programme.title}_{session.starts_at.astimezone(JST):%Y%m%d}"


async def attendees(session_id: int) -> list[Registration]:
    """Everyone holding a seat (walk-ins included), in the order they got it."""
    return list(
        await Registration.filter(session_id=session_id, status=RegistrationStatus.REGISTERED)
        .select_related("resident")
        .order_by("registered_at", "id")
    )


@staff_required
async def registrations_csv(request: Request) -> Response:
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    registrations = await rules.registrations_of(session.id)
    rows = []
    seat_place = waiting_place = 0
    for r in registrations:
        # 順番: 1, 2, … for seats, 待ち1, 待ち2, … for the waitlist, blank for the rest
        # (a cancelled registration has no place in either).
        order: int | str = ""
        if r.status == RegistrationStatus.REGISTERED:
            seat_place += 1
            order = seat_place
        elif r.status in (RegistrationStatus.WAITING, RegistrationStatus.OFFERED):
            waiting_place += 1
            order = f"待ち{waiting_place}"
        rows.append(registration_row(order, r))
    await audit.record(
        request,
        "course.registration.export",
        "session",
        session.id,
        {"rows": len(rows)},
    )
    return csv_response(
        f"申込者_{session_name(session)}.csv",
        REGISTRATION_HEADER,
        rows,
        fallback=f"registrations_{session.id}.csv",
    )


@staff_required
async def attendance_csv(request: Request) -> Response:
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    rows = [attendance_row(r) for r in await attendees(session.id)]
    await audit.record(
        request, "course.attendance.export", "session", session.id, {"rows": len(rows)}
    )
    return csv_response(
        f"出欠_{session_name(session)}.csv",
        ATTENDANCE_HEADER,
        rows,
        fallback=f"attendance_{session.id}.csv",
    )


async def period_rows(start: datetime, end: datetime) -> AsyncIterator[Sequence[object]]:
    """Attendance of the sessions starting in [start, end), by start; a batch of sessions
    at a time (keyset on start and id), never the whole table in memory."""
    after: tuple[datetime, int] | None = None
    while True:
        query = ProgrammeSession.filter(
            starts_at__gte=start, starts_at__lt=end, status__not=SessionStatus.CANCELLED
        )
        if after is not None:
            at, last = after
            query = query.filter(starts_at__gte=at).exclude(starts_at=at, id__lte=last)
        batch = (
            await query.order_by("starts_at", "id").limit(SESSION_BATCH).select_related("programme")
        )
        for session in batch:
            starts = session.starts_at.astimezone(JST)
            head = (
                f"{starts:%Y/%m/%d}",
                f"{starts:%H:%M}",
                f"{session.ends_at.astimezone(JST):%H:%M}",
                session.programme.kind.label,
                session.programme.title,
                session.place,
            )
            for r in await attendees(session.id):
                yield (*head, *attendance_row(r))
        if len(batch) < SESSION_BATCH:
            return
        after = (batch[-1].starts_at, batch[-1].id)


@staff_required
async def period_attendance_csv(request: Request) -> Response:
    """出欠（期間）: from/to (JST dates, both included); this month until today by default."""
    dates = parse_date_range(request.query_params, what="期間")
    if dates.problems:
        return error_page(
            request,
            400,
            title="期間を確認してください",
            message=" ".join(dates.problems),
            back_href="/admin/programmes",
        )
    today = today_jst()
    first = dates.start or today.replace(day=1)
    last = dates.end or max(today, first)
    await audit.record(
        request,
        "course.attendance.export",
        "session",
        "",
        {"period_from": first.isoformat(), "period_to": last.isoformat()},
    )
    return csv_response(
        f"出欠_{first:%Y%m%d}-{last:%Y%m%d}.csv",
        PERIOD_HEADER,
        period_rows(jst_datetime(first), jst_datetime(last + timedelta(days=1))),
        fallback=f"attendance_{first:%Y%m%d}-{last:%Y%m%d}.csv",
    )
