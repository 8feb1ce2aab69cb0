"""shima.domain.course when things happen at once: many residents confirming the last seat,
a double tap, two residents accepting one everyone-at-once offer, two workers running the
offers or claiming reminders, a decline or an accept racing the expiry.

Each caller runs the rule in its own transaction, all released together from a start line.
On PostgreSQL they are real concurrent transactions on separate connections; on SQLite
tortoise runs one transaction at a time in a process, so they take turns in an order the
test does not choose. Either way the outcome must be the same: no error but the domain's
own, and the counters exactly right."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models.course import Attendance, Registration, RegistrationStatus
from models.residents import Resident
from shima.domain import course as rules
from shima.settings import Settings
from tests.shima.domain.course_helpers import (
    DAY,
    Clock,
    accept,
    cancel,
    check_counts,
    decline,
    ids,
    jst,
    moving_clock,
    register,
    resident,
    residents,
    row,
    run_offers,
    session,
    signed_up,
    status_of,
)

REGISTERED = RegistrationStatus.REGISTERED
WAITING = RegistrationStatus.WAITING
OFFERED = RegistrationStatus.OFFERED
Call = Callable[[], Awaitable[Any]]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return moving_clock(monkeypatch)


async def at_once(
    calls: Sequence[Call], clock: Clock, arrivals: Sequence[datetime] | None = None
) -> list[Any]:
    """Run `calls` together (each opens its own transaction); with `arrivals`, each caller
    sees its own arrival time on the domain's clock. Results in call order; an exception
    other than the domain's is raised here."""
    go = asyncio.Event()

    async def one(i: int, call: Call) -> Any:
        if arrivals is not None:
            clock.arrive(arrivals[i])
        await go.wait()
        return await call()

    # Made here, outside any transaction: no task inherits another's connection.
    tasks = [asyncio.create_task(one(i, call)) for i, call in enumerate(calls)]
    await asyncio.sleep(0)
    go.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, rules.CourseError):
            raise result
    return results


async def owner(registration: Registration) -> Resident:
    return await Resident.get(id=registration.resident_id)


# ---------- Sign-ups ----------


async def test_twenty_residents_confirming_the_last_seat_at_once(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=2)
    await signed_up(await resident("先に申込み"), target.id, settings)
    people = await residents(20)
    arrivals = [clock.at + timedelta(milliseconds=10 * i) for i in range(20)]

    def confirm(i: int) -> Call:
        return lambda: register(people[i], target.id, settings, request_key=f"rush-{i}")

    results = await at_once([confirm(i) for i in range(20)], clock, arrivals)

    assert all(isinstance(r, rules.Outcome) for r in results), results
    made = [r.registration for r in results]
    won = [i for i, r in enumerate(made) if r.status == REGISTERED]
    assert len(won) == 1
    queued = [i for i, r in enumerate(made) if r.status == WAITING]
    assert len(queued) == 19
    # The waitlist is in arrival order, each place once.
    waitlist = await rules.waitlist(target.id)
    assert ids(waitlist) == [made[i].id for i in queued]
    assert [r.queued_at for r in waitlist] == [arrivals[i] for i in queued]
    assert [await rules.waitlist_position(r) for r in waitlist] == list(range(1, 20))
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (2, 19)


@pytest.mark.parametrize("same_key", [True, False], ids=["same-key", "two-attempts"])
async def test_a_double_tap_on_confirm_registers_once(
    settings: Settings, clock: Clock, same_key: bool
) -> None:
    target = await session(seats=3)
    who = await resident()

    def tap(i: int) -> Call:
        key = "tap" if same_key else f"tap-{i}"
        return lambda: register(who, target.id, settings, request_key=key)

    results = await at_once([tap(i) for i in range(3)], clock)

    made = [r.registration and r.registration.id for r in results if isinstance(r, rules.Outcome)]
    refused = [r for r in results if not isinstance(r, rules.Outcome)]
    assert made and len(set(made)) == 1
    assert all(isinstance(r, rules.AlreadyRegistered) for r in refused)
    assert await Registration.filter(session_id=target.id).count() == 1
    assert (await check_counts(target.id)).taken == 1


