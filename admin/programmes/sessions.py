"""A programme's sessions: create and edit one (rules.SessionSpec, checked by
rules.spec_problems), publish a draft, copy one to the next week or month, and 中止 with a
reason (everyone registered or waiting is told on LINE).

The rules live in shima.domain.course and the residents' notices in line_app.notices.course;
this module translates forms into calls to them, each change audited in the same
transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import (
    Flash,
    flash,
    form_text,
    parse_date,
    parse_int,
    parse_time,
    short_text,
    too_long,
    typed_text,
)
from admin.pages import render
from admin.programmes.programmes import (
    AttendanceCount,
    attendance_counts,
    fill_rate,
    programme_or_404,
    programme_page,
    session_state,
    to_programme,
)
from admin.sessions import settings_of
from line_app.notices import course as course_notices
from models.course import (
    Programme,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from shima.domain import course as rules
from shima.timeutil import JST, jst_datetime, now, span_ja

SESSIONS_PATH = "/admin/programmes/sessions"
VENUE_MAX = 200
ONLINE_URL_MAX = 500
DEFAULT_VENUE = "WorkStyle Lab Inno"
SESSION_TEXT = {"venue": ("会場", VENUE_MAX), "online_url": ("オンラインの URL", ONLINE_URL_MAX)}
REASON_TEXT = {"reason": ("中止の理由", rules.REASON_MAX)}
FIELDS = (
    "date",
    "start",
    "end",
    "place",
    "venue",
    "online_url",
    "seats",
    "childcare_places",
    "deadline",
    "status",
)

OUTCOMES: dict[str, Flash] = {
    "updated": ("success", "開催回を保存しました。"),
    "published": ("success", "開催回を公開しました。LINE の「寺子屋・交流会」に表示されます。"),
    "cancelled": ("success", "開催回を中止しました。"),
    "stale": ("warning", "この開催回は中止済みのため、変更できません。"),
    "copied_week": (
        "success",
        "翌週にコピーしました（下書き）。内容を確認して「公開」にすると LINE に表示されます。",
    ),
    "copied_month": (
        "success",
        "翌月の同じ日付にコピーしました（下書き）。曜日が変わることがあるので、開催日を確かめて"
        "「公開」にすると LINE に表示されます。",
    ),
    "already_week": (
        "warning",
        "翌週の同じ時刻には、すでにこの開催回があります（二重にはコピーしていません）。",
    ),
    "already_month": (
        "warning",
        "翌月の同じ日時には、すでにこの開催回があります（二重にはコピーしていません）。",
    ),
}


# ---------- The session form ----------


def _deadline(text: str) -> tuple[datetime | None, bool]:
    """The typed deadline (`YYYY-MM-DDTHH:MM`, JST) and whether it could be read."""
    if not text:
        return None, True
    day = parse_date(text[:10])
    at = parse_time(text[11:16]) if len(text) >= 16 and text[10] in "T " else None
    if day is None or at is None:
        return None, False
    return jst_datetime(day, at), True


def parse_session_form(form: FormData) -> tuple[rules.SessionSpec | None, list[str]]:
    """What the form asks for, or what cannot be read; the rules (times, the past, seats
    already taken) are rules.spec_problems'."""
    errors = too_long(form, SESSION_TEXT)
    day = parse_date(short_text(form, "date", 10))
    start = parse_time(short_text(form, "start", 5))
    end = parse_time(short_text(form, "end", 5))
    seats = parse_int(short_text(form, "seats", 12))
    childcare_text = short_text(form, "childcare_places", 12)
    childcare = parse_int(childcare_text, None if childcare_text else 0)
    online = short_text(form, "place", 8) == "online"
    status_value = short_text(form, "status", 16)
    deadline, readable = _deadline(short_text(form, "deadline", 19))
    if day is None:
        errors.append("開催日を入力してください。")
    if start is None or end is None:
        errors.append("開始時刻と終了時刻を入力してください。")
    if seats is None:
        errors.append("定員を数字で入力してください。")
    if childcare is None:
        errors.append("託児の人数を数字で入力してください（託児なしは0）。")
    if not readable:
        errors.append(
            "申込締切の日時を正しく入力してください（空欄なら開始時刻まで受け付けます）。"
        )
    if status_value not in (SessionStatus.DRAFT.value, SessionStatus.PUBLISHED.value):
        errors.append("公開状態（下書き・公開）を選んでください。")
    if errors or day is None or start is None or end is None:
        return None, errors
    if seats is None or childcare is None:  # named above
        return None, errors
    venue = form_text(form, "venue", VENUE_MAX)
    online_url = form_text(form, "online_url", ONLINE_URL_MAX)
    return (
        rules.SessionSpec(
            starts_at=jst_datetime(day, start),
            ends_at=jst_datetime(day, end),
            seats=seats,
            childcare_places=childcare,
            deadline=deadline,
            venue=venue,
            online=online,
            online_url=online_url if online else "",
            status=SessionStatus(status_value),
        ),
        [],
    )


