"""shima.domain.course: sign-up (seats, 託児, deadline, double taps), residents' own actions
and forged ids, check-in and attendance, staff actions, session specs and copies, and the
clock's claims (reminders, follow-ups) — plain calls over a real database.

The waitlist and its offers are in test_course_waitlist.py; races in test_course_concurrency.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from tortoise.transactions import in_transaction

from models.consultation import BookedBy, CancelledBy
from models.course import (
    Attendance,
    Programme,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.residents import Resident
from shima.domain import course as rules
from shima.settings import Settings
from tests.shima.domain.course_helpers import (
    DAY,
    SESSION_DAY,
    Clock,
    cancel,
    check_counts,
    fresh,
    ids,
    jst,
    moving_clock,
    register,
    resident,
    row,
    session,
    signed_up,
    snapshot,
    status_of,
)

REGISTERED = RegistrationStatus.REGISTERED
WAITING = RegistrationStatus.WAITING
OFFERED = RegistrationStatus.OFFERED
CANCELLED = RegistrationStatus.CANCELLED


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return moving_clock(monkeypatch)


async def refused(
    error: type[rules.CourseError],
    who: Resident,
    session_id: int,
    settings: Settings,
    **kw: object,
) -> rules.CourseError:
    """register() raises `error` and changes nothing at all."""
    before = await snapshot(session_id)
    with pytest.raises(error) as caught:
        await register(who, session_id, settings, **kw)  # type: ignore[arg-type]
    assert await snapshot(session_id) == before
    return caught.value


# ---------- Sign-up: seats and 託児 places ----------


async def test_registering_takes_a_seat_and_places_the_children(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=3, childcare=4)
    parent, single = await resident("奄美 花子"), await resident("徳之島 太郎")
    outcome = await register(parent, target.id, settings, children=2, ages="3歳、5歳")
    assert outcome.registration is not None
    assert outcome.offers == outcome.taken == outcome.expired == []
    mine = await row(outcome.registration)
    assert mine.status == REGISTERED and mine.resident_id == parent.id
    assert (mine.children, mine.children_ages) == (2, "3歳、5歳")
    assert mine.active_key == f"{target.id}:{parent.id}"
    assert mine.registered_at == clock.at and mine.queued_at is None
    assert mine.registered_by == BookedBy.RESIDENT
    await signed_up(single, target.id, settings)
    counted = await check_counts(target.id)
    assert (counted.taken, counted.childcare_taken, counted.waiting) == (2, 2, 0)
    assert (counted.seats_left, counted.childcare_left) == (1, 2)


async def test_sign_up_closes_at_the_deadline(settings: Settings, clock: Clock) -> None:
    deadline = jst(SESSION_DAY - timedelta(days=2), 17)
    target = await session(deadline=deadline)
    clock.set(deadline)
    error = await refused(rules.DeadlinePassed, await resident(), target.id, settings)
    assert "締め切りました" in error.message and "06/13 17:00" in error.message
    clock.set(deadline - timedelta(minutes=1))
    assert (await signed_up(await resident(), target.id, settings)).status == REGISTERED


async def test_a_draft_or_missing_session_is_not_open(settings: Settings, clock: Clock) -> None:
    draft = await session(status=SessionStatus.DRAFT)
    error = await refused(rules.SessionNotOpen, await resident(), draft.id, settings)
    assert error.message == "申し訳ありません、この回はいま受付をしていません。"
    with pytest.raises(rules.SessionNotOpen):
        await register(await resident(), draft.id + 999, settings)
    assert await Registration.all().count() == 0


async def test_a_cancelled_session_says_it_was_cancelled(settings: Settings, clock: Clock) -> None:
    target = await session(status=SessionStatus.CANCELLED)
    error = await refused(rules.SessionCancelled, await resident(), target.id, settings)
    assert "中止" in error.message


async def test_a_started_session_takes_no_sign_ups(settings: Settings, clock: Clock) -> None:
    target = await session(deadline=jst(SESSION_DAY, 9))
    clock.set(target.starts_at)
    await refused(rules.CourseError, await resident(), target.id, settings)


async def test_one_active_place_per_resident_and_session(settings: Settings, clock: Clock) -> None:
    target = await session(seats=1)
    first, second = await resident("一"), await resident("二")
    mine = await signed_up(first, target.id, settings)
    error = await refused(rules.AlreadyRegistered, first, target.id, settings)
    assert error.message == "この回はすでにお申し込みいただいています。"
    assert isinstance(error, rules.AlreadyRegistered) and error.registration.id == mine.id
    queued = await signed_up(second, target.id, settings)
    assert queued.status == WAITING
    error = await refused(rules.AlreadyRegistered, second, target.id, settings)
    assert error.message == "この回はすでにキャンセル待ちに登録されています。"
    # Once cancelled, the resident may sign up again (behind whoever is waiting).
    await cancel(second, queued.id, settings)
    again = await signed_up(second, target.id, settings)
    assert again.id != queued.id and again.status == WAITING
    await check_counts(target.id)


async def test_at_most_five_children_per_sign_up(settings: Settings, clock: Clock) -> None:
    target = await session(childcare=10)
    error = await refused(rules.TooManyChildren, await resident(), target.id, settings, children=6)
    assert "5人まで" in error.message
    mine = await signed_up(await resident(), target.id, settings, children=5, ages="0〜4歳")
    assert mine.children == 5
    assert (await check_counts(target.id)).childcare_taken == 5


async def test_a_repeated_request_key_registers_once(settings: Settings, clock: Clock) -> None:
    target = await session(seats=1)
    who, late = await resident("一"), await resident("二")
    first = await signed_up(who, target.id, settings, request_key="k-1")
    again = await signed_up(who, target.id, settings, request_key="k-1")
    assert again.id == first.id and again.status == REGISTERED
    # The same on the waitlist: one place, not two.
    queued = await signed_up(late, target.id, settings, request_key="k-2")
    assert (await signed_up(late, target.id, settings, request_key="k-2")).id == queued.id
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 1)
    assert await Registration.filter(session_id=target.id).count() == 2


async def test_another_residents_request_key_changes_nothing_of_theirs(
    settings: Settings, clock: Clock
) -> None:
    """A forged 確定 with someone else's attempt key: only the domain's own answer, never a
    database error, and the owner's registration is untouched."""
    target = await session(seats=3)
    owner, intruder = await resident("一"), await resident("侵入者")
    mine = await signed_up(owner, target.id, settings, request_key="k-owner")
    before = await row(mine)
    try:
        outcome = await register(intruder, target.id, settings, request_key="k-owner")
    except rules.CourseError:
        pass
    else:
        made = outcome.registration
        assert made is not None and made.resident_id in (intruder.id, owner.id)
    assert await row(mine) == before
    assert (await row(mine)).resident_id == owner.id
    await check_counts(target.id)


