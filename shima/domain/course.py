"""寺子屋・交流会 rules — the one place for them: sign-up with 託児, the waitlist and its offers,
check-in and attendance, reminders and the after-session question. Called by the LINE flow,
the admin and the worker's jobs alike, always inside the caller's transaction.

Capacity is enforced by the database, as for consultations: a conditional
`UPDATE programme_sessions SET taken = taken + 1 WHERE taken < seats …` must touch one row,
and `Registration.active_key` is unique (one active registration per resident and session).

A freed seat is never silently given away: a new sign-up queues behind anyone waiting whose
託児 need a free seat would fit (read under the session's row lock), and `fill` offers the
seat —
- to the first person waiting whose 託児 need fits, holding the seat (and 託児 places) for
  `course_offer_hours` of daytime (the clock stops between offer_quiet_from_hour and
  offer_quiet_until_hour JST, when no offer is sent at all);
- from `course_open_offer_hours` before the start, to everyone waiting at once, holding
  nothing: the first to accept gets it, the others are told it was taken.

Functions that may free or fill seats return an `Outcome` listing whom to tell; the caller
(line_app.notices.course) queues those messages in the same transaction.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q

from models.consultation import BookedBy, CancelledBy
from models.course import (
    ACTIVE_STATUSES,
    Attendance,
    Programme,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.residents import Resident
from shima.domain.consultation import reminder_time
from shima.domain.offers import is_quiet, offer_deadline
from shima.settings import Settings
from shima.timeutil import JST, format_jst, jst_datetime, now

MAX_CHILDREN = 5
AGES_MAX = 100
COMMENT_MAX = 500
WALK_IN_NAME_MAX = 100
REASON_MAX = 300


# -- errors: `message` is what the resident or staff member is told ------------------------


class CourseError(Exception):
    message = "お申し込みを受け付けられませんでした。"


class SessionNotOpen(CourseError):
    """Not published (a draft), or removed."""

    message = "申し訳ありません、この回はいま受付をしていません。"


class SessionCancelled(CourseError):
    message = "申し訳ありません、この回は中止になりました。"


class DeadlinePassed(CourseError):
    def __init__(self, deadline: datetime) -> None:
        super().__init__(deadline)
        self.message = (
            f"申し訳ありません、この回の申込みは締め切りました"
            f"（締切: {format_jst(deadline, '%m/%d %H:%M')}）。"
        )


class SessionStarted(CourseError):
    message = "この回はすでに始まっているか、終了しています。"


class AlreadyRegistered(CourseError):
    """The resident already holds a registration (or a waitlist place) for this session."""

    def __init__(self, registration: Registration) -> None:
        super().__init__(registration.id)
        self.registration = registration
        self.message = (
            "この回はすでにお申し込みいただいています。"
            if registration.status == RegistrationStatus.REGISTERED
            else "この回はすでにキャンセル待ちに登録されています。"
        )


class ChildcareFull(CourseError):
    """A seat is free but the children cannot be placed: the resident may register without
    託児 or wait for a 託児 place (the flow offers both)."""

    def __init__(self, left: int) -> None:
        super().__init__(left)
        self.left = left
        self.message = (
            f"申し訳ありません、託児の空きが足りません（あと{left}人分のみ）。"
            if left
            else "申し訳ありません、託児の枠が埋まっています。"
        )


class TooManyChildren(CourseError):
    message = f"託児でお預かりできるのは、1回のお申し込みにつき{MAX_CHILDREN}人までです。"


class ChildcareTooSmall(TooManyChildren):
    """More children than the session's whole 託児 capacity: they could never be placed, so
    the resident is not put on a waitlist that cannot move."""

    def __init__(self, places: int) -> None:
        super().__init__(places)
        self.message = (
            f"この回の託児でお預かりできるのは{places}人までです。"
            "人数を選び直すか、託児なしでお申し込みください。"
        )


class NotYours(CourseError):
    message = "このお申し込みは見つかりませんでした。"


class NotCancellable(CourseError):
    message = "このお申し込みはすでにキャンセルされているか、終了しています。"


class OfferGone(CourseError):
    """An offer that expired, was declined, or (everyone-at-once) was taken by someone else."""

    message = "申し訳ありません、このご案内は期限が過ぎたか、ほかの方のお申し込みで埋まりました。"


class NoFreeSeat(CourseError):
    """Staff promote or add a walk-in with no free seat (and did not say to go beyond)."""

    message = (
        "空いている席がありません。定員を増やすか、「定員を超えて受け入れる」を選んでください。"
    )


class CheckinClosed(CourseError):
    def __init__(self, opens_at: datetime, closed: bool) -> None:
        super().__init__(opens_at)
        self.message = (
            "この回は終了したため、チェックインできません。"
            if closed
            else "チェックインは当日、開始30分前から受け付けます"
            f"（{format_jst(opens_at, '%m/%d %H:%M')}から）。"
        )


class NotRegistered(CourseError):
    """チェックイン by someone on the waitlist (or no longer registered)."""

    message = (
        "チェックインは、お申し込みが確定している方のみご利用いただけます。"
        "キャンセル待ちの方は、繰り上げのご案内をお待ちください。"
    )


class NotAttended(CourseError):
    message = "満足度のご回答は、当日ご参加いただいた方にお願いしています。"


class TooEarlyToMark(CourseError):
    def __init__(self, opens_at: datetime) -> None:
        super().__init__(opens_at)
        self.message = f"出欠は当日（{format_jst(opens_at, '%m/%d %H:%M')}以降）から記録できます。"


class AlreadyCopied(CourseError):
    """A copy would repeat a session the programme already has at that start (a second tap
    on コピー, or copied before): `twin` is that session."""

    def __init__(self, twin: ProgrammeSession) -> None:
        super().__init__(twin.id)
        self.twin = twin
        self.message = "この日時の開催回はすでにあります。"


class BadSession(CourseError):
    """A session form's values break a rule; `problems` are the Japanese reasons."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems
        self.message = "\n".join(problems)