def _local(value: datetime) -> datetime:
    return value.astimezone(JST)


def session_values(session: ProgrammeSession) -> dict[str, str]:
    starts, ends = _local(session.starts_at), _local(session.ends_at)
    deadline = _local(session.deadline)
    return {
        "date": starts.date().isoformat(),
        "start": f"{starts:%H:%M}",
        "end": f"{ends:%H:%M}",
        "place": "online" if session.online else "venue",
        "venue": session.venue,
        "online_url": session.online_url,
        "seats": str(session.seats),
        "childcare_places": str(session.childcare_places),
        # Blank when it is the start (the default), so moving the start moves it too.
        "deadline": "" if deadline == starts else f"{deadline:%Y-%m-%dT%H:%M}",
        "status": session.status.value
        if session.status != SessionStatus.CANCELLED
        else SessionStatus.DRAFT.value,
    }


async def new_values(programme: Programme, day: str) -> dict[str, str]:
    """A new session's form: like the programme's latest session a week later (times,
    place, seats), else a plain morning at WorkStyle Lab Inno."""
    latest = (
        await ProgrammeSession.filter(programme_id=programme.id)
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("-starts_at", "-id")
        .first()
    )
    if latest is None:
        values = {
            "date": "",
            "start": "10:00",
            "end": "12:00",
            "place": "venue",
            "venue": DEFAULT_VENUE,
            "online_url": "",
            "seats": "20",
            "childcare_places": "0",
        }
    else:
        values = session_values(latest)
        values["date"] = ""
    values.update(deadline="", status=SessionStatus.DRAFT.value)
    if parse_date(day) is not None:
        values["date"] = day[:10]
    return values


def typed_values(form: FormData) -> dict[str, str]:
    return {name: typed_text(form, name) for name in FIELDS}


async def known_venues() -> list[str]:
    names = await ProgrammeSession.filter(online=False).distinct().values_list("venue", flat=True)
    return sorted({str(n) for n in names if n} | {DEFAULT_VENUE})


async def form_page(
    request: Request,
    programme: Programme,
    session: ProgrammeSession | None,
    values: Mapping[str, str],
    errors: list[str],
) -> Response:
    return render(
        request,
        "admin/programmes/session_form.html",
        {
            "programme": programme,
            "session": session,
            "values": values,
            "errors": errors,
            "venues": await known_venues(),
            "venue_max": VENUE_MAX,
            "online_url_max": ONLINE_URL_MAX,
            "seats_max": rules.MAX_SEATS,
            "childcare_max": rules.MAX_CHILDCARE,
            "fill_rate": fill_rate,
            "session_state": session_state,
            "outcome": flash(request, OUTCOMES),
        },
        status_code=400 if errors else 200,
        active="programmes",
    )


def session_detail(session: ProgrammeSession) -> dict[str, Any]:
    """What the audit log keeps of a session's values."""
    return {
        "programme": session.programme_id,
        "when": span_ja(session.starts_at, session.ends_at),
        "session_status": session.status.value,
        "seats": session.seats,
        "childcare": session.childcare_places,
    }


def to_session(session_id: int, outcome: str, **extra: int) -> Response:
    query = urlencode({"done": outcome, **extra})
    return RedirectResponse(f"{SESSIONS_PATH}/{session_id}?{query}", status_code=303)


def to_edit(session_id: int, outcome: str) -> Response:
    return RedirectResponse(
        f"{SESSIONS_PATH}/{session_id}/edit?{urlencode({'done': outcome})}", status_code=303
    )


