"""Attendance at the door, tablet-first: one tap per person (出席 / 欠席), undo back to
未記録, a running count, walk-ins added by name. Residents who checked in from LINE are
shown already marked and staff can correct them.

Plain forms that redirect back to the person's row (works without JavaScript);
static/admin/attendance.js sends the same forms with fetch (the CSRF token is in the form)
and asks for JSON, to update the row and the count in place. The rules are
shima.domain.course's (mark_attendance, add_walk_in); every view and change is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import flash, form_text, too_long, typed_text
from admin.pages import render
from admin.programmes.roster import (
    ACTIVE,
    registration_or_404,
    session_facts,
    session_or_404,
)
from admin.routing import route
from admin.sessions import settings_of
from models.course import Attendance, ProgrammeSession, Registration, RegistrationStatus
from shima.domain import course as rules

NAME_MAX = rules.WALK_IN_NAME_MAX
VALUES = {"present": Attendance.PRESENT, "absent": Attendance.ABSENT, "unknown": Attendance.UNKNOWN}

AUDIT_LABELS: dict[str, str] = {
    "course.attendance.view": "講座・イベントの出欠（当日受付）の閲覧",
    "course.attendance.mark": "講座・イベントの出欠の記録",
    "course.attendance.unmark": "講座・イベントの出欠の取り消し",
    "course.attendance.walk_in": "当日参加の追加",
}
DETAIL_LABELS: dict[str, str] = {
    "attendance": "出欠",
    "previous": "変更前の出欠",
    "beyond_capacity": "定員",
}
DETAIL_VALUES: dict[str, dict[str, str]] = {
    "attendance": {a.value or "unknown": a.label for a in Attendance},
    "previous": {a.value or "unknown": a.label for a in Attendance},
    "beyond_capacity": {"yes": "定員を超えて受け入れ"},
}

OUTCOMES: dict[str, tuple[str, str]] = {
    "walk_in": ("success", "当日参加の方を追加し、出席にしました。"),
    "stale": (
        "warning",
        "この申込みはキャンセルされたため、出欠を記録できませんでした。",
    ),
    "too_early": ("warning", "出欠は当日、受付開始から記録できます。"),
}


@dataclass(frozen=True)
class Counts:
    present: int
    absent: int
    unknown: int
    total: int

    @classmethod
    def of(cls, rows: list[Registration]) -> Counts:
        present = sum(r.attendance == Attendance.PRESENT for r in rows)
        absent = sum(r.attendance == Attendance.ABSENT for r in rows)
        return cls(present, absent, len(rows) - present - absent, len(rows))

    def as_dict(self) -> dict[str, int]:
        return {
            "present": self.present,
            "absent": self.absent,
            "unknown": self.unknown,
            "total": self.total,
        }


async def attendees(session_id: int) -> list[Registration]:
    """Everyone holding a seat (walk-ins too), in the roster's order."""
    return [
        r
        for r in await rules.registrations_of(session_id)
        if r.status == RegistrationStatus.REGISTERED
    ]


def too_early(request: Request, session: ProgrammeSession) -> str:
    """The rule's message when attendance cannot be marked yet, else ""."""
    opens = rules.checkin_opens(settings_of(request), session)
    return rules.TooEarlyToMark(opens).message if rules.now() < opens else ""


def opens_in_ms(request: Request, session: ProgrammeSession) -> int:
    """Milliseconds until marking opens (0 once open): a page opened early at the door
    reloads itself then, so staff need not (attendance.js); beyond a day, never."""
    left = rules.checkin_opens(settings_of(request), session) - rules.now()
    ms = int(left.total_seconds() * 1000)
    return ms if 0 < ms <= 24 * 3600 * 1000 else 0