# -- what happened, for the caller to tell ------------------------------------------------


@dataclass
class Outcome:
    registration: Registration | None = None
    # Single offers made (status OFFERED, seat held) and everyone-at-once offers pushed
    # (status WAITING, open_offer_at set): each gets its push.
    offers: list[Registration] = field(default_factory=list)
    # Everyone-at-once offers whose seat went to someone else: told kindly.
    taken: list[Registration] = field(default_factory=list)
    # Single offers whose deadline passed (told, and the next person is offered).
    expired: list[Registration] = field(default_factory=list)

    def merge(self, other: Outcome) -> Outcome:
        self.offers += other.offers
        self.taken += other.taken
        self.expired += other.expired
        return self


# -- time rules ---------------------------------------------------------------------------


def open_offers_from(settings: Settings, session: ProgrammeSession) -> datetime:
    """From this time on a freed seat goes to everyone waiting at once."""
    return session.starts_at - timedelta(hours=settings.course_open_offer_hours)


def checkin_opens(settings: Settings, session: ProgrammeSession) -> datetime:
    return session.starts_at - timedelta(minutes=settings.course_checkin_minutes)


def can_check_in(settings: Settings, session: ProgrammeSession, at: datetime | None = None) -> bool:
    at = at or now()
    return checkin_opens(settings, session) <= at < session.ends_at


def is_open_for_signup(session: ProgrammeSession, at: datetime | None = None) -> bool:
    at = at or now()
    return session.status == SessionStatus.PUBLISHED and at < session.deadline


# -- reading ------------------------------------------------------------------------------


def _waitlist_order(registration: Registration) -> tuple[datetime, int]:
    return (registration.queued_at or registration.created_at, registration.id)


async def upcoming_sessions(limit: int = 10) -> list[ProgrammeSession]:
    """Published sessions that have not started, soonest first, programme loaded."""
    return (
        await ProgrammeSession.filter(
            status=SessionStatus.PUBLISHED, starts_at__gt=now(), programme__is_archived=False
        )
        .select_related("programme")
        .order_by("starts_at", "id")
        .limit(limit)
    )


async def waitlist_position(registration: Registration) -> int:
    """1 for the first person waiting (a WAITING registration)."""
    queued = registration.queued_at or registration.created_at
    ahead = await Registration.filter(
        Q(queued_at__lt=queued) | Q(queued_at=queued, id__lt=registration.id),
        session_id=registration.session_id,
        status=RegistrationStatus.WAITING,
    ).count()
    return ahead + 1


async def mine(resident: Resident) -> list[Registration]:
    """The resident's registrations, waitlist places and open offers for sessions that have
    not ended, soonest first (session and programme loaded)."""
    return (
        await Registration.filter(
            resident=resident, status__in=ACTIVE_STATUSES, session__ends_at__gt=now()
        )
        .select_related("session", "session__programme")
        .order_by("session__starts_at", "id")
    )


async def registrations_of(session_id: int) -> list[Registration]:
    """Every registration of a session in order (registered first by time, then the
    waitlist in its order, then the rest), resident loaded."""
    rows = await Registration.filter(session_id=session_id).select_related("resident")

    def order(r: Registration) -> tuple[int, datetime, int]:
        if r.status == RegistrationStatus.REGISTERED:
            return (0, r.registered_at or r.created_at, r.id)
        if r.status in (RegistrationStatus.OFFERED, RegistrationStatus.WAITING):
            return (1, *_waitlist_order(r))
        return (2, r.created_at, r.id)

    return sorted(rows, key=order)


async def waitlist(session_id: int) -> list[Registration]:
    """The waitlist in its order: WAITING and OFFERED rows by (queued_at, id)."""
    return (
        await Registration.filter(
            session_id=session_id,
            status__in=(RegistrationStatus.WAITING, RegistrationStatus.OFFERED),
        )
        .select_related("resident")
        .order_by("queued_at", "id")
    )