async def session_or_404(request: Request) -> ProgrammeSession | Response:
    session = await ProgrammeSession.get_or_none(
        id=request.path_params["session_id"]
    ).select_related("programme")
    if session is None:
        return error_page(request, 404, title="開催回が見つかりません")
    return session


def refusal(exc: rules.CourseError) -> list[str]:
    """A rule's refusal as staff read it (the rules' own messages address residents)."""
    if isinstance(exc, rules.BadSession):
        return list(exc.problems)
    if isinstance(exc, rules.SessionCancelled):
        return ["この回は中止済みのため、変更できません。"]
    if isinstance(exc, rules.SessionNotOpen):
        return ["この回は見つかりませんでした。一覧から開き直してください。"]
    return [exc.message]


# ---------- Pages ----------


async def session_page(
    request: Request,
    session: ProgrammeSession,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    """回の詳細: the session's facts and counts (no resident's data), and what staff can do
    with it; its registrations and attendance are admin.programmes.roster / attendance."""
    counts = await attendance_counts([session.id])
    path = f"{SESSIONS_PATH}/{session.id}"
    return render(
        request,
        "admin/programmes/session.html",
        {
            "session": session,
            "programme": session.programme,
            "counts": counts.get(session.id, AttendanceCount()),
            "audience": await audience(session.id),
            "started": session.starts_at <= now(),
            "session_path": path,
            "roster_path": f"{path}/registrations",
            "attendance_path": f"{path}/attendance",
            "fill_rate": fill_rate,
            "session_state": session_state,
            "errors": errors or [],
            "outcome": flash(request, OUTCOMES),
            "told": parse_int(request.query_params.get("told"))
            if request.query_params.get("done") == "cancelled"
            else None,
        },
        status_code=status_code,
        active="programmes",
    )


@staff_required
async def session_detail_page(request: Request) -> Response:
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    return await session_page(request, session)


@staff_required
async def session_new(request: Request) -> Response:
    programme = await programme_or_404(request)
    if isinstance(programme, Response):
        return programme
    if request.method == "GET":
        values = await new_values(programme, request.query_params.get("date", ""))
        return await form_page(request, programme, None, values, [])
    form = await request.form()
    spec, errors = parse_session_form(form)
    if spec is not None:
        errors = rules.spec_problems(spec)
    if spec is None or errors:
        return await form_page(request, programme, None, typed_values(form), errors)
    try:
        async with in_transaction():
            session = await rules.create_session(programme, spec)
            await audit.record(
                request,
                "course.session.create",
                "session",
                session.id,
                session_detail(session),
            )
    except rules.CourseError as exc:
        return await form_page(request, programme, None, typed_values(form), refusal(exc))
    return to_programme(programme.id, "session_created")


@staff_required
async def session_edit(request: Request) -> Response:
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    programme = session.programme
    if request.method == "GET":
        return await form_page(request, programme, session, session_values(session), [])
    if session.status == SessionStatus.CANCELLED:
        return to_session(session.id, "stale")
    form = await request.form()
    spec, errors = parse_session_form(form)
    if spec is not None:
        errors = rules.spec_problems(spec, session)
    if spec is None or errors:
        return await form_page(request, programme, session, typed_values(form), errors)
    try:
        async with in_transaction():
            outcome = await rules.update_session(session.id, spec, settings_of(request))
            told = await course_notices.tell(outcome, settings_of(request))
            fresh = await ProgrammeSession.get(id=session.id)
            await audit.record(
                request,
                "course.session.update",
                "session",
                session.id,
                {**session_detail(fresh), "offers": len(outcome.offers), "told": told},
            )
    except rules.CourseError as exc:
        fresh = await ProgrammeSession.get(id=session.id).select_related("programme")
        return await form_page(request, programme, fresh, typed_values(form), refusal(exc))
    return to_session(session.id, "updated")


@staff_required
async def session_publish(request: Request) -> Response:
    """公開: the draft as it is, published (the rules check it as for the form)."""
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    programme = session.programme
    form = await request.form()
    back_to_session = short_text(form, "back", 8) == "session"
    if session.status == SessionStatus.CANCELLED:
        return to_session(session.id, "stale")
    if session.status == SessionStatus.PUBLISHED:
        return to_programme(programme.id, "session_published")
    spec = dataclasses.replace(rules.SessionSpec.of(session), status=SessionStatus.PUBLISHED)
    problems = rules.spec_problems(spec, session)
    if not problems:
        try:
            async with in_transaction():
                outcome = await rules.update_session(session.id, spec, settings_of(request))
                await course_notices.tell(outcome, settings_of(request))
                await audit.record(
                    request,
                    "course.session.publish",
                    "session",
                    session.id,
                    {**session_detail(session), "session_status": SessionStatus.PUBLISHED.value},
                )
        except rules.CourseError as exc:
            problems = refusal(exc)
    if problems and back_to_session:
        return await session_page(
            request, session, errors=["公開できませんでした。", *problems], status_code=400
        )
    if problems:
        when = span_ja(session.starts_at, session.ends_at)
        return await programme_page(
            request,
            programme,
            errors=[f"{when} の回を公開できませんでした。", *problems],
            status_code=400,
        )
    if back_to_session:
        return to_session(session.id, "published")
    return to_programme(programme.id, "session_published")


@staff_required
async def session_copy(request: Request) -> Response:
    """翌週にコピー (by=week) / 翌月にコピー (by=month): a draft with no registrations."""
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    form = await request.form()
    by = short_text(form, "by", 8)
    if by not in ("week", "month"):
        return to_programme(session.programme_id)
    try:
        async with in_transaction():
            copy = await rules.copy_session(
                session.id, weeks=1 if by == "week" else 0, months=1 if by == "month" else 0
            )
            await audit.record(
                request,
                "course.session.copy",
                "session",
                copy.id,
                {**session_detail(copy), "from_session": session.id, "by": by},
            )
    except rules.AlreadyCopied as exc:  # a double tap, or copied before: not a second one
        return to_edit(exc.twin.id, f"already_{by}")
    except rules.CourseError as exc:
        return await programme_page(
            request,
            session.programme,
            errors=["コピーできませんでした。", *refusal(exc)],
            status_code=400,
        )
    return to_edit(copy.id, f"copied_{by}")


# ---------- 中止 ----------


@dataclasses.dataclass(frozen=True)
class Audience:
    """Who a 中止 tells: residents registered (or holding an offer) and waiting; how many of
    them blocked the account (no LINE message reaches them); walk-ins are not told."""

    registered: int
    waiting: int
    blocked: int

    @property
    def total(self) -> int:
        return self.registered + self.waiting


async def audience(session_id: int) -> Audience:
    active = Registration.filter(
        session_id=session_id,
        status__in=[
            RegistrationStatus.REGISTERED,
            RegistrationStatus.OFFERED,
            RegistrationStatus.WAITING,
        ],
        resident_id__isnull=False,
    )
    return Audience(
        registered=await active.filter(
            status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.OFFERED]
        ).count(),
        waiting=await active.filter(status=RegistrationStatus.WAITING).count(),
        blocked=await active.filter(resident__is_following=False).count(),
    )


