"""shima.domain.course: the waitlist and its offers — one held offer per freed seat, its
daytime deadline and the overnight pause, expiry and decline passing it on exactly once,
託児 needs that do not fit being skipped, and everyone-at-once offers close to the start.

The clock (the module's `now`) starts on Monday DAY 10:00 JST; sessions are on Saturday
unless a test needs one close to the start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from models.course import ProgrammeSession, Registration, RegistrationStatus
from models.residents import Resident
from shima.domain import course as rules
from shima.domain import offers
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
    resident,
    row,
    run_offers,
    session,
    signed_up,
    snapshot,
    status_of,
)

REGISTERED = RegistrationStatus.REGISTERED
WAITING = RegistrationStatus.WAITING
OFFERED = RegistrationStatus.OFFERED
NEXT_DAY = DAY + timedelta(days=1)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return moving_clock(monkeypatch)


async def owner(registration: Registration) -> Resident:
    return await Resident.get(id=registration.resident_id)


async def full_with_queue(
    settings: Settings, clock: Clock, waiting: int = 2, **session_kw: object
) -> tuple[ProgrammeSession, Registration, list[Registration]]:
    """A one-seat session: its holder, and `waiting` residents queued a minute apart."""
    target = await session(seats=1, **session_kw)  # type: ignore[arg-type]
    holder = await signed_up(await resident("席あり"), target.id, settings)
    queue = []
    for i in range(waiting):
        clock.advance(minutes=1)
        queue.append(await signed_up(await resident(f"待ち{i + 1}"), target.id, settings))
    assert [r.status for r in queue] == [WAITING] * waiting
    return target, holder, queue


def nothing(outcome: rules.Outcome) -> bool:
    return outcome.offers == outcome.taken == outcome.expired == []


# ---------- The daytime clock of an offer ----------


def test_offer_deadline_counts_only_daytime_hours(settings: Settings) -> None:
    deadline = offers.offer_deadline
    assert deadline(settings, jst(DAY, 8)) == jst(DAY, 20)  # 12 hours inside one day
    assert deadline(settings, jst(DAY, 9)) == jst(DAY, 21)  # ends just as the pause begins
    assert deadline(settings, jst(DAY, 15)) == jst(NEXT_DAY, 14)  # 6 h + (pause) + 6 h
    assert deadline(settings, jst(DAY, 10, 5)) == jst(NEXT_DAY, 9, 5)
    assert deadline(settings, jst(DAY, 22)) == jst(NEXT_DAY, 20)  # starts at 8:00
    assert deadline(settings, jst(NEXT_DAY, 3)) == jst(NEXT_DAY, 20)
    assert deadline(settings, jst(DAY, 21)) == jst(NEXT_DAY, 20)
    assert deadline(settings, jst(DAY, 20), hours=30) == jst(DAY + timedelta(days=3), 11)
    longer = settings.with_overrides(course_offer_hours=24)
    assert deadline(longer, jst(DAY, 8)) == jst(NEXT_DAY, 19)


def test_the_overnight_pause_is_from_21_until_8_jst(settings: Settings) -> None:
    assert not offers.is_quiet(settings, jst(DAY, 20, 59))
    assert offers.is_quiet(settings, jst(DAY, 21))
    assert offers.is_quiet(settings, jst(NEXT_DAY, 7, 59))
    assert not offers.is_quiet(settings, jst(NEXT_DAY, 8))
    assert offers.next_daytime(settings, jst(DAY, 23)) == jst(NEXT_DAY, 8)
    assert offers.next_daytime(settings, jst(NEXT_DAY, 2)) == jst(NEXT_DAY, 8)
    assert offers.next_daytime(settings, jst(DAY, 12)) == jst(DAY, 12)


# ---------- One held offer per freed seat ----------


async def test_a_cancellation_makes_exactly_one_offer_holding_the_seat(
    settings: Settings, clock: Clock
) -> None:
    target, holder, (first, second) = await full_with_queue(settings, clock)
    clock.set(jst(DAY, 10, 5))
    outcome = await cancel(await owner(holder), holder.id, settings)
    assert ids(outcome.offers) == [first.id]
    offered = await row(first)
    assert offered.status == OFFERED and offered.offered_at == clock.at
    assert offered.offer_expires_at == offers.offer_deadline(settings, clock.at)
    assert offered.offer_expires_at == jst(NEXT_DAY, 9, 5)  # 12 hours of daytime
    assert await status_of(second) == WAITING
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 1)  # the seat is held, not free
    assert ids(await rules.waitlist(target.id)) == [first.id, second.id]
    # The worker's rounds change nothing more: still one offer, the same deadline.
    for _ in range(2):
        clock.advance(minutes=10)
        assert nothing(await run_offers(settings))
    again = await row(first)
    assert (again.status, again.offer_expires_at) == (OFFERED, offered.offer_expires_at)
    assert await status_of(second) == WAITING
    assert await Registration.filter(session_id=target.id, status=OFFERED).count() == 1


async def test_accepting_a_held_offer_registers_in_the_held_seat(
    settings: Settings, clock: Clock
) -> None:
    target, holder, (first, second) = await full_with_queue(settings, clock)
    await cancel(await owner(holder), holder.id, settings)
    clock.advance(hours=1)
    outcome = await accept(await owner(first), first.id, settings)
    assert outcome.registration is not None and outcome.registration.id == first.id
    stored = await row(first)
    assert stored.status == REGISTERED and stored.registered_at == clock.at
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 1)
    assert await status_of(second) == WAITING
    # A second tap of 参加する changes nothing.
    before = await snapshot(target.id)
    try:
        await accept(await owner(first), first.id, settings)
    except rules.CourseError:
        pass
    assert await snapshot(target.id) == before


async def test_an_offer_past_its_deadline_cannot_be_accepted(
    settings: Settings, clock: Clock
) -> None:
    target, holder, (first, _) = await full_with_queue(settings, clock)
    await cancel(await owner(holder), holder.id, settings)
    expires = (await row(first)).offer_expires_at
    assert expires is not None
    clock.set(expires)
    with pytest.raises(rules.OfferGone) as caught:
        await accept(await owner(first), first.id, settings)
    assert "期限が過ぎた" in caught.value.message
    assert await status_of(first) != REGISTERED
    await check_counts(target.id)


async def test_an_expired_offer_passes_to_the_next_person_exactly_once(
    settings: Settings, clock: Clock
) -> None:
    target, holder, (first, second, third) = await full_with_queue(settings, clock, waiting=3)
    await cancel(await owner(holder), holder.id, settings)
    expires = (await row(first)).offer_expires_at
    assert expires is not None
    clock.set(expires - timedelta(minutes=1))
    assert nothing(await run_offers(settings))  # not yet
    clock.set(expires)
    outcome = await run_offers(settings)
    assert ids(outcome.expired) == [first.id]
    assert ids(outcome.offers) == [second.id]
    gone = await row(first)
    assert gone.status == RegistrationStatus.EXPIRED and gone.active_key is None
    passed_on = await row(second)
    assert passed_on.status == OFFERED
    assert passed_on.offer_expires_at == offers.offer_deadline(settings, clock.at)
    # Again, and again later: nothing more happens (the worker restarted, say).
    assert nothing(await run_offers(settings))
    clock.advance(minutes=5)
    assert nothing(await run_offers(settings))
    assert await status_of(third) == WAITING
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 1)
    with pytest.raises(rules.OfferGone):
        await accept(await owner(first), first.id, settings)


async def test_declining_passes_the_offer_to_the_next_person(
    settings: Settings, clock: Clock
) -> None:
    target, holder, (first, second) = await full_with_queue(settings, clock)
    await cancel(await owner(holder), holder.id, settings)
    clock.advance(minutes=30)
    outcome = await decline(await owner(first), first.id, settings)
    assert ids(outcome.offers) == [second.id]
    declined = await row(first)
    assert declined.status == RegistrationStatus.DECLINED and declined.active_key is None
    assert await status_of(second) == OFFERED
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 0)
    before = await snapshot(target.id)
    with pytest.raises(rules.OfferGone):  # a second tap of 辞退する
        await decline(await owner(first), first.id, settings)
    assert await snapshot(target.id) == before


async def test_offers_go_on_after_the_sign_up_deadline(settings: Settings, clock: Clock) -> None:
    deadline = jst(DAY, 12)
    target, holder, (first, _) = await full_with_queue(settings, clock, deadline=deadline)
    clock.set(jst(DAY + timedelta(days=2), 10))
    outcome = await cancel(await owner(holder), holder.id, settings)
    assert ids(outcome.offers) == [first.id]
    await accept(await owner(first), first.id, settings)
    assert await status_of(first) == REGISTERED


async def test_staff_adding_seats_offers_each_to_the_queue(
    settings: Settings, clock: Clock
) -> None:
    target, _, queue = await full_with_queue(settings, clock, waiting=3)
    spec = rules.SessionSpec(
        starts_at=target.starts_at,
        ends_at=target.ends_at,
        seats=3,
        deadline=target.deadline,
        status=target.status,
    )
    async with in_transaction():
        outcome = await rules.update_session(target.id, spec, settings)
    assert ids(outcome.offers) == [queue[0].id, queue[1].id]
    assert [await status_of(r) for r in queue] == [OFFERED, OFFERED, WAITING]
    counted = await check_counts(target.id)
    assert (counted.taken, counted.seats, counted.waiting) == (3, 3, 1)


# ---------- 託児: a need that does not fit is skipped, never squeezed in ----------


async def test_someone_whose_children_cannot_be_placed_is_skipped(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=2, childcare=2)
    parent = await resident("託児2人")
    placed = await signed_up(parent, target.id, settings, children=2)
    other = await resident("託児なし")
    seat = await signed_up(other, target.id, settings)
    clock.advance(minutes=1)
    needs_care = await signed_up(await resident("託児1人"), target.id, settings, children=1)
    clock.advance(minutes=1)
    no_care = await signed_up(await resident("待ち"), target.id, settings)
    assert (needs_care.status, no_care.status) == (WAITING, WAITING)
    # A seat frees but no 託児 place: the first in the queue cannot come, the second can.
    outcome = await cancel(other, seat.id, settings)
    assert ids(outcome.offers) == [no_care.id]
    assert await status_of(needs_care) == WAITING
    assert await rules.waitlist_position(await row(needs_care)) == 1
    await check_counts(target.id)
    await accept(await owner(no_care), no_care.id, settings)
    # Seat and places free: now the children fit.
    outcome = await cancel(parent, placed.id, settings)
    assert ids(outcome.offers) == [needs_care.id]
    counted = await check_counts(target.id)
    assert (counted.taken, counted.childcare_taken) == (2, 1)


async def test_several_seats_are_offered_past_a_need_that_does_not_fit(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=1, childcare=1)
    await signed_up(await resident("席あり"), target.id, settings)
    queue = []
    for name, children in (("一番", 1), ("二番", 1), ("三番", 0)):
        clock.advance(minutes=1)
        queue.append(await signed_up(await resident(name), target.id, settings, children=children))
    spec = rules.SessionSpec(
        starts_at=target.starts_at,
        ends_at=target.ends_at,
        seats=3,
        childcare_places=1,
        deadline=target.deadline,
        status=target.status,
    )
    async with in_transaction():
        outcome = await rules.update_session(target.id, spec, settings)
    # One place: 一番's child takes it; 二番's cannot be placed; 三番 needs none.
    assert ids(outcome.offers) == [queue[0].id, queue[2].id]
    assert [await status_of(r) for r in queue] == [OFFERED, WAITING, OFFERED]
    counted = await check_counts(target.id)
    assert (counted.taken, counted.childcare_taken) == (3, 1)


async def test_a_resident_waiting_for_a_childcare_place_is_offered_one(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=5, childcare=1)
    parent = await resident("先")
    placed = await signed_up(parent, target.id, settings, children=1)
    later = await resident("後")
    with pytest.raises(rules.ChildcareFull):
        await signed_up(later, target.id, settings, children=1)
    waits = await signed_up(later, target.id, settings, children=1, wait_for_childcare=True)
    assert waits.status == WAITING
    outcome = await cancel(parent, placed.id, settings)
    assert ids(outcome.offers) == [waits.id]
    counted = await check_counts(target.id)
    assert (counted.taken, counted.childcare_taken, counted.waiting) == (1, 1, 0)


async def test_promote_never_places_more_children_than_there_are_places(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=3, childcare=2)
    await signed_up(await resident("先"), target.id, settings, children=2)
    waits = await signed_up(
        await resident("後"), target.id, settings, children=1, wait_for_childcare=True
    )
    before = await snapshot(target.id)
    with pytest.raises(rules.CourseError):
        async with in_transaction():
            await rules.promote(waits.id, settings)
    assert await snapshot(target.id) == before


# ---------- The overnight pause ----------


async def test_a_seat_freed_at_night_is_offered_at_eight_with_twelve_daytime_hours(
    settings: Settings, clock: Clock
) -> None:
    target, holder, (first, second) = await full_with_queue(settings, clock)
    clock.set(jst(DAY, 22))
    outcome = await cancel(await owner(holder), holder.id, settings)
    assert outcome.offers == []  # nobody is woken at night
    assert await status_of(first) == WAITING
    assert (await check_counts(target.id)).taken == 0
    # The free seat is not given to someone signing up meanwhile: they queue behind.
    clock.set(jst(DAY, 22, 30))
    newcomer = await signed_up(await resident("夜に申込み"), target.id, settings)
    assert newcomer.status == WAITING
    assert await rules.waitlist_position(newcomer) == 3
    clock.set(jst(NEXT_DAY, 7, 59))
    assert nothing(await run_offers(settings))
    clock.set(jst(NEXT_DAY, 8))
    outcome = await run_offers(settings)
    assert ids(outcome.offers) == [first.id]
    offered = await row(first)
    assert offered.offered_at == jst(NEXT_DAY, 8)
    assert offered.offer_expires_at == jst(NEXT_DAY, 20)
    assert nothing(await run_offers(settings))
    assert [await status_of(r) for r in (second, newcomer)] == [WAITING, WAITING]
    await check_counts(target.id)


async def test_an_offer_made_in_the_afternoon_runs_on_next_morning(
    settings: Settings, clock: Clock
) -> None:
    target, holder, (first, _) = await full_with_queue(settings, clock)
    clock.set(jst(DAY, 15))
    await cancel(await owner(holder), holder.id, settings)
    assert (await row(first)).offer_expires_at == jst(NEXT_DAY, 14)  # 6 h + pause + 6 h
    for at in (jst(DAY, 23), jst(NEXT_DAY, 13, 59)):
        clock.set(at)
        assert nothing(await run_offers(settings))
        assert await status_of(first) == OFFERED
    await accept(await owner(first), first.id, settings)
    assert await status_of(first) == REGISTERED
    await check_counts(target.id)


async def test_an_offer_expiring_at_night_passes_on_in_the_morning(
    settings: Settings, clock: Clock
) -> None:
    target, holder, (first, second) = await full_with_queue(settings, clock)
    clock.set(jst(DAY, 9))
    await cancel(await owner(holder), holder.id, settings)
    assert (await row(first)).offer_expires_at == jst(DAY, 21)
    clock.set(jst(DAY, 21, 30))  # the worker was down at 21:00
    outcome = await run_offers(settings)
    assert ids(outcome.expired) == [first.id] and outcome.offers == []
    assert await status_of(second) == WAITING
    clock.set(jst(NEXT_DAY, 8))
    outcome = await run_offers(settings)
    assert ids(outcome.offers) == [second.id]
    assert (await row(second)).offer_expires_at == jst(NEXT_DAY, 20)
    assert nothing(await run_offers(settings))
    await check_counts(target.id)


# ---------- Everyone at once, close to the start ----------


async def close_to_start(
    settings: Settings, clock: Clock, waiting: int = 3, **kw: object
) -> tuple[ProgrammeSession, Registration, list[Registration]]:
    """A session at 19:00 today (9 hours away: inside course_open_offer_hours)."""
    return await full_with_queue(settings, clock, waiting, starts_at=jst(DAY, 19), **kw)


async def test_close_to_the_start_a_freed_seat_is_offered_to_everyone_waiting(
    settings: Settings, clock: Clock
) -> None:
    target, holder, queue = await close_to_start(settings, clock)
    clock.set(jst(DAY, 11))
    outcome = await cancel(await owner(holder), holder.id, settings)
    assert sorted(ids(outcome.offers)) == ids(queue)
    for one in queue:
        stored = await row(one)
        assert stored.status == WAITING and stored.open_offer_at == clock.at
        assert stored.offer_expires_at is None
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (0, 3)  # nothing held: first come
    # Nobody is told twice; a newcomer does not slip into the free seat.
    assert (await run_offers(settings)).offers == []
    newcomer = await signed_up(await resident("新しい人"), target.id, settings)
    assert newcomer.status == WAITING
    assert (await check_counts(target.id)).taken == 0


async def test_the_first_to_accept_an_open_offer_gets_the_seat_and_the_others_are_told(
    settings: Settings, clock: Clock
) -> None:
    target, holder, (first, second, third) = await close_to_start(settings, clock)
    clock.set(jst(DAY, 11))
    await cancel(await owner(holder), holder.id, settings)
    clock.advance(minutes=3)
    outcome = await accept(await owner(second), second.id, settings)
    assert (await row(second)).status == REGISTERED
    assert sorted(ids(outcome.taken)) == [first.id, third.id]
    for told in (first, third):
        stored = await row(told)
        assert stored.status == WAITING and stored.open_offer_at is None  # still waiting
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 2)
    before = await snapshot(target.id)
    with pytest.raises(rules.OfferGone) as caught:
        await accept(await owner(first), first.id, settings)
    assert "埋まりました" in caught.value.message
    assert await snapshot(target.id) == before


async def test_everyone_at_once_starts_exactly_open_offer_hours_before(
    settings: Settings, clock: Clock
) -> None:
    at_edge, edge_holder, edge_queue = await full_with_queue(
        settings, clock, waiting=2, starts_at=jst(NEXT_DAY, 10, 10)
    )
    beyond, far_holder, far_queue = await full_with_queue(
        settings, clock, waiting=2, starts_at=jst(NEXT_DAY, 10, 11)
    )
    clock.set(jst(DAY, 10, 10))  # exactly 24 hours before `at_edge`
    assert rules.open_offers_from(settings, at_edge) == clock.at
    open_to_all = await cancel(await owner(edge_holder), edge_holder.id, settings)
    assert sorted(ids(open_to_all.offers)) == ids(edge_queue)
    assert all(r.status == WAITING for r in open_to_all.offers)
    one_held = await cancel(await owner(far_holder), far_holder.id, settings)
    assert ids(one_held.offers) == [far_queue[0].id]
    assert await status_of(far_queue[0]) == OFFERED
    await check_counts(at_edge.id)
    await check_counts(beyond.id)


async def test_a_held_offer_never_runs_past_the_start(settings: Settings, clock: Clock) -> None:
    short = settings.with_overrides(course_open_offer_hours=6)
    target, holder, (first, _) = await full_with_queue(short, clock, starts_at=jst(NEXT_DAY, 8, 30))
    clock.set(jst(DAY, 10))  # 12 daytime hours would end at 9:00, after the start
    await cancel(await owner(holder), holder.id, short)
    expires = (await row(first)).offer_expires_at
    assert expires is not None and expires <= target.starts_at


async def test_open_offers_also_wait_for_the_morning(settings: Settings, clock: Clock) -> None:
    target, holder, queue = await full_with_queue(
        settings, clock, waiting=2, starts_at=jst(NEXT_DAY, 12)
    )
    clock.set(jst(DAY, 22))
    assert (await cancel(await owner(holder), holder.id, settings)).offers == []
    clock.set(jst(NEXT_DAY, 8))
    outcome = await run_offers(settings)
    assert sorted(ids(outcome.offers)) == ids(queue)
    assert [(await row(r)).open_offer_at for r in queue] == [clock.at] * len(queue)
    assert nothing(await run_offers(settings))
    await check_counts(target.id)


async def test_open_offers_go_only_to_those_whose_children_fit(
    settings: Settings, clock: Clock
) -> None:
    target = await session(jst(DAY, 19), seats=2, childcare=1)
    await signed_up(await resident("託児1人"), target.id, settings, children=1)
    other = await resident("託児なし")
    seat = await signed_up(other, target.id, settings)
    needs_care = await signed_up(await resident("待ち託児"), target.id, settings, children=1)
    no_care = await signed_up(await resident("待ち"), target.id, settings)
    clock.set(jst(DAY, 11))
    outcome = await cancel(other, seat.id, settings)
    assert ids(outcome.offers) == [no_care.id]
    assert (await row(needs_care)).open_offer_at is None
    before = await snapshot(target.id)
    with pytest.raises(rules.OfferGone):
        await accept(await owner(needs_care), needs_care.id, settings)
    assert await snapshot(target.id) == before
    await accept(await owner(no_care), no_care.id, settings)
    counted = await check_counts(target.id)
    assert (counted.taken, counted.childcare_taken) == (2, 1)


async def test_leaving_the_waitlist_during_an_open_offer(settings: Settings, clock: Clock) -> None:
    target, holder, (first, second, _) = await close_to_start(settings, clock)
    clock.set(jst(DAY, 11))
    await cancel(await owner(holder), holder.id, settings)
    await decline(await owner(first), first.id, settings)
    assert (await row(first)).status == RegistrationStatus.DECLINED
    await accept(await owner(second), second.id, settings)
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 1)