async def test_a_full_session_puts_sign_ups_on_the_waitlist_in_order(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=1)
    await signed_up(await resident("席あり"), target.id, settings)
    queue = []
    for name in ("一番", "二番", "三番"):
        clock.advance(minutes=1)
        mine = await signed_up(await resident(name), target.id, settings)
        assert mine.status == WAITING and mine.queued_at == clock.at
        assert mine.registered_at is None
        queue.append(mine)
    assert ids(await rules.waitlist(target.id)) == ids(queue)
    assert [await rules.waitlist_position(r) for r in queue] == [1, 2, 3]
    counted = await check_counts(target.id)
    assert (counted.taken, counted.waiting) == (1, 3)


async def test_childcare_full_with_a_free_seat_refuses_or_waits(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=5, childcare=3)
    await signed_up(await resident("先"), target.id, settings, children=2, ages="2歳、4歳")
    parent = await resident("後")
    error = await refused(rules.ChildcareFull, parent, target.id, settings, children=2)
    assert isinstance(error, rules.ChildcareFull) and error.left == 1
    assert "あと1人分のみ" in error.message
    # The resident chooses to wait for a 託児 place: on the waitlist though a seat is free.
    mine = await signed_up(parent, target.id, settings, children=2, wait_for_childcare=True)
    assert mine.status == WAITING and mine.children == 2
    counted = await check_counts(target.id)
    assert (counted.taken, counted.childcare_taken, counted.waiting) == (1, 2, 1)
    # Or registers without 託児 (another resident here): a seat, no place.
    alone = await signed_up(await resident("託児なし"), target.id, settings, children=0)
    assert alone.status in (REGISTERED, WAITING)
    assert (await check_counts(target.id)).childcare_taken == 2


async def test_children_at_a_session_without_childcare(settings: Settings, clock: Clock) -> None:
    target = await session(seats=5, childcare=0)
    error = await refused(rules.ChildcareFull, await resident(), target.id, settings, children=1)
    assert isinstance(error, rules.ChildcareFull) and error.left == 0