# -- seats: every change of the session's counters goes through these ---------------------


async def _locked_session(session_id: int) -> ProgrammeSession | None:
    """The session row, locked until the caller's transaction ends (PostgreSQL; SQLite runs
    one transaction at a time): sign-ups, offers and cancels of one session take turns."""
    return await ProgrammeSession.filter(id=session_id).select_for_update().first()


async def _take_seat(
    session_id: int, children: int, *, check: dict[str, object] | None = None
) -> bool:
    """Take one seat (and `children` 託児 places) if free: a conditional UPDATE that must
    touch one row, so capacity holds whatever else runs at the same time."""
    taken = await ProgrammeSession.filter(
        id=session_id,
        taken__lt=F("seats"),
        childcare_taken__lte=F("childcare_places") - children,
        **(check or {}),
    ).update(taken=F("taken") + 1, childcare_taken=F("childcare_taken") + children)
    return taken == 1


async def _free_seat(session_id: int, children: int) -> None:
    await ProgrammeSession.filter(id=session_id, taken__gt=0).update(taken=F("taken") - 1)
    if children:
        await ProgrammeSession.filter(id=session_id, childcare_taken__gte=children).update(
            childcare_taken=F("childcare_taken") - children
        )


async def _leave(
    registration: Registration,
    status: RegistrationStatus,
    *,
    by: CancelledBy = CancelledBy.NOBODY,
    reason: str = "",
    only_from: tuple[RegistrationStatus, ...] = ACTIVE_STATUSES,
) -> bool:
    """Move an active registration out (cancelled, declined, expired), freeing what it held.
    Conditional on its status, so of two racing callers only one frees the seat."""
    was = RegistrationStatus(registration.status)
    if was not in only_from:
        return False
    at = now()
    changes: dict[str, object] = {"status": status, "active_key": None, "open_offer_at": None}
    if status == RegistrationStatus.CANCELLED:
        changes |= {"cancelled_at": at, "cancelled_by": by, "cancel_reason": reason[:REASON_MAX]}
    updated = await Registration.filter(id=registration.id, status=was).update(**changes)
    if updated != 1:
        return False
    if was == RegistrationStatus.WAITING:
        await ProgrammeSession.filter(id=registration.session_id, waiting__gt=0).update(
            waiting=F("waiting") - 1
        )
    else:  # REGISTERED, or an OFFERED row holding its seat
        await _free_seat(registration.session_id, registration.children)
    await registration.refresh_from_db()
    return True


def _check_children(children: int, ages: str) -> None:
    if children < 0 or children > MAX_CHILDREN:
        raise TooManyChildren
    if len(ages) > AGES_MAX:
        raise BadSession([f"お子さまの年齢は{AGES_MAX}文字以内でお書きください。"])


def signup_closed(
    session: ProgrammeSession, at: datetime | None = None, by: BookedBy = BookedBy.RESIDENT
) -> CourseError | None:
    """Why a sign-up would be refused now (the error to tell), or None while it is open.
    `register` checks it again at the final step."""
    at = at or now()
    if session.status == SessionStatus.CANCELLED:
        return SessionCancelled()
    if session.status != SessionStatus.PUBLISHED:
        return SessionNotOpen()
    if session.starts_at <= at:
        return SessionStarted()
    if by == BookedBy.RESIDENT and session.deadline <= at:
        return DeadlinePassed(session.deadline)
    return None


# -- residents' actions -------------------------------------------------------------------


@dataclass(frozen=True)
class SignUp:
    session_id: int
    children: int = 0  # 託児: 0 = not needed
    children_ages: str = ""
    request_key: str | None = None  # the 確定 nonce: a double tap registers once
    # Join the waitlist even though a seat is free: waiting for a 託児 place (ChildcareFull).
    wait_for_childcare: bool = False
    registered_by: BookedBy = BookedBy.RESIDENT