async def test_concurrent_sign_ups_and_cancels_never_exceed_the_childcare_places(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=10, childcare=3)
    people = await residents(8)
    children = [2, 1, 2, 1, 2, 1, 2, 1]

    def sign_up(i: int, wait: bool = False) -> Call:
        return lambda: register(
            people[i], target.id, settings, children=children[i], wait_for_childcare=wait
        )

    results = await at_once([sign_up(i) for i in range(8)], clock)

    assert all(isinstance(r, (rules.Outcome, rules.ChildcareFull)) for r in results), results
    counted = await check_counts(target.id)
    assert counted.childcare_taken in (2, 3)  # full, or one place left that nobody fits
    placed = [i for i, r in enumerate(results) if isinstance(r, rules.Outcome)]
    refused = [i for i, r in enumerate(results) if isinstance(r, rules.ChildcareFull)]
    assert sum(children[i] for i in placed) == counted.childcare_taken and refused
    # Those refused wait for a place, while those placed cancel: still never over.
    holders = [results[i].registration for i in placed]
    assert all(holders)
    await at_once(
        [sign_up(i, wait=True) for i in refused]
        + [
            partial(cancel, people[i], holder.id, settings)
            for i, holder in zip(placed, holders, strict=True)
        ],
        clock,
    )
    await check_counts(target.id)
    await run_offers(settings)
    counted = await check_counts(target.id)
    assert counted.childcare_taken > 0
    # Every place is now held by one of those refused: by an offer, or directly when their
    # sign-up came after a cancel had freed a place and nobody was waiting ahead of them (on
    # PostgreSQL the two run truly at once, so either order happens).
    holding = await Registration.filter(
        session_id=target.id, status__in=(REGISTERED, OFFERED)
    ).values_list("resident_id", "children")
    assert {who for who, _ in holding} <= {people[i].id for i in refused}
    assert sum(n for _, n in holding) == counted.childcare_taken


# ---------- Offers ----------


async def test_two_residents_accepting_the_same_open_offer_at_once(
    settings: Settings, clock: Clock
) -> None:
    target = await session(jst(DAY, 19), seats=1)  # 9 hours away: everyone at once
    holder = await signed_up(await resident("席あり"), target.id, settings)
    queue = [await signed_up(await resident(f"待ち{i}"), target.id, settings) for i in range(3)]
    clock.set(jst(DAY, 11))
    outcome = await cancel(await owner(holder), holder.id, settings)
    assert sorted(ids(outcome.offers)) == ids(queue)
    racers = queue[1:]
    people = [await owner(r) for r in racers]

    results = await at_once(
        [
            partial(accept, who, racer.id, settings)
            for who, racer in zip(people, racers, strict=True)
        ],
        clock,
    )

    wins = [i for i, r in enumerate(results) if isinstance(r, rules.Outcome)]
    assert len(wins) == 1, results
    winner, loser = racers[wins[0]], racers[1 - wins[0]]
    assert isinstance(results[1 - wins[0]], rules.OfferGone)
    assert await status_of(winner) == REGISTERED
    assert await status_of(loser) == WAITING  # told kindly, still on the waitlist
    # The winner's outcome lists everyone else who was offered the seat, to be told.
    assert sorted(ids(results[wins[0]].taken)) == sorted([queue[0].id, loser.id])
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 2)


async def test_two_workers_expiring_an_offer_at_once_pass_it_on_once(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=1)
    holder = await signed_up(await resident("席あり"), target.id, settings)
    first = await signed_up(await resident("一番"), target.id, settings)
    second = await signed_up(await resident("二番"), target.id, settings)
    third = await signed_up(await resident("三番"), target.id, settings)
    await cancel(await owner(holder), holder.id, settings)
    expires = (await row(first)).offer_expires_at
    assert expires is not None
    clock.set(expires)

    results = await at_once([lambda: run_offers(settings), lambda: run_offers(settings)], clock)

    assert [ids(r.expired) for r in results].count([first.id]) == 1
    assert sorted(ids(sum((r.expired for r in results), []))) == [first.id]
    assert ids(sum((r.offers for r in results), [])) == [second.id]
    assert [await status_of(r) for r in (first, second, third)] == [
        RegistrationStatus.EXPIRED,
        OFFERED,
        WAITING,
    ]
    again = await at_once([lambda: run_offers(settings), lambda: run_offers(settings)], clock)
    assert all(r.offers == r.expired == [] for r in again)
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 1)