async def test_more_children_than_the_whole_childcare_never_wait(
    settings: Settings, clock: Clock
) -> None:
    # Two children for a session with one 託児 place could never be placed: no waitlist.
    target = await session(seats=5, childcare=1)
    error = await refused(
        rules.ChildcareTooSmall,
        await resident(),
        target.id,
        settings,
        children=2,
        wait_for_childcare=True,
    )
    assert "1人まで" in error.message
    assert (await check_counts(target.id)).waiting == 0


# ---------- Residents' own registrations ----------


async def test_cancelling_frees_the_seat_and_the_childcare_places(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=2, childcare=2)
    who = await resident()
    mine = await signed_up(who, target.id, settings, children=2)
    clock.advance(hours=1)
    outcome = await cancel(who, mine.id, settings)
    assert outcome.offers == []
    gone = await row(mine)
    assert gone.status == CANCELLED and gone.active_key is None
    assert gone.cancelled_by == CancelledBy.RESIDENT and gone.cancelled_at == clock.at
    counted = await check_counts(target.id)
    assert (counted.taken, counted.childcare_taken) == (0, 0)
    with pytest.raises(rules.NotCancellable):
        await cancel(who, mine.id, settings)


async def test_leaving_the_waitlist_moves_the_others_up(settings: Settings, clock: Clock) -> None:
    target = await session(seats=1)
    await signed_up(await resident("席あり"), target.id, settings)
    people = [await resident(n) for n in ("一番", "二番", "三番")]
    queue = [await signed_up(p, target.id, settings) for p in people]
    await cancel(people[0], queue[0].id, settings)
    assert await status_of(queue[0]) == CANCELLED
    assert ids(await rules.waitlist(target.id)) == [queue[1].id, queue[2].id]
    assert [await rules.waitlist_position(await row(r)) for r in queue[1:]] == [1, 2]
    assert (await check_counts(target.id)).waiting == 2


async def test_nothing_to_cancel_after_the_session_ended(settings: Settings, clock: Clock) -> None:
    target = await session()
    who = await resident()
    mine = await signed_up(who, target.id, settings)
    clock.set(target.ends_at)
    before = await snapshot(target.id)
    with pytest.raises(rules.NotCancellable):
        await cancel(who, mine.id, settings)
    assert await snapshot(target.id) == before


async def test_a_forged_postback_with_another_residents_id_changes_nothing(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=2)
    owner, other, offered_to = await resident("一"), await resident("二"), await resident("三")
    registered = await signed_up(owner, target.id, settings)
    leaving = await signed_up(other, target.id, settings)
    waiting = await signed_up(offered_to, target.id, settings)
    await cancel(other, leaving.id, settings)
    assert await status_of(waiting) == OFFERED  # an offer with a held seat, worth stealing
    intruder = await resident("侵入者")
    clock.set(target.starts_at)  # check-in is open: only the ownership check can say no
    before = await snapshot(target.id)
    for victim in (registered.id, waiting.id, waiting.id + 999):
        attempts = {
            "cancel": lambda v=victim: rules.cancel_by_resident(intruder, v, settings),
            "accept": lambda v=victim: rules.accept_offer(intruder, v, settings),
            "decline": lambda v=victim: rules.decline_offer(intruder, v, settings),
            "check_in": lambda v=victim: rules.check_in(intruder, v, settings),
            "rate": lambda v=victim: rules.rate(intruder, v, 1),
            "comment": lambda v=victim: rules.comment(intruder, v, "乗っ取り"),
        }
        for name, attempt in attempts.items():
            with pytest.raises(rules.NotYours):
                async with in_transaction():
                    await attempt()
            assert await snapshot(target.id) == before, name
    assert rules.NotYours.message == "このお申し込みは見つかりませんでした。"


# ---------- Check-in and attendance ----------


def test_check_in_window_is_thirty_minutes_before_until_the_end(settings: Settings) -> None:
    target = ProgrammeSession(starts_at=jst(SESSION_DAY, 10), ends_at=jst(SESSION_DAY, 12))
    assert rules.checkin_opens(settings, target) == jst(SESSION_DAY, 9, 30)
    assert not rules.can_check_in(settings, target, jst(SESSION_DAY, 9, 29))
    assert rules.can_check_in(settings, target, jst(SESSION_DAY, 9, 30))
    assert rules.can_check_in(settings, target, jst(SESSION_DAY, 11, 59))
    assert not rules.can_check_in(settings, target, jst(SESSION_DAY, 12))


