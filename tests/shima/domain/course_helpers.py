"""Builders, a movable clock and the counter check shared by the 寺子屋・交流会 rule tests.

Every rule call runs inside its own transaction, as the LINE flow, the admin and the worker
call them. The clock is the domain module's `now` (monkeypatched); it starts on a fixed
weekday morning far enough ahead that real timestamps (created_at) are always earlier."""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from tortoise.transactions import in_transaction

from models.consultation import BookedBy
from models.course import (
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.residents import Resident
from shima.domain import course as rules
from shima.settings import Settings
from shima.timeutil import JST
from tests.shima.domain.helpers import resident

__all__ = ["resident"]

DAY = date(2030, 6, 10)  # a Monday; the clock starts here at 10:00 JST
SESSION_DAY = DAY + timedelta(days=5)  # sessions are on the Saturday unless a test says so


def jst(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=JST).astimezone(UTC)


class Clock:
    """The time the domain sees. `at` is shared; `arrive(t)` sets it for the current task
    only (each of several concurrent callers arrives at its own moment)."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self._mine: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
            "course_clock", default=None
        )

    def __call__(self) -> datetime:
        return self._mine.get() or self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at

    def arrive(self, at: datetime) -> None:
        self._mine.set(at)


def moving_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The domain's clock for one test (each test file's `clock` fixture), from DAY 10:00."""
    moving = Clock(jst(DAY, 10))
    monkeypatch.setattr(rules, "now", moving)
    return moving


# ---------- builders ----------


async def programme(title: str = "フリーランス寺子屋：Webサイト制作入門") -> Programme:
    return await Programme.create(kind=ProgrammeKind.TERAKOYA, title=title)


async def session(
    starts_at: datetime | None = None,
    *,
    seats: int = 10,
    childcare: int = 0,
    hours: float = 2,
    deadline: datetime | None = None,
    status: SessionStatus = SessionStatus.PUBLISHED,
    venue: str = "WorkStyle Lab Inno",
) -> ProgrammeSession:
    starts_at = starts_at or jst(SESSION_DAY, 10)
    return await ProgrammeSession.create(
        programme=await programme(),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        seats=seats,
        childcare_places=childcare,
        deadline=deadline or starts_at,
        status=status,
        venue=venue,
    )


async def residents(n: int) -> list[Resident]:
    return [await resident(f"住民{i:02d}") for i in range(n)]


# ---------- the rules, each in its own transaction ----------


async def register(
    who: Resident,
    session_id: int,
    settings: Settings,
    *,
    children: int = 0,
    ages: str = "",
    request_key: str | None = None,
    wait_for_childcare: bool = False,
    registered_by: BookedBy = BookedBy.RESIDENT,
) -> rules.Outcome:
    signup = rules.SignUp(
        session_id,
        children=children,
        children_ages=ages,
        request_key=request_key,
        wait_for_childcare=wait_for_childcare,
        registered_by=registered_by,
    )
    async with in_transaction():
        return await rules.register(who, signup, settings)


async def signed_up(
    who: Resident, session_id: int, settings: Settings, **kw: object
) -> Registration:
    """register() and the registration it made (registered or waiting)."""
    outcome = await register(who, session_id, settings, **kw)  # type: ignore[arg-type]
    assert outcome.registration is not None
    return outcome.registration


async def cancel(who: Resident, registration_id: int, settings: Settings) -> rules.Outcome:
    async with in_transaction():
        return await rules.cancel_by_resident(who, registration_id, settings)


async def accept(who: Resident, registration_id: int, settings: Settings) -> rules.Outcome:
    async with in_transaction():
        return await rules.accept_offer(who, registration_id, settings)


async def decline(who: Resident, registration_id: int, settings: Settings) -> rules.Outcome:
    async with in_transaction():
        return await rules.decline_offer(who, registration_id, settings)


async def run_offers(settings: Settings) -> rules.Outcome:
    async with in_transaction():
        return await rules.run_offers(settings)


# ---------- reading back ----------


async def row(registration: Registration | int) -> Registration:
    rid = registration if isinstance(registration, int) else registration.id
    return await Registration.get(id=rid)


async def status_of(registration: Registration | int) -> RegistrationStatus:
    return RegistrationStatus((await row(registration)).status)


async def fresh(target: ProgrammeSession | int) -> ProgrammeSession:
    sid = target if isinstance(target, int) else target.id
    return await ProgrammeSession.get(id=sid)


def ids(rows: Iterable[Registration | ProgrammeSession]) -> list[int]:
    return [r.id for r in rows]


async def snapshot(session_id: int) -> tuple[tuple[object, ...], list[dict[str, object]]]:
    """Everything a refused action must leave as it was: the session's counters and status,
    and every registration's fields."""
    target = await fresh(session_id)
    counters = (target.status, target.seats, target.taken, target.childcare_taken, target.waiting)
    rows = await Registration.filter(session_id=session_id).order_by("id").values()
    return counters, rows


async def check_counts(session_id: int) -> ProgrammeSession:
    """The session's counters agree with its rows, and 託児 never exceeds its places:
    taken = seats held (registered + held offers), childcare_taken = their children,
    waiting = WAITING rows (a held offer has left the queue)."""
    target = await fresh(session_id)
    rows = await Registration.filter(session_id=session_id)
    holding = [
        r for r in rows if r.status in (RegistrationStatus.REGISTERED, RegistrationStatus.OFFERED)
    ]
    waiting = [r for r in rows if r.status == RegistrationStatus.WAITING]
    assert target.taken == len(holding), "taken != registered + held offers"
    assert target.childcare_taken == sum(r.children for r in holding), "childcare_taken drifted"
    assert target.childcare_taken <= target.childcare_places, "託児 places exceeded"
    assert target.waiting == len(waiting), "waiting != WAITING rows"
    return target