async def register(resident: Resident, signup: SignUp, settings: Settings) -> Outcome:
    """Register, or join the waitlist when the session is full (or others are waiting).
    Raises SessionNotOpen, SessionCancelled, DeadlinePassed, SessionStarted,
    AlreadyRegistered, ChildcareFull, TooManyChildren. A repeated request_key returns what
    it made."""
    request_key = signup.request_key
    if request_key:
        # Almost always nothing: the joins are fetched only for a repeat.
        earlier = await Registration.filter(request_key=request_key).first()
        if earlier is not None and earlier.resident_id == resident.id:
            await earlier.fetch_related("session", "session__programme")
            return Outcome(registration=earlier)
        if earlier is not None:
            request_key = None  # someone else's key (forged or guessed): theirs stays theirs
    _check_children(signup.children, signup.children_ages)
    session = await _locked_session(signup.session_id)
    if session is None:
        raise SessionNotOpen
    at = now()
    closed = signup_closed(session, at, signup.registered_by)
    if closed is not None:
        raise closed
    if signup.children and session.childcare_places <= 0:
        raise ChildcareFull(0)
    if signup.children > session.childcare_places:
        raise ChildcareTooSmall(session.childcare_places)
    key = f"{session.id}:{resident.id}"
    existing = await Registration.get_or_none(active_key=key)
    if existing is not None:
        raise AlreadyRegistered(existing)
    # Someone waiting whose need a free seat would fit goes first: a newcomer queues behind
    # them (the worker offers them the seat; overnight it waits for the morning).
    left = session.childcare_places - session.childcare_taken
    queue_first = await Registration.exists(
        Q(children=0) | Q(children__lte=left),
        session_id=session.id,
        status=RegistrationStatus.WAITING,
    )
    # The sign-up rules are part of the conditional UPDATE too, so they hold at the final
    # step however old the button is.
    still_open: dict[str, object] = {"status": SessionStatus.PUBLISHED, "starts_at__gt": at}
    if signup.registered_by == BookedBy.RESIDENT:
        still_open["deadline__gt"] = at
    if not queue_first and await _take_seat(session.id, signup.children, check=still_open):
        status, queued_at, registered_at = RegistrationStatus.REGISTERED, None, at
    else:
        seat_free = session.taken < session.seats
        fits = signup.children <= left
        if seat_free and not fits and not queue_first and not signup.wait_for_childcare:
            raise ChildcareFull(max(left, 0))
        await ProgrammeSession.filter(id=session.id).update(waiting=F("waiting") + 1)
        status, queued_at, registered_at = RegistrationStatus.WAITING, at, None
    registration = await Registration.create(
        session=session,
        resident=resident,
        status=status,
        children=signup.children,
        children_ages=signup.children_ages.strip(),
        active_key=key,
        request_key=request_key,
        registered_by=signup.registered_by,
        queued_at=queued_at,
        registered_at=registered_at,
    )
    # The counters as this transaction left them (the row is locked until it ends).
    if status == RegistrationStatus.REGISTERED:
        session.taken += 1
        session.childcare_taken += signup.children
    else:
        session.waiting += 1
    await session.fetch_related("programme")
    registration.session = session
    return Outcome(registration=registration)


async def _own(resident: Resident, registration_id: int) -> Registration:
    """The resident's own registration; another resident's id (a forged postback) is
    NotYours, and changes nothing."""
    registration = await Registration.get_or_none(
        id=registration_id, resident=resident
    ).select_related("session", "session__programme")
    if registration is None:
        raise NotYours
    return registration


async def cancel_by_resident(
    resident: Resident, registration_id: int, settings: Settings
) -> Outcome:
    """A resident cancels a registration, leaves the waitlist, or declines an offer; another
    resident's id is NotYours. The freed seat goes to `fill` at once."""
    registration = await _own(resident, registration_id)
    await _locked_session(registration.session_id)
    if registration.session.ends_at <= now() or not await _leave(
        registration, RegistrationStatus.CANCELLED, by=CancelledBy.RESIDENT
    ):
        raise NotCancellable
    outcome = Outcome(registration=registration)
    return outcome.merge(await fill(registration.session_id, settings))


async def accept_offer(resident: Resident, registration_id: int, settings: Settings) -> Outcome:
    """参加する on an offer: a held offer (OFFERED, before its deadline) becomes registered; an
    everyone-at-once offer takes a free seat if one is left (first come). Raises OfferGone."""
    registration = await _own(resident, registration_id)
    if registration.status == RegistrationStatus.REGISTERED:
        return Outcome(registration=registration)  # a second tap: it is theirs already
    await _locked_session(registration.session_id)
    at = now()
    if registration.session.starts_at <= at:
        raise OfferGone
    if registration.status == RegistrationStatus.OFFERED:
        won = await Registration.filter(
            id=registration.id, status=RegistrationStatus.OFFERED, offer_expires_at__gt=at
        ).update(status=RegistrationStatus.REGISTERED, registered_at=at)
        if won != 1:
            raise OfferGone
        await registration.refresh_from_db()
        return Outcome(registration=registration)
    if registration.status != RegistrationStatus.WAITING or registration.open_offer_at is None:
        raise OfferGone
    if not await _take_seat(registration.session_id, registration.children):
        raise OfferGone
    won = await Registration.filter(id=registration.id, status=RegistrationStatus.WAITING).update(
        status=RegistrationStatus.REGISTERED, registered_at=at, open_offer_at=None
    )
    if won != 1:  # left the waitlist meanwhile: give the seat back
        await _free_seat(registration.session_id, registration.children)
        raise OfferGone
    await ProgrammeSession.filter(id=registration.session_id, waiting__gt=0).update(
        waiting=F("waiting") - 1
    )
    await registration.refresh_from_db()
    outcome = Outcome(registration=registration)
    session = await ProgrammeSession.get(id=registration.session_id)
    if session.taken >= session.seats:
        # Full again: the others who were offered this seat are told it was taken.
        others = await Registration.filter(
            session_id=session.id,
            status=RegistrationStatus.WAITING,
            open_offer_at__isnull=False,
        ).select_related("resident", "session", "session__programme")
        if others:
            await Registration.filter(id__in=[o.id for o in others]).update(open_offer_at=None)
        outcome.taken = list(others)
    return outcome