async def test_check_in_from_line_only_inside_the_window(settings: Settings, clock: Clock) -> None:
    target = await session()  # 10:00–12:00
    who, late = await resident("一"), await resident("遅刻")
    mine = await signed_up(who, target.id, settings)
    theirs = await signed_up(late, target.id, settings)
    clock.set(jst(SESSION_DAY, 9, 29))
    with pytest.raises(rules.CheckinClosed) as caught:
        async with in_transaction():
            await rules.check_in(who, mine.id, settings)
    assert "09:30から" in caught.value.message
    assert (await row(mine)).attendance == Attendance.UNKNOWN
    clock.set(jst(SESSION_DAY, 9, 30))
    async with in_transaction():
        checked = await rules.check_in(who, mine.id, settings)
    assert checked.attendance == Attendance.PRESENT
    stored = await row(mine)
    assert (stored.attendance, stored.attendance_by) == (Attendance.PRESENT, "line")
    assert stored.attendance_at == clock.at
    clock.set(target.ends_at)
    with pytest.raises(rules.CheckinClosed) as caught:
        async with in_transaction():
            await rules.check_in(late, theirs.id, settings)
    assert "終了" in caught.value.message
    assert (await row(theirs)).attendance == Attendance.UNKNOWN


async def test_only_a_registered_resident_checks_in(settings: Settings, clock: Clock) -> None:
    target = await session(seats=1)
    await signed_up(await resident("席あり"), target.id, settings)
    waiter = await resident("待ち")
    queued = await signed_up(waiter, target.id, settings)
    clock.set(target.starts_at)
    with pytest.raises(rules.CourseError):
        async with in_transaction():
            await rules.check_in(waiter, queued.id, settings)
    assert (await row(queued)).attendance == Attendance.UNKNOWN


async def mark(registration_id: int, attendance: Attendance, settings: Settings) -> Registration:
    async with in_transaction():
        return await rules.mark_attendance(registration_id, attendance, settings)


async def test_staff_mark_attendance_from_check_in_opening_and_can_undo(
    settings: Settings, clock: Clock
) -> None:
    target = await session()
    mine = await signed_up(await resident(), target.id, settings)
    clock.set(jst(SESSION_DAY, 9, 29))
    with pytest.raises(rules.TooEarlyToMark):
        await mark(mine.id, Attendance.PRESENT, settings)
    assert (await row(mine)).attendance == Attendance.UNKNOWN
    clock.set(jst(SESSION_DAY, 9, 30))
    assert (await mark(mine.id, Attendance.PRESENT, settings)).attendance == Attendance.PRESENT
    stored = await row(mine)
    assert (stored.attendance, stored.attendance_by) == (Attendance.PRESENT, "staff")
    assert (await mark(mine.id, Attendance.ABSENT, settings)).attendance == Attendance.ABSENT
    await mark(mine.id, Attendance.UNKNOWN, settings)  # undo
    assert (await row(mine)).attendance == Attendance.UNKNOWN


async def test_a_resident_who_checked_in_shows_present_and_staff_can_correct(
    settings: Settings, clock: Clock
) -> None:
    target = await session()
    who = await resident()
    mine = await signed_up(who, target.id, settings)
    clock.set(target.starts_at)
    async with in_transaction():
        await rules.check_in(who, mine.id, settings)
    assert [r.attendance for r in await rules.registrations_of(target.id)] == [Attendance.PRESENT]
    await mark(mine.id, Attendance.ABSENT, settings)
    assert (await row(mine)).attendance == Attendance.ABSENT


async def test_no_attendance_for_a_cancelled_or_waiting_place(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=1)
    who = await resident()
    mine = await signed_up(who, target.id, settings)
    queued = await signed_up(await resident("待ち"), target.id, settings)
    clock.set(target.starts_at)
    with pytest.raises(rules.CourseError):
        await mark(queued.id, Attendance.PRESENT, settings)
    async with in_transaction():
        await rules.cancel_by_staff(mine.id, "", settings)
    with pytest.raises(rules.CourseError):
        await mark(mine.id, Attendance.PRESENT, settings)
    assert (await row(mine)).attendance == Attendance.UNKNOWN
    assert (await row(queued)).attendance == Attendance.UNKNOWN