async def cancel_page(
    request: Request,
    session: ProgrammeSession,
    values: Mapping[str, str],
    errors: list[str],
) -> Response:
    return render(
        request,
        "admin/programmes/session_cancel.html",
        {
            "session": session,
            "programme": session.programme,
            "audience": await audience(session.id),
            "values": values,
            "errors": errors,
            "reason_max": rules.REASON_MAX,
        },
        status_code=400 if errors else 200,
        active="programmes",
    )


@staff_required
async def session_cancel(request: Request) -> Response:
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    if session.status == SessionStatus.CANCELLED:
        return to_session(session.id, "stale")
    if request.method == "GET":
        return await cancel_page(request, session, {"reason": ""}, [])
    form = await request.form()
    values = {"reason": typed_text(form, "reason")}
    errors = too_long(form, REASON_TEXT)
    reason = "" if errors else form_text(form, "reason", rules.REASON_MAX)
    if not reason and not errors:
        errors.append("中止の理由を入力してください。理由は利用者への LINE のお知らせに載ります。")
    if errors:
        return await cancel_page(request, session, values, errors)
    try:
        async with in_transaction():
            told = await course_notices.cancel_session(session.id, reason)
            await audit.record(
                request,
                "course.session.cancel",
                "session",
                session.id,
                {**session_detail(session), "reason": reason, "told": told},
            )
    except rules.CourseError as exc:
        return await cancel_page(request, session, values, refusal(exc))
    return to_session(session.id, "cancelled", told=told)