async def decline_offer(resident: Resident, registration_id: int, settings: Settings) -> Outcome:
    """辞退する: the resident leaves the waitlist and the seat goes to the next person."""
    registration = await _own(resident, registration_id)
    await _locked_session(registration.session_id)
    waiting = (RegistrationStatus.OFFERED, RegistrationStatus.WAITING)
    if not await _leave(registration, RegistrationStatus.DECLINED, only_from=waiting):
        raise OfferGone
    outcome = Outcome(registration=registration)
    return outcome.merge(await fill(registration.session_id, settings))


async def check_in(resident: Resident, registration_id: int, settings: Settings) -> Registration:
    """チェックイン from LINE, from `course_checkin_minutes` before the start until the end."""
    registration = await _own(resident, registration_id)
    if registration.status != RegistrationStatus.REGISTERED:
        raise NotRegistered
    at = now()
    session = registration.session
    if not can_check_in(settings, session, at):
        raise CheckinClosed(checkin_opens(settings, session), closed=at >= session.ends_at)
    if registration.attendance != Attendance.PRESENT:
        await Registration.filter(id=registration.id).update(
            attendance=Attendance.PRESENT, attendance_by="line", attendance_at=at
        )
        await registration.refresh_from_db()
    return registration


async def rate(resident: Resident, registration_id: int, value: int) -> Registration:
    """満足度 1–5 after the session (attendees only; a later answer replaces it)."""
    registration = await _own(resident, registration_id)
    if not 1 <= value <= 5:
        raise BadSession(["満足度は1〜5でお選びください。"])
    if registration.attendance != Attendance.PRESENT:
        raise NotAttended
    await Registration.filter(id=registration.id).update(satisfaction=value)
    registration.satisfaction = value
    return registration


async def comment(resident: Resident, registration_id: int, text: str) -> Registration:
    registration = await _own(resident, registration_id)
    if registration.attendance != Attendance.PRESENT:
        raise NotAttended
    text = text.strip()
    if len(text) > COMMENT_MAX:
        raise BadSession(
            [f"コメントは{COMMENT_MAX}文字以内でお願いします（いま{len(text)}文字です）。"]
        )
    await Registration.filter(id=registration.id).update(comment=text)
    registration.comment = text
    return registration


# -- the waitlist ------------------------------------------------------------------------


async def fill(session_id: int, settings: Settings, at: datetime | None = None) -> Outcome:
    """Offer the session's free seats to the waitlist (see the module docstring)."""
    at = at or now()
    outcome = Outcome()
    if is_quiet(settings, at):
        return outcome  # the overnight pause: the worker offers the seat in the morning
    session = await _locked_session(session_id)
    if session is None or session.status != SessionStatus.PUBLISHED or session.starts_at <= at:
        return outcome
    free = session.seats - session.taken
    if free <= 0 or session.waiting <= 0:
        return outcome
    left = session.childcare_places - session.childcare_taken
    fits = Q(children=0) | Q(children__lte=left)
    if at >= open_offers_from(settings, session):
        # Close to the start: everyone waiting whose need fits hears of it at once.
        fresh = await Registration.filter(
            fits,
            session_id=session_id,
            status=RegistrationStatus.WAITING,
            open_offer_at__isnull=True,
        ).select_related("resident", "session", "session__programme")
        if fresh:
            await Registration.filter(
                id__in=[r.id for r in fresh], open_offer_at__isnull=True
            ).update(open_offer_at=at)
            for r in fresh:
                r.open_offer_at = at
            outcome.offers += fresh
        return outcome
    deadline = min(offer_deadline(settings, at), session.starts_at)
    while free > 0:
        left = session.childcare_places - session.childcare_taken
        candidates = (
            await Registration.filter(
                Q(children=0) | Q(children__lte=left),
                session_id=session_id,
                status=RegistrationStatus.WAITING,
            )
            .order_by("queued_at", "id")
            .limit(1)
            .select_related("resident", "session", "session__programme")
        )
        if not candidates:
            break
        first = candidates[0]
        if not await _take_seat(session_id, first.children):
            break
        won = await Registration.filter(id=first.id, status=RegistrationStatus.WAITING).update(
            status=RegistrationStatus.OFFERED, offered_at=at, offer_expires_at=deadline
        )
        if won != 1:
            await _free_seat(session_id, first.children)
            continue
        await ProgrammeSession.filter(id=session_id, waiting__gt=0).update(waiting=F("waiting") - 1)
        first.status = RegistrationStatus.OFFERED
        first.offered_at, first.offer_expires_at = at, deadline
        outcome.offers.append(first)
        await session.refresh_from_db()
        free = session.seats - session.taken
    return outcome