async def walk_in(
    session_id: int, name: str, settings: Settings, beyond: bool = False
) -> Registration:
    async with in_transaction():
        return await rules.add_walk_in(session_id, name, settings, beyond_capacity=beyond)


async def test_a_walk_in_takes_a_free_seat_and_is_present(settings: Settings, clock: Clock) -> None:
    target = await session(seats=2)
    await signed_up(await resident(), target.id, settings)
    clock.set(target.starts_at)
    door = await walk_in(target.id, "当日 太郎", settings)
    stored = await row(door)
    assert stored.status == REGISTERED and stored.resident_id is None
    assert (stored.walk_in_name, stored.name) == ("当日 太郎", "当日 太郎")
    assert stored.attendance == Attendance.PRESENT and stored.registered_by == BookedBy.STAFF
    assert (await check_counts(target.id)).taken == 2
    before = await snapshot(target.id)
    with pytest.raises(rules.NoFreeSeat):
        await walk_in(target.id, "当日 次郎", settings)
    assert await snapshot(target.id) == before
    # Beyond the seats only when staff say so.
    await walk_in(target.id, "当日 次郎", settings, beyond=True)
    counted = await check_counts(target.id)
    assert (counted.taken, counted.seats) == (3, 2)


async def test_walk_ins_are_added_at_the_door_not_before(settings: Settings, clock: Clock) -> None:
    target = await session(seats=2)
    with pytest.raises(rules.CourseError):
        await walk_in(target.id, "早すぎ", settings)
    clock.set(target.starts_at)
    with pytest.raises(rules.CourseError):
        await walk_in(target.id, "   ", settings)
    assert await Registration.all().count() == 0
    assert (await fresh(target)).taken == 0


# ---------- Staff actions ----------


async def test_promote_moves_a_waiting_resident_into_a_free_seat_out_of_order(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=1, childcare=2)
    await signed_up(await resident("席あり"), target.id, settings)
    first = await signed_up(await resident("一番"), target.id, settings)
    second = await signed_up(await resident("二番"), target.id, settings, children=1)
    before = await snapshot(target.id)
    with pytest.raises(rules.NoFreeSeat):
        async with in_transaction():
            await rules.promote(second.id, settings)
    assert await snapshot(target.id) == before
    # A seat added at night is not offered before the morning: staff use it by hand.
    clock.set(jst(DAY, 22))
    async with in_transaction():
        outcome = await rules.update_session(target.id, spec_of(target, seats=2), settings)
    assert outcome.offers == []
    async with in_transaction():
        promoted = await rules.promote(second.id, settings)
    assert promoted.registration is not None and promoted.registration.id == second.id
    stored = await row(second)
    assert stored.status == REGISTERED and stored.registered_at == clock.at
    assert await status_of(first) == WAITING
    counted = await check_counts(target.id)
    assert (counted.taken, counted.childcare_taken, counted.waiting) == (2, 1, 1)


async def test_staff_cancel_with_a_reason_offers_the_seat(settings: Settings, clock: Clock) -> None:
    target = await session(seats=1)
    mine = await signed_up(await resident(), target.id, settings)
    queued = await signed_up(await resident("待ち"), target.id, settings)
    async with in_transaction():
        outcome = await rules.cancel_by_staff(mine.id, "重複のお申し込みのため", settings)
    stored = await row(mine)
    assert stored.status == CANCELLED and stored.cancelled_by == CancelledBy.STAFF
    assert stored.cancel_reason == "重複のお申し込みのため"
    assert ids(outcome.offers) == [queued.id]
    await check_counts(target.id)


async def test_cancelling_a_session_cancels_every_active_place(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=1, childcare=2)
    mine = await signed_up(await resident("一"), target.id, settings, children=2)
    queued = await signed_up(await resident("二"), target.id, settings)
    left = await signed_up(await resident("三"), target.id, settings)
    await cancel(await Resident.get(id=left.resident_id), left.id, settings)
    async with in_transaction():
        told = await rules.cancel_session(target.id, "台風接近のため")
    assert sorted(ids(told)) == sorted([mine.id, queued.id])
    for one in (mine, queued):
        stored = await row(one)
        assert stored.status == CANCELLED and stored.active_key is None
        assert (stored.cancelled_by, stored.cancel_reason) == (CancelledBy.STAFF, "台風接近のため")
    after = await fresh(target)
    assert (after.status, after.cancel_reason) == (SessionStatus.CANCELLED, "台風接近のため")
    assert after.childcare_taken <= after.childcare_places
    await refused(rules.SessionCancelled, await resident("後から"), target.id, settings)
    async with in_transaction():
        assert (await rules.run_offers(settings)).offers == []