async def _page(
    request: Request,
    session: ProgrammeSession,
    *,
    error: str = "",
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rows = await attendees(session.id)
    return render(
        request,
        "admin/programmes/attendance.html",
        {
            **session_facts(session),
            "rows": rows,
            "counts": Counts.of(rows),
            "too_early": too_early(request, session),
            "opens_in_ms": opens_in_ms(request, session),
            "outcome": flash(request, OUTCOMES),
            "error": error,
            "values": values or {},
            "name_max": NAME_MAX,
            "seats_left": session.seats_left,
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def attendance_page(request: Request) -> Response:
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    await audit.record(request, "course.attendance.view", "session", session.id)
    return await _page(request, session)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def back(session: ProgrammeSession, anchor: str, done: str = "") -> Response:
    path = session_facts(session)["attendance_path"]
    query = f"?done={done}" if done else ""
    return RedirectResponse(f"{path}{query}#{anchor}", status_code=303)


@staff_required
async def attendance_mark(request: Request) -> Response:
    """出席 / 欠席 / 未記録に戻す for one person (the form's `attendance`)."""
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    registration = await registration_or_404(request, session)
    if isinstance(registration, Response):
        return registration
    form = await request.form()
    value = VALUES.get(form_text(form, "attendance", 16))
    if value is None:
        return error_page(request, 400)
    anchor = f"r{registration.id}"
    problem, done = "", ""
    if registration.status != RegistrationStatus.REGISTERED:
        problem, done = OUTCOMES["stale"][1], "stale"
    elif registration.attendance != value:
        previous = registration.attendance
        try:
            async with in_transaction():
                registration = await rules.mark_attendance(
                    registration.id, value, settings_of(request)
                )
                await audit.record(
                    request,
                    "course.attendance.unmark"
                    if value == Attendance.UNKNOWN
                    else "course.attendance.mark",
                    "registration",
                    registration.id,
                    {
                        "session": session.id,
                        "attendance": value.value or "unknown",
                        "previous": previous.value or "unknown",
                    },
                )
        except rules.TooEarlyToMark as exc:
            problem, done = exc.message, "too_early"
        except rules.CourseError as exc:
            problem, done = exc.message, "stale"
    if not wants_json(request):
        return back(session, anchor, done)
    rows = await attendees(session.id)
    mine = next((r for r in rows if r.id == registration.id), registration)
    return JSONResponse(
        {
            "ok": not problem,
            "message": problem,
            "id": registration.id,
            "attendance": mine.attendance.value or "unknown",
            "label": mine.attendance.label,
            "by": mine.attendance_by,
            "counts": Counts.of(rows).as_dict(),
        },
        status_code=200 if not problem else 409,
        headers={"Cache-Control": "no-store"},
    )


@staff_required
async def walk_in(request: Request) -> Response:
    """A walk-in by name, marked present; beyond the seats only when staff tick the box."""
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    form = await request.form()
    beyond = form_text(form, "beyond_capacity", 3) == "yes"
    values = {"name": typed_text(form, "name"), "beyond_capacity": "yes" if beyond else ""}
    over = too_long(form, {"name": ("お名前", NAME_MAX)})
    name = "" if over else form_text(form, "name", NAME_MAX)
    error = over[0] if over else "" if name else "当日参加の方のお名前を入力してください。"
    if not error:
        try:
            async with in_transaction():
                added = await rules.add_walk_in(
                    session.id, name, settings_of(request), beyond_capacity=beyond
                )
                await audit.record(
                    request,
                    "course.attendance.walk_in",
                    "registration",
                    added.id,
                    {"session": session.id, **({"beyond_capacity": "yes"} if beyond else {})},
                )
        except rules.CourseError as exc:
            error = exc.message
        else:
            return back(session, f"r{added.id}", "walk_in")
    fresh = await session_or_404(request)
    if isinstance(fresh, Response):
        return fresh
    return await _page(request, fresh, error=error, values=values, status_code=400)


def routes() -> list[BaseRoute]:
    base = "/programmes/sessions/{session_id:id}/attendance"
    return [
        route(base, attendance_page, ["GET"], "programmes_attendance"),
        route(base + "/walk-in", walk_in, ["POST"], "programmes_attendance_walk_in"),
        route(
            base + "/{registration_id:id}",
            attendance_mark,
            ["POST"],
            "programmes_attendance_mark",
        ),
    ]