async def test_two_workers_in_the_morning_make_one_offer(settings: Settings, clock: Clock) -> None:
    target = await session(seats=1)
    holder = await signed_up(await resident("席あり"), target.id, settings)
    first = await signed_up(await resident("一番"), target.id, settings)
    second = await signed_up(await resident("二番"), target.id, settings)
    clock.set(jst(DAY, 23))
    assert (await cancel(await owner(holder), holder.id, settings)).offers == []
    clock.set(jst(DAY + timedelta(days=1), 8))

    results = await at_once([lambda: run_offers(settings), lambda: run_offers(settings)], clock)

    assert ids(sum((r.offers for r in results), [])) == [first.id]
    assert [await status_of(r) for r in (first, second)] == [OFFERED, WAITING]
    assert (await check_counts(target.id)).taken == 1


async def test_a_decline_racing_the_expiry_passes_the_offer_on_once(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=1)
    holder = await signed_up(await resident("席あり"), target.id, settings)
    first = await signed_up(await resident("一番"), target.id, settings)
    second = await signed_up(await resident("二番"), target.id, settings)
    await cancel(await owner(holder), holder.id, settings)
    expires = (await row(first)).offer_expires_at
    assert expires is not None
    clock.set(expires)
    who = await owner(first)

    results = await at_once(
        [lambda: decline(who, first.id, settings), lambda: run_offers(settings)], clock
    )

    offers = sum((r.offers for r in results if isinstance(r, rules.Outcome)), [])
    assert ids(offers) == [second.id]
    assert await status_of(first) in (RegistrationStatus.DECLINED, RegistrationStatus.EXPIRED)
    assert await status_of(second) == OFFERED
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 0)


async def test_an_accept_at_the_last_moment_racing_the_expiry(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=1)
    holder = await signed_up(await resident("席あり"), target.id, settings)
    first = await signed_up(await resident("一番"), target.id, settings)
    second = await signed_up(await resident("二番"), target.id, settings)
    await cancel(await owner(holder), holder.id, settings)
    expires = (await row(first)).offer_expires_at
    assert expires is not None
    who = await owner(first)

    results = await at_once(
        [lambda: accept(who, first.id, settings), lambda: run_offers(settings)],
        clock,
        arrivals=[expires - timedelta(seconds=1), expires],
    )

    accepted, worker = results
    if isinstance(accepted, rules.Outcome):  # the resident was first: the seat is theirs
        assert await status_of(first) == REGISTERED
        assert worker.expired == worker.offers == []
        assert await status_of(second) == WAITING
    else:  # the worker was first: expired, passed on, and the late tap is told so
        assert isinstance(accepted, rules.OfferGone)
        assert ids(worker.expired) == [first.id] and ids(worker.offers) == [second.id]
        assert await status_of(second) == OFFERED
    assert (await check_counts(target.id)).taken == 1


# ---------- The clock's claims ----------


async def test_two_workers_claim_each_reminder_once(settings: Settings, clock: Clock) -> None:
    target = await session(seats=5)
    rows = [await signed_up(who, target.id, settings) for who in await residents(3)]
    clock.set(target.starts_at - timedelta(hours=15))  # the evening before, 19:00

    async def claim() -> list[Registration]:
        async with in_transaction():
            return await rules.claim_due_reminders(settings)

    results = await at_once([claim, claim], clock)

    claimed = sorted(ids(sum(results, [])))
    assert claimed == sorted(ids(rows))  # each once, none twice
    assert await claim() == []


async def test_two_workers_claim_each_followup_once(settings: Settings, clock: Clock) -> None:
    target = await session(seats=5)
    rows = [await signed_up(who, target.id, settings) for who in await residents(3)]
    clock.set(target.starts_at)
    for one in rows:
        async with in_transaction():
            await rules.mark_attendance(one.id, Attendance.PRESENT, settings)
    clock.set(target.ends_at + timedelta(minutes=5))

    async def claim() -> list[Registration]:
        async with in_transaction():
            return await rules.claim_due_followups(settings)

    results = await at_once([claim, claim], clock)

    assert sorted(ids(sum(results, []))) == sorted(ids(rows))
    assert await claim() == []