def spec_of(target: ProgrammeSession, **changes: object) -> rules.SessionSpec:
    return replace(rules.SessionSpec.of(target), **changes)  # type: ignore[arg-type]


async def test_update_session_never_goes_below_what_is_taken(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=3, childcare=3)
    await signed_up(await resident("一"), target.id, settings, children=2)
    await signed_up(await resident("二"), target.id, settings)
    before = await snapshot(target.id)
    for too_small in (spec_of(target, seats=1), spec_of(target, childcare_places=1)):
        with pytest.raises(rules.BadSession) as caught:
            async with in_transaction():
                await rules.update_session(target.id, too_small, settings)
        assert caught.value.problems
        assert await snapshot(target.id) == before
    async with in_transaction():
        await rules.update_session(
            target.id, spec_of(target, seats=2, childcare_places=2, venue="名瀬公民館"), settings
        )
    after = await check_counts(target.id)
    assert (after.seats, after.childcare_places, after.venue) == (2, 2, "名瀬公民館")


async def test_spec_problems_name_what_is_wrong(settings: Settings, clock: Clock) -> None:
    start = jst(SESSION_DAY, 10)
    good = rules.SessionSpec(starts_at=start, ends_at=start + timedelta(hours=2), seats=10)
    assert rules.spec_problems(good) == []

    def problems(**changes: object) -> str:
        found = rules.spec_problems(replace(good, **changes))  # type: ignore[arg-type]
        assert found, changes
        return "".join(found)

    assert "終了" in problems(ends_at=start)
    assert "締切" in problems(deadline=start + timedelta(minutes=1))
    assert "定員" in problems(seats=0)
    assert "託児" in problems(childcare_places=-1)
    assert "過去" in problems(starts_at=clock.at - timedelta(hours=1), ends_at=clock.at)
    assert "会場" in problems(venue=" ")
    assert "https://" in problems(online=True, online_url="http://example.com/room")
    assert rules.spec_problems(replace(good, venue="", online=True)) == []
    published_online = replace(good, venue="", online=True, status=SessionStatus.PUBLISHED)
    assert "URL" in "".join(rules.spec_problems(published_online))
    # Against a session: never below what is taken.
    target = await session(seats=3, childcare=2)
    await signed_up(await resident(), target.id, settings, children=2)
    await signed_up(await resident(), target.id, settings)
    target = await fresh(target)
    assert "2人" in "".join(rules.spec_problems(spec_of(target, seats=1), target))
    assert "託児" in "".join(rules.spec_problems(spec_of(target, childcare_places=1), target))
    assert rules.spec_problems(spec_of(target, seats=2), target) == []


async def test_create_session_refuses_a_bad_spec(settings: Settings, clock: Clock) -> None:
    target = await session()
    programme = await Programme.get(id=target.programme_id)
    start = jst(SESSION_DAY, 14)
    with pytest.raises(rules.BadSession) as caught:
        await rules.create_session(programme, rules.SessionSpec(start, start, seats=0))
    assert len(caught.value.problems) >= 2
    assert await ProgrammeSession.all().count() == 1
    made = await rules.create_session(
        programme, rules.SessionSpec(start, start + timedelta(hours=1), seats=5)
    )
    assert (made.deadline, made.status, made.taken) == (start, SessionStatus.DRAFT, 0)