async def run_offers(settings: Settings) -> Outcome:
    """The worker's round: expire single offers past their deadline, then fill every
    session with free seats and people waiting."""
    at = now()
    outcome = Outcome()
    due = await Registration.filter(
        status=RegistrationStatus.OFFERED, offer_expires_at__lte=at
    ).select_related("resident", "session", "session__programme")
    for registration in due:
        await _locked_session(registration.session_id)
        if await _leave(
            registration,
            RegistrationStatus.EXPIRED,
            only_from=(RegistrationStatus.OFFERED,),
        ):
            outcome.expired.append(registration)
    if is_quiet(settings, at):
        return outcome
    sessions = await ProgrammeSession.filter(
        status=SessionStatus.PUBLISHED,
        starts_at__gt=at,
        waiting__gt=0,
        taken__lt=F("seats"),
    ).values_list("id", flat=True)
    for session_id in sessions:
        outcome.merge(await fill(int(session_id), settings, at))  # type: ignore[call-overload]
    return outcome


# -- staff actions ------------------------------------------------------------------------


async def _any(registration_id: int) -> Registration:
    registration = await Registration.get_or_none(id=registration_id).select_related(
        "session", "session__programme", "resident"
    )
    if registration is None:
        raise NotYours
    return registration


async def cancel_by_staff(registration_id: int, reason: str, settings: Settings) -> Outcome:
    """Staff cancel a registration (or a waitlist place) with a reason; the caller tells the
    resident. The freed seat goes to `fill`."""
    registration = await _any(registration_id)
    await _locked_session(registration.session_id)
    if not await _leave(
        registration, RegistrationStatus.CANCELLED, by=CancelledBy.STAFF, reason=reason.strip()
    ):
        raise NotCancellable
    outcome = Outcome(registration=registration)
    return outcome.merge(await fill(registration.session_id, settings))


async def promote(registration_id: int, settings: Settings) -> Outcome:
    """Staff move someone from the waitlist to registered by hand (out of queue order), into
    a free seat (NoFreeSeat otherwise; ChildcareFull when the children cannot be placed)."""
    registration = await _any(registration_id)
    session = await _locked_session(registration.session_id)
    at = now()
    if session is None or session.status == SessionStatus.CANCELLED:
        raise SessionCancelled
    if registration.status == RegistrationStatus.OFFERED:  # its seat is held already
        await Registration.filter(id=registration.id, status=RegistrationStatus.OFFERED).update(
            status=RegistrationStatus.REGISTERED, registered_at=at
        )
    elif registration.status == RegistrationStatus.WAITING:
        if not await _take_seat(session.id, registration.children):
            if session.taken < session.seats:
                raise ChildcareFull(max(session.childcare_places - session.childcare_taken, 0))
            raise NoFreeSeat
        won = await Registration.filter(
            id=registration.id, status=RegistrationStatus.WAITING
        ).update(status=RegistrationStatus.REGISTERED, registered_at=at, open_offer_at=None)
        if won != 1:
            await _free_seat(session.id, registration.children)
            raise NotCancellable
        await ProgrammeSession.filter(id=session.id, waiting__gt=0).update(waiting=F("waiting") - 1)
    else:
        raise NotCancellable
    await registration.refresh_from_db()
    return Outcome(registration=registration)


async def add_walk_in(
    session_id: int, name: str, settings: Settings, *, beyond_capacity: bool = False
) -> Registration:
    """A walk-in at the door, by name, marked present; takes a free seat, or goes beyond
    the seats only when staff say so (NoFreeSeat otherwise). From check-in opening on."""
    name = " ".join(name.split())
    if not name:
        raise BadSession(["当日参加の方のお名前を入力してください。"])
    if len(name) > WALK_IN_NAME_MAX:
        raise BadSession([f"お名前は{WALK_IN_NAME_MAX}文字以内で入力してください。"])
    session = await _locked_session(session_id)
    if session is None:
        raise SessionNotOpen
    if session.status == SessionStatus.CANCELLED:
        raise SessionCancelled
    at = now()
    if at < checkin_opens(settings, session):
        raise TooEarlyToMark(checkin_opens(settings, session))
    if not await _take_seat(session_id, 0):
        if not beyond_capacity:
            raise NoFreeSeat
        await ProgrammeSession.filter(id=session_id).update(taken=F("taken") + 1)
    return await Registration.create(
        session_id=session_id,
        resident=None,
        walk_in_name=name,
        status=RegistrationStatus.REGISTERED,
        registered_by=BookedBy.STAFF,
        registered_at=at,
        attendance=Attendance.PRESENT,
        attendance_by="staff",
        attendance_at=at,
    )


