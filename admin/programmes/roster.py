"""A session's roster in the admin: registrations in order with 託児 requests (and the total
staff arrange 託児 staff by), the waitlist in its order with any open offer, the 満足度
answers, and the staff actions that tell residents — cancel with a reason (after a
confirmation step), promote by hand, and 「参加者にメッセージ」 (its cost shown first, sent
once under a double submit).

The rules live in shima.domain.course and the residents' notices in line_app.notices.course;
this module translates forms into calls to them. Every view and change is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import NONCE, flash, form_text, new_nonce, parse_int, too_long, typed_text
from admin.pages import render
from admin.routing import route
from admin.sessions import settings_of
from line_app.notices import course as course_notices
from models.consultation import BookedBy
from models.course import (
    ACTIVE_STATUSES,
    Attendance,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from shima.domain import course as rules

SESSION_PATH = "/admin/programmes/sessions/{id}"
ROSTER_PATH = SESSION_PATH + "/registrations"
ACTIVE = "programmes"  # the programmes' nav entry (admin/programmes/area.py)
REASON_MAX = rules.REASON_MAX
MESSAGE_MAX = 1000  # 参加者にメッセージ: one LINE text (LINE allows 5,000 characters)

AUDIT_LABELS: dict[str, str] = {
    "course.roster.view": "講座・イベントの申込者一覧の閲覧",
    "course.registration.cancel": "講座・イベントの申込みのキャンセル（スタッフ）",
    "course.registration.promote": "キャンセル待ちの手動繰り上げ",
    "course.session.message": "講座・イベントの参加者へのメッセージ送信",
}
# For the audit page (admin/programmes/area.py merges them with its own).
TARGET_LABELS: dict[str, str] = {"registration": "寺子屋・交流会の申込み"}
DETAIL_LABELS: dict[str, str] = {
    "session": "開催回",
    "reason": "理由",
    "registration_status": "申込みの状態",
    "recipients": "送信数",
}
DETAIL_VALUES: dict[str, dict[str, str]] = {
    "registration_status": {s.value: s.label for s in RegistrationStatus},
}

NOT_DELIVERED = (
    "利用者は LINE をブロック中のため、お知らせは届きません（電話などでお伝えください）。"
)
# Outcome codes in redirects; only these fixed texts are shown (nothing reflected).
OUTCOMES: dict[str, tuple[str, str]] = {
    "cancelled": (
        "success",
        "申込みをキャンセルし、利用者に LINE でお知らせしました。"
        "空いた席はキャンセル待ちの方に順に案内されます。",
    ),
    "cancelled_blocked": ("warning", "申込みをキャンセルしました。" + NOT_DELIVERED),
    "cancelled_walk_in": ("success", "当日参加の記録を取り消しました。"),
    "promoted": ("success", "キャンセル待ちから繰り上げ、利用者に LINE でお知らせしました。"),
    "promoted_blocked": ("warning", "キャンセル待ちから繰り上げました。" + NOT_DELIVERED),
    "no_seat": (
        "warning",
        "空いている席がないため、繰り上げできませんでした。"
        "定員を増やすか、ほかの申込みのキャンセルをお待ちください。",
    ),
    "no_childcare": (
        "warning",
        "託児の枠が足りないため、繰り上げできませんでした。"
        "託児の枠を増やすか、託児の空きをお待ちください。",
    ),
    "stale": (
        "warning",
        "この申込みはすでにキャンセルされたか状態が変わったため、操作できませんでした。"
        "最新の一覧を確認してください。",
    ),
    "sent": ("success", "参加者にメッセージを送信しました。"),
    "sent_none": (
        "warning",
        "送信できる参加者がいないため、メッセージは送られませんでした。",
    ),
    "sent_again": (
        "warning",
        "このメッセージはすでに送信済みです（二重送信は行っていません）。",
    ),
}


# ---------- Loading ----------


async def session_or_404(request: Request) -> ProgrammeSession | Response:
    session = await ProgrammeSession.get_or_none(
        id=request.path_params["session_id"]
    ).select_related("programme")
    if session is None:
        return error_page(request, 404, title="講座・イベントの回が見つかりません")
    return session


async def registration_or_404(
    request: Request, session: ProgrammeSession
) -> Registration | Response:
    """The path's registration, only if it belongs to the path's session (a forged id of
    another session is not found)."""
    registration = await Registration.get_or_none(
        id=request.path_params["registration_id"], session_id=session.id
    ).select_related("resident")
    if registration is None:
        return error_page(request, 404, title="申込みが見つかりません")
    return registration


def roster_path(session_id: int) -> str:
    return ROSTER_PATH.format(id=session_id)


def to_roster(session_id: int, outcome: str, anchor: str = "") -> Response:
    target = f"{roster_path(session_id)}?done={outcome}" + (f"#{anchor}" if anchor else "")
    return RedirectResponse(target, status_code=303)


def session_facts(session: ProgrammeSession) -> dict[str, object]:
    """What the header of the roster and attendance pages shows."""
    return {
        "session": session,
        "programme": session.programme,
        "session_path": SESSION_PATH.format(id=session.id),
        "programme_path": f"/admin/programmes/{session.programme_id}",
        "roster_path": roster_path(session.id),
        "attendance_path": SESSION_PATH.format(id=session.id) + "/attendance",
        "cancelled": session.status == SessionStatus.CANCELLED,
    }


# ---------- The roster ----------


@dataclass(frozen=True)
class Roster:
    registered: list[Registration]  # holding a seat, in order
    waitlist: list[Registration]  # WAITING and OFFERED, in the waitlist's order
    others: list[Registration]  # cancelled, declined, expired
    childcare_children: int  # children placed (registered and held offers)
    childcare_requests: int  # registrations with children placed
    waiting_children: int  # children on the waitlist
    rated: list[Registration]  # 満足度 answers
    average: float | None

    @classmethod
    async def of(cls, session_id: int) -> Roster:
        every = await rules.registrations_of(session_id)
        waitlist = await rules.waitlist(session_id)
        registered = [r for r in every if r.status == RegistrationStatus.REGISTERED]
        others = [r for r in every if r.status not in ACTIVE_STATUSES]
        placed = [
            r
            for r in every
            if r.children
            and (
                r.status == RegistrationStatus.REGISTERED or r.status == RegistrationStatus.OFFERED
            )
        ]
        rated = [r for r in every if r.satisfaction is not None or r.comment]
        ratings = [r.satisfaction for r in rated if r.satisfaction is not None]
        return cls(
            registered=registered,
            waitlist=waitlist,
            others=others,
            childcare_children=sum(r.children for r in placed),
            childcare_requests=len(placed),
            waiting_children=sum(r.children for r in waitlist),
            rated=rated,
            average=round(sum(ratings) / len(ratings), 1) if ratings else None,
        )


async def _roster_page(
    request: Request,
    session: ProgrammeSession,
    *,
    error: str = "",
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    roster = await Roster.of(session.id)
    return render(
        request,
        "admin/programmes/roster.html",
        {
            **session_facts(session),
            "roster": roster,
            "recipients": await course_notices.recipients(session.id),
            "outcome": flash(request, OUTCOMES),
            "sent_count": parse_int(request.query_params.get("n")),
            "error": error,
            "values": values or {},
            "message_max": MESSAGE_MAX,
            "staff_booked": BookedBy.STAFF,
            "present": Attendance.PRESENT,
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def roster_page(request: Request) -> Response:
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    await audit.record(request, "course.roster.view", "session", session.id)
    return await _roster_page(request, session)


# ---------- Cancel with a reason (asked first) ----------


def _cancel_page(
    request: Request,
    session: ProgrammeSession,
    registration: Registration,
    *,
    error: str = "",
    reason: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/programmes/roster_cancel.html",
        {
            **session_facts(session),
            "registration": registration,
            "error": error,
            "reason": reason,
            "reason_max": REASON_MAX,
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def registration_cancel(request: Request) -> Response:
    """キャンセル on a row: first the question with the reason field; with `confirm=yes` and a
    reason, the registration is cancelled and the resident told (one transaction)."""
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    registration = await registration_or_404(request, session)
    if isinstance(registration, Response):
        return registration
    if registration.status not in ACTIVE_STATUSES:
        return to_roster(session.id, "stale")
    form = await request.form()
    typed = typed_text(form, "reason")
    if form_text(form, "confirm", 3) != "yes":
        return _cancel_page(request, session, registration, reason=typed)
    over = too_long(form, {"reason": ("キャンセル理由", REASON_MAX)})
    reason = "" if over else form_text(form, "reason", REASON_MAX)
    is_walk_in = registration.resident_id is None
    if over or (not reason and not is_walk_in):
        return _cancel_page(
            request,
            session,
            registration,
            error=over[0]
            if over
            else "キャンセル理由を入力してください。理由は利用者への LINE のお知らせに載ります。",
            reason=typed,
            status_code=400,
        )
    try:
        async with in_transaction():
            await course_notices.cancel_by_staff(registration.id, reason, settings_of(request))
            await audit.record(
                request,
                "course.registration.cancel",
                "registration",
                registration.id,
                {
                    "session": session.id,
                    "registration_status": registration.status.value,
                    "reason": reason,
                },
            )
    except rules.CourseError:
        return to_roster(session.id, "stale")
    if is_walk_in:
        return to_roster(session.id, "cancelled_walk_in")
    resident = registration.resident
    following = resident is None or resident.is_following
    return to_roster(session.id, "cancelled" if following else "cancelled_blocked")


# ---------- Promote by hand ----------


@staff_required
async def registration_promote(request: Request) -> Response:
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    registration = await registration_or_404(request, session)
    if isinstance(registration, Response):
        return registration
    if registration.status not in (RegistrationStatus.WAITING, RegistrationStatus.OFFERED):
        return to_roster(session.id, "stale")
    try:
        async with in_transaction():
            await course_notices.promote(registration.id, settings_of(request))
            await audit.record(
                request,
                "course.registration.promote",
                "registration",
                registration.id,
                {"session": session.id, "registration_status": registration.status.value},
            )
    except rules.NoFreeSeat:
        return to_roster(session.id, "no_seat", "waitlist")
    except rules.ChildcareFull:
        return to_roster(session.id, "no_childcare", "waitlist")
    except rules.CourseError:
        return to_roster(session.id, "stale", "waitlist")
    following = registration.resident is None or registration.resident.is_following
    return to_roster(session.id, "promoted" if following else "promoted_blocked", "registered")


# ---------- 参加者にメッセージ: the cost first, then sent once ----------


@staff_required
async def session_message(request: Request) -> Response:
    """Step 1 (no `confirm`): the message checked and shown with how many pushes it costs,
    with a fresh nonce. Step 2 (`confirm=yes` + the nonce): queued once per nonce."""
    session = await session_or_404(request)
    if isinstance(session, Response):
        return session
    form = await request.form()
    typed = typed_text(form, "body")
    if form_text(form, "edit", 3) == "yes":  # 戻って直す: the roster with the text kept
        return await _roster_page(request, session, values={"body": typed})
    over = too_long(form, {"body": ("メッセージ", MESSAGE_MAX)})
    body = "" if over else form_text(form, "body", MESSAGE_MAX)
    if over or not body:
        return await _roster_page(
            request,
            session,
            error=over[0] if over else "メッセージを入力してください。",
            values={"body": typed},
            status_code=400,
        )
    nonce = form_text(form, "nonce", 64)
    if form_text(form, "confirm", 3) != "yes" or not NONCE.fullmatch(nonce):
        return render(
            request,
            "admin/programmes/roster_message.html",
            {
                **session_facts(session),
                "body": body,
                "recipients": await course_notices.recipients(session.id),
                "nonce": new_nonce(),
            },
            active=ACTIVE,
        )
    async with in_transaction():
        queued = await course_notices.message_registered(session.id, body, nonce)
        if queued:  # a repeated nonce (double submit) sends and records nothing
            await audit.record(
                request,
                "course.session.message",
                "programme_session",
                session.id,
                {"recipients": queued},
            )
    if queued:
        return RedirectResponse(
            f"{roster_path(session.id)}?done=sent&n={queued}#message", status_code=303
        )
    done = "sent_again" if await course_notices.recipients(session.id) else "sent_none"
    return to_roster(session.id, done, "message")


def routes() -> list[BaseRoute]:
    base = "/programmes/sessions/{session_id:id}"
    one = base + "/registrations/{registration_id:id}"
    return [
        route(base + "/registrations", roster_page, ["GET"], "programmes_roster"),
        route(one + "/cancel", registration_cancel, ["POST"], "programmes_registration_cancel"),
        route(one + "/promote", registration_promote, ["POST"], "programmes_registration_promote"),
        route(base + "/message", session_message, ["POST"], "programmes_session_message"),
    ]