async def test_copy_a_session_to_next_week_as_an_empty_draft(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=2, childcare=3, venue="名瀬公民館")
    await ProgrammeSession.filter(id=target.id).update(deadline=jst(SESSION_DAY - timedelta(1), 17))
    await signed_up(await resident(), target.id, settings, children=1)
    await signed_up(await resident(), target.id, settings)
    await signed_up(await resident(), target.id, settings)  # waiting
    async with in_transaction():
        copy = await rules.copy_session(target.id, weeks=1)
    week = timedelta(days=7)
    assert copy.id != target.id and copy.programme_id == target.programme_id
    assert (copy.starts_at, copy.ends_at) == (target.starts_at + week, target.ends_at + week)
    assert copy.deadline == jst(SESSION_DAY + week - timedelta(1), 17)
    assert (copy.seats, copy.childcare_places, copy.venue) == (2, 3, "名瀬公民館")
    assert copy.status == SessionStatus.DRAFT
    assert (copy.taken, copy.childcare_taken, copy.waiting) == (0, 0, 0)
    assert await Registration.filter(session_id=copy.id).count() == 0
    original = await check_counts(target.id)
    assert (original.taken, original.waiting, original.status) == (2, 1, SessionStatus.PUBLISHED)
    # A second tap on 翌週にコピー copies nothing more: it names the copy already there.
    with pytest.raises(rules.AlreadyCopied) as caught:
        async with in_transaction():
            await rules.copy_session(target.id, weeks=1)
    assert caught.value.twin.id == copy.id
    assert await ProgrammeSession.filter(programme_id=target.programme_id).count() == 2


async def test_copy_a_session_to_next_month_keeps_the_time_of_day(
    settings: Settings, clock: Clock
) -> None:
    clock.set(jst(date(2030, 1, 20), 10))
    target = await session(jst(date(2030, 1, 31), 19), hours=1.5)
    async with in_transaction():
        copy = await rules.copy_session(target.id, months=1)
    assert copy.starts_at == jst(date(2030, 2, 28), 19)  # no 31 February: the month's last day
    assert copy.ends_at == jst(date(2030, 2, 28), 20, 30)
    assert copy.status == SessionStatus.DRAFT


# ---------- Reading ----------


async def test_upcoming_sessions_are_published_and_not_started_soonest_first(
    settings: Settings, clock: Clock
) -> None:
    later = await session(jst(SESSION_DAY, 14))
    sooner = await session(jst(SESSION_DAY, 10))
    await session(jst(SESSION_DAY, 9), status=SessionStatus.DRAFT)
    await session(jst(SESSION_DAY, 11), status=SessionStatus.CANCELLED)
    await session(clock.at - timedelta(minutes=1))  # started
    found = await rules.upcoming_sessions()
    assert ids(found) == [sooner.id, later.id]
    assert found[0].programme.title  # programme loaded


async def test_an_archived_programmes_sessions_are_not_offered(
    settings: Settings, clock: Clock
) -> None:
    shown = await session(jst(SESSION_DAY, 10))
    archived = await session(jst(SESSION_DAY, 11))
    await Programme.filter(id=archived.programme_id).update(is_archived=True)
    assert ids(await rules.upcoming_sessions()) == [shown.id]


async def test_a_draft_that_has_started_cannot_be_published(
    settings: Settings, clock: Clock
) -> None:
    start = clock.at - timedelta(minutes=10)
    draft = await session(start, status=SessionStatus.DRAFT)
    spec = rules.SessionSpec(
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        seats=draft.seats,
        deadline=draft.deadline,
        status=SessionStatus.PUBLISHED,
    )
    with pytest.raises(rules.BadSession) as caught:
        await rules.update_session(draft.id, spec, settings)
    assert "公開できません" in caught.value.message
    assert (await fresh(draft)).status == SessionStatus.DRAFT


async def test_mine_lists_active_places_of_sessions_not_ended(
    settings: Settings, clock: Clock
) -> None:
    who = await resident()
    later = await session(jst(SESSION_DAY + timedelta(days=1), 10))
    full = await session(jst(SESSION_DAY, 10), seats=1)
    left = await session(jst(SESSION_DAY, 8))
    await signed_up(await resident("席あり"), full.id, settings)
    a = await signed_up(who, later.id, settings)
    b = await signed_up(who, full.id, settings)  # waiting
    c = await signed_up(who, left.id, settings)
    await cancel(who, c.id, settings)
    assert ids(await rules.mine(who)) == [b.id, a.id]
    clock.set(full.ends_at)
    assert ids(await rules.mine(who)) == [a.id]


async def test_registrations_of_a_session_in_order(settings: Settings, clock: Clock) -> None:
    target = await session(seats=2)
    people = [await resident(n) for n in ("一", "二", "三", "四")]
    rows = []
    for who in people:
        clock.advance(minutes=1)
        rows.append(await signed_up(who, target.id, settings))
    await cancel(people[0], rows[0].id, settings)  # 三 is offered the seat
    listed = await rules.registrations_of(target.id)
    assert ids(listed) == [rows[1].id, rows[2].id, rows[3].id, rows[0].id]
    assert [r.status for r in listed] == [REGISTERED, OFFERED, WAITING, CANCELLED]
    assert listed[0].name == "二"  # resident loaded