async def mark_attendance(
    registration_id: int, attendance: Attendance, settings: Settings
) -> Registration:
    """出席 / 欠席 at the door, or back to 未記録 (undo); from check-in opening on."""
    registration = await _any(registration_id)
    if registration.status != RegistrationStatus.REGISTERED:
        raise NotCancellable
    opens = checkin_opens(settings, registration.session)
    at = now()
    if attendance != Attendance.UNKNOWN and at < opens:
        raise TooEarlyToMark(opens)
    # Conditional: a cancel that commits meanwhile is not overwritten.
    updated = await Registration.filter(
        id=registration.id, status=RegistrationStatus.REGISTERED
    ).update(
        attendance=attendance,
        attendance_by="staff" if attendance != Attendance.UNKNOWN else "",
        attendance_at=at if attendance != Attendance.UNKNOWN else None,
    )
    if updated != 1:
        raise NotCancellable
    await registration.refresh_from_db()
    return registration


@dataclass(frozen=True)
class SessionSpec:
    starts_at: datetime
    ends_at: datetime
    seats: int
    childcare_places: int = 0
    deadline: datetime | None = None  # None: the start
    venue: str = "WorkStyle Lab Inno"
    online: bool = False
    online_url: str = ""
    status: SessionStatus = SessionStatus.DRAFT

    @classmethod
    def of(cls, session: ProgrammeSession) -> SessionSpec:
        """A session's values as they are (to change a few with `dataclasses.replace`)."""
        return cls(
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            seats=session.seats,
            childcare_places=session.childcare_places,
            deadline=session.deadline,
            venue=session.venue,
            online=session.online,
            online_url=session.online_url,
            status=SessionStatus(session.status),
        )


MAX_SEATS = 1000
MAX_CHILDCARE = 100


def spec_problems(spec: SessionSpec, session: ProgrammeSession | None = None) -> list[str]:
    """What is wrong with a session's values (Japanese); [] when fine. A new start time (a
    new session, or a moved one) must be in the future."""
    problems = []
    moved = session is None or spec.starts_at != session.starts_at
    if moved and spec.starts_at <= now():
        problems.append("開始日時が過去です。これからの日時を指定してください。")
    elif (
        spec.status == SessionStatus.PUBLISHED
        and session is not None
        and session.status != SessionStatus.PUBLISHED
        and spec.starts_at <= now()
    ):
        problems.append("すでに始まった回は公開できません。")
    if spec.ends_at <= spec.starts_at:
        problems.append("終了日時は開始日時より後にしてください。")
    elif spec.ends_at - spec.starts_at > timedelta(hours=24):
        problems.append("1回の長さは24時間までです。終了日時を確認してください。")
    if spec.deadline is not None and spec.deadline > spec.starts_at:
        problems.append("申込締切は開始日時より前にしてください。")
    if not 1 <= spec.seats <= MAX_SEATS:
        problems.append(f"定員は1〜{MAX_SEATS}人で指定してください。")
    if not 0 <= spec.childcare_places <= MAX_CHILDCARE:
        problems.append(f"託児の定員は0〜{MAX_CHILDCARE}人で指定してください。")
    if session is not None:
        if spec.seats < session.taken:
            problems.append(
                f"定員を申込済みの人数（{session.taken}人）より少なくはできません。"
                "先に申込みをキャンセルしてください。"
            )
        if spec.childcare_places < session.childcare_taken:
            problems.append(
                f"託児の定員を、すでにお預かり予定の人数（{session.childcare_taken}人）"
                "より少なくはできません。"
            )
    if spec.online:
        if spec.online_url and not spec.online_url.startswith("https://"):
            problems.append("オンラインのURLは https:// から始まるものを入力してください。")
        elif not spec.online_url and spec.status == SessionStatus.PUBLISHED:
            # Residents are told how to join in the reminder: a published online session
            # without a link would leave them with nothing.
            problems.append("オンラインの回を公開するには、参加用のURLを入力してください。")
    elif not spec.venue.strip():
        problems.append("会場を入力するか、「オンライン」を選んでください。")
    return problems


def _fields(spec: SessionSpec) -> dict[str, Any]:
    return {
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "seats": spec.seats,
        "childcare_places": spec.childcare_places,
        "deadline": spec.deadline or spec.starts_at,
        "venue": spec.venue.strip(),
        "online": spec.online,
        "online_url": spec.online_url.strip() if spec.online else "",
        "status": spec.status,
    }


async def create_session(programme: Programme, spec: SessionSpec) -> ProgrammeSession:
    problems = spec_problems(spec)
    if problems:
        raise BadSession(problems)
    return await ProgrammeSession.create(programme=programme, **_fields(spec))