# ---------- The clock's jobs ----------


async def claim_reminders(settings: Settings) -> list[Registration]:
    async with in_transaction():
        return await rules.claim_due_reminders(settings)


async def claim_followups(settings: Settings) -> list[Registration]:
    async with in_transaction():
        return await rules.claim_due_followups(settings)


async def test_the_day_before_reminder_is_claimed_once_and_only_for_registered(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=2)  # Saturday 10:00: the reminder is Friday 18:00
    stays = await signed_up(await resident("参加"), target.id, settings)
    leaver = await resident("取消")
    leaving = await signed_up(leaver, target.id, settings)
    queued = await signed_up(await resident("待ち"), target.id, settings)
    await cancel(leaver, leaving.id, settings)
    assert await status_of(queued) == OFFERED  # holds a seat, but is not registered
    called_off = await session(jst(SESSION_DAY, 14))
    await signed_up(await resident("中止の回"), called_off.id, settings)
    async with in_transaction():
        await rules.cancel_session(called_off.id, "講師体調不良")
    clock.set(jst(SESSION_DAY - timedelta(days=1), 17, 59))
    assert await claim_reminders(settings) == []
    clock.set(jst(SESSION_DAY - timedelta(days=1), 18))
    assert ids(await claim_reminders(settings)) == [stays.id]
    clock.advance(minutes=30)
    assert await claim_reminders(settings) == []
    assert (await row(stays)).reminder_queued_at is not None
    assert (await row(leaving)).reminder_queued_at is None


async def test_the_followup_is_claimed_once_and_only_for_attendees(
    settings: Settings, clock: Clock
) -> None:
    target = await session(seats=5)  # 10:00–12:00
    names = ("出席", "欠席", "未記録", "取消", "誤登録")
    came, absent, unmarked, leaver, mistaken = [await resident(n) for n in names]
    rows = {
        who: await signed_up(who, target.id, settings) for who in (came, absent, unmarked, mistaken)
    }
    leaving = await signed_up(leaver, target.id, settings)
    await cancel(leaver, leaving.id, settings)
    clock.set(target.starts_at)
    async with in_transaction():
        await rules.check_in(came, rows[came].id, settings)
    await mark(rows[absent].id, Attendance.ABSENT, settings)
    # Marked present, then cancelled by staff (a mistaken entry): no question for them.
    await mark(rows[mistaken].id, Attendance.PRESENT, settings)
    async with in_transaction():
        await rules.cancel_by_staff(rows[mistaken].id, "誤登録", settings)
    await walk_in(target.id, "当日 花子", settings)
    clock.set(target.ends_at - timedelta(minutes=1))
    assert await claim_followups(settings) == []  # not over yet
    clock.set(target.ends_at)
    claimed = await claim_followups(settings)
    assert ids(claimed) == [rows[came].id]
    assert await claim_followups(settings) == []
    clock.advance(hours=2)
    assert await claim_followups(settings) == []


async def test_attendees_rate_after_the_session_and_a_later_answer_replaces_it(
    settings: Settings, clock: Clock
) -> None:
    target = await session()
    came, absent = await resident("出席"), await resident("欠席")
    mine = await signed_up(came, target.id, settings)
    theirs = await signed_up(absent, target.id, settings)
    clock.set(target.starts_at)
    async with in_transaction():
        await rules.check_in(came, mine.id, settings)
    clock.set(target.ends_at + timedelta(hours=1))
    await rules.rate(came, mine.id, 4)
    await rules.rate(came, mine.id, 5)
    await rules.comment(came, mine.id, "  とても分かりやすかったです。  ")
    stored = await row(mine)
    assert (stored.satisfaction, stored.comment) == (5, "とても分かりやすかったです。")
    for bad in (0, 6):
        with pytest.raises(rules.CourseError):
            await rules.rate(came, mine.id, bad)
    with pytest.raises(rules.CourseError):
        await rules.comment(came, mine.id, "あ" * (rules.COMMENT_MAX + 1))
    with pytest.raises(rules.CourseError):
        await rules.rate(absent, theirs.id, 3)
    stored = await row(mine)
    assert (stored.satisfaction, stored.comment) == (5, "とても分かりやすかったです。")
    assert (await row(theirs)).satisfaction is None