async def update_session(session_id: int, spec: SessionSpec, settings: Settings) -> Outcome:
    """Edit a session; seats and 託児 places never below what is taken. More seats go to
    `fill`."""
    session = await _locked_session(session_id)
    if session is None:
        raise SessionNotOpen
    if session.status == SessionStatus.CANCELLED:
        raise SessionCancelled
    problems = spec_problems(spec, session)
    if problems:
        raise BadSession(problems)
    # Conditional on what was checked: a sign-up meanwhile cannot leave seats < taken.
    updated = await ProgrammeSession.filter(
        id=session_id,
        taken__lte=spec.seats,
        childcare_taken__lte=spec.childcare_places,
    ).update(**_fields(spec))
    if updated != 1:
        await session.refresh_from_db()
        raise BadSession(spec_problems(spec, session) or ["もう一度お試しください。"])
    return await fill(session_id, settings)


async def copy_session(session_id: int, *, weeks: int = 0, months: int = 0) -> ProgrammeSession:
    """The same session one week / one month later, as a draft with no registrations."""
    session = await ProgrammeSession.get(id=session_id).select_related("programme")

    def later(value: datetime) -> datetime:
        local = value.astimezone(JST)
        day = add_months(local.date(), months) + timedelta(weeks=weeks)
        return jst_datetime(day, local.timetz().replace(tzinfo=None))

    spec = replace(
        SessionSpec.of(session),
        starts_at=later(session.starts_at),
        ends_at=later(session.ends_at),
        deadline=later(session.deadline),
        status=SessionStatus.DRAFT,
    )
    # One programme never runs twice at the same start (a double tap on コピー copies once).
    twin = (
        await ProgrammeSession.filter(programme_id=session.programme_id, starts_at=spec.starts_at)
        .exclude(status=SessionStatus.CANCELLED)
        .first()
    )
    if twin is not None:
        raise AlreadyCopied(twin)
    return await create_session(session.programme, spec)


async def cancel_session(session_id: int, reason: str) -> list[Registration]:
    """中止: every active registration is cancelled; returns them (resident loaded) for the
    notices. A session already cancelled returns []."""
    session = await _locked_session(session_id)
    if session is None:
        raise SessionNotOpen
    if session.status == SessionStatus.CANCELLED:
        return []
    reason = reason.strip()[:REASON_MAX]
    await ProgrammeSession.filter(id=session_id).update(
        status=SessionStatus.CANCELLED, cancel_reason=reason, taken=0, childcare_taken=0, waiting=0
    )
    active = await Registration.filter(
        session_id=session_id, status__in=ACTIVE_STATUSES
    ).select_related("resident", "session", "session__programme")
    if active:
        await Registration.filter(id__in=[r.id for r in active]).update(
            status=RegistrationStatus.CANCELLED,
            active_key=None,
            open_offer_at=None,
            cancelled_at=now(),
            cancelled_by=CancelledBy.STAFF,
            cancel_reason=reason,
        )
    return [r for r in active if r.resident_id is not None]


# -- the clock's jobs ---------------------------------------------------------------------


async def claim_due_reminders(settings: Settings, limit: int = 200) -> list[Registration]:
    """Registered residents whose day-before reminder is due, each claimed once
    (compare-and-set on `reminder_queued_at`) — call inside the transaction that queues it."""
    at = now()
    candidates = (
        await Registration.filter(
            status=RegistrationStatus.REGISTERED,
            resident_id__isnull=False,
            reminder_queued_at__isnull=True,
            session__status=SessionStatus.PUBLISHED,
            session__starts_at__gt=at,
            session__starts_at__lte=at + timedelta(days=2),
        )
        .select_related("session", "session__programme", "resident")
        .order_by("id")
        .limit(limit)
    )
    claimed = []
    for registration in candidates:
        due = reminder_time(registration.session.starts_at, settings)
        if due > at:
            continue
        won = await Registration.filter(
            id=registration.id,
            status=RegistrationStatus.REGISTERED,
            reminder_queued_at__isnull=True,
        ).update(reminder_queued_at=at)
        # Registered after the reminder time (the evening before): the confirmation was enough.
        got_seat = registration.registered_at or registration.created_at
        if won == 1 and got_seat < due:
            claimed.append(registration)
    return claimed


FOLLOWUP_WITHIN = timedelta(days=3)  # an older session gets no question (e.g. after downtime)


async def claim_due_followups(settings: Settings, limit: int = 200) -> list[Registration]:
    """Attendees of sessions that ended, each claimed once for the 満足度 question."""
    at = now()
    candidates = (
        await Registration.filter(
            status=RegistrationStatus.REGISTERED,
            attendance=Attendance.PRESENT,
            resident_id__isnull=False,
            followup_queued_at__isnull=True,
            session__ends_at__lte=at,
            session__ends_at__gt=at - FOLLOWUP_WITHIN,
        )
        .select_related("session", "session__programme", "resident")
        .order_by("id")
        .limit(limit)
    )
    claimed = []
    for registration in candidates:
        won = await Registration.filter(id=registration.id, followup_queued_at__isnull=True).update(
            followup_queued_at=at
        )
        if won == 1:
            claimed.append(registration)
    return claimed


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )
