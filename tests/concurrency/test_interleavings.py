"""The guards that only matter when two things happen at once: the reminder's compare-and-set,
the conditional capacity update on slot edit, the slot lock that keeps a new closure from
being overtaken by a booking, and the lease-owner check when the worker finishes an event.

Each test pauses one side just before its guarded write and lets the other side run in the
gap. On PostgreSQL the other side runs in its own transaction on another connection (a real
interleaving). On SQLite tortoise runs one transaction at a time in a process, so the other
side runs inside the paused transaction (a savepoint) — the same order of statements, with
the caveat noted where it changes what can be asserted. The lease tests pause outside any
transaction (in the profile look-up) and are real interleavings on both backends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from line_app import profiles
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from models.consultation import Booking, BookingStatus, Closure, ConsultationSlot, Method, Topic
from models.inbox import InboxEvent, InboxStatus
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.domain import consultation as rules
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker
from tests.admin.conftest import page_csrf
from tests.admin.test_consult_admin import future_day, jst
from tests.conftest import BACKEND
from tests.line_app import events

SECRET = "test-channel-secret"
BLOCKED_AFTER = 1.0  # seconds without an answer: the competitor is waiting on our lock
Competitor = Callable[[], Awaitable[Any]]


class Gap:
    """Runs `competitor` in the gap before the first UPDATE of `model` that sets `field`."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, model: type, field: str, may_block: bool = False
    ) -> None:
        # may_block: the competitor may wait on a lock the paused side holds (PostgreSQL);
        # then the paused side goes on after a moment and the competitor finishes after it.
        self.model, self.field, self.may_block = model, field, may_block
        self.fired = False
        self.result: Any = None
        self._go = asyncio.Event()
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        real = QuerySet.update
        gap = self

        def update(qs: QuerySet[Any], **kwargs: Any) -> Any:
            if qs.model is gap.model and gap.field in kwargs and not gap.fired:
                gap.fired = True

                async def paused() -> Any:
                    await gap._run_in_gap()
                    return await real(qs, **kwargs)

                return paused()
            return real(qs, **kwargs)

        monkeypatch.setattr(QuerySet, "update", update)

    def arm(self, competitor: Competitor) -> None:
        """Call from the test itself (no transaction open): on PostgreSQL the competitor's
        task is made here, so it does not inherit the paused side's transaction."""
        self._competitor = competitor
        if BACKEND == "postgres":
            self._task = asyncio.create_task(self._wait_and_run())

    async def _wait_and_run(self) -> None:
        await self._go.wait()
        try:
            self.result = await self._competitor()
        finally:
            self._done.set()

    async def _run_in_gap(self) -> None:
        if self._task is None:
            self.result = await self._competitor()  # SQLite: inside the paused transaction
            return
        self._go.set()
        try:
            await asyncio.wait_for(
                self._done.wait(), timeout=BLOCKED_AFTER if self.may_block else 10
            )
        except TimeoutError:
            if not self.may_block:
                raise

    async def finish(self) -> None:
        assert self.fired, "the guarded UPDATE was never reached"
        if self._task is not None:
            await self._task


# ---------- The reminder's compare-and-set ----------


async def test_two_workers_queue_one_reminder(
    settings: Settings, line: LineClient, fake_line: FakeLinePlatform, monkeypatch
) -> None:
    fake_line.add_user("U1", "奄美 花子")
    who = await Resident.create(line_user_id="U1", display_name="奄美 花子")
    starts = now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=20)
    slot = await ConsultationSlot.create(starts_at=starts, ends_at=starts + timedelta(hours=1))
    async with in_transaction():
        booking = await rules.book(
            who, rules.BookingRequest(slot.id, Topic.START, Method.VISIT), settings
        )
    await Booking.filter(id=booking.id).update(created_at=now() - timedelta(days=3))
    late = settings.with_overrides(reminder_hour_jst=0)  # past the reminder time
    first, second = Worker(late, line), Worker(late, line)

    gap = Gap(monkeypatch, Booking, "reminder_queued_at")
    gap.arm(second.run_schedule_once)  # the second worker claims while the first is paused
    claimed_by_first = await first.run_schedule_once()
    await gap.finish()

    assert claimed_by_first + gap.result == 1
    assert await OutboxMessage.filter(kind="reminder").count() == 1
    await Worker(settings, line).drain()
    pushes = [d for d in fake_line.delivered("U1") if "明日のご相談" in str(d.messages)]
    assert len(pushes) == 1


# ---------- The conditional capacity update on slot edit ----------


async def test_lowering_capacity_while_a_resident_books_is_refused(
    staff_client: httpx2.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = future_day()
    slot = await ConsultationSlot.create(
        starts_at=jst(day, 10), ends_at=jst(day, 11), counsellor="田中", capacity=2
    )
    first = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name="一")
    second = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name="二")
    async with in_transaction():
        await rules.book(first, rules.BookingRequest(slot.id, Topic.START, Method.VISIT), settings)
    path = f"/admin/consult/slots/{slot.id}/edit"
    form = {
        "csrf_token": await page_csrf(staff_client, path),
        "date": day.isoformat(),
        "start": "10:00",
        "end": "11:00",
        "counsellor": "田中",
        "methods": ["visit", "online", "phone"],
        "capacity": "1",  # one booking: valid when the form was checked
    }

    async def resident_books_the_last_seat() -> Booking:
        async with in_transaction():
            request = rules.BookingRequest(slot.id, Topic.SALES, Method.ONLINE)
            return await rules.book(second, request, settings)

    gap = Gap(monkeypatch, ConsultationSlot, "capacity")
    gap.arm(resident_books_the_last_seat)
    response = await staff_client.post(path, data=form)
    await gap.finish()

    assert response.status_code == 400
    assert "編集中にこの枠の予約が変わりました" in response.text
    await slot.refresh_from_db()
    assert slot.capacity == 2
    booked = await Booking.filter(slot_id=slot.id).count()
    assert slot.booked_count == booked
    if BACKEND == "postgres":
        assert booked == 2  # the resident's booking stands
    # (On SQLite the resident's booking ran inside the refused edit's transaction, so the
    # refusal rolled it back too; the guard under test is the same.)


# ---------- A closure added while a resident confirms a booking ----------


@pytest.mark.skipif(
    BACKEND != "postgres",
    reason="SQLite runs one transaction at a time: the closure cannot land inside a booking",
)
async def test_a_closure_added_while_a_resident_confirms_is_never_overtaken(
    staff_client: httpx2.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The resident's booking has passed the closure check and is about to take the seat when
    staff close the day. Either the booking commits first and staff are told the day has
    bookings, or the closure comes first and the booking is refused — never a booking on a
    closed day that nobody was warned about."""
    day = future_day()
    slot = await ConsultationSlot.create(
        starts_at=jst(day, 10), ends_at=jst(day, 11), counsellor="田中"
    )
    who = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name="一")
    path = "/admin/consult/closures"
    form = {"csrf_token": await page_csrf(staff_client, path), "date": day.isoformat()}

    async def staff_close_the_day() -> httpx2.Response:
        return await staff_client.post(path, data={**form, "reason": "施設点検"})

    gap = Gap(monkeypatch, ConsultationSlot, "booked_count", may_block=True)
    gap.arm(staff_close_the_day)
    booked: Booking | None = None
    try:
        async with in_transaction():
            request = rules.BookingRequest(slot.id, Topic.START, Method.VISIT)
            booked = await rules.book(who, request, settings)
    except rules.SlotClosed:
        pass
    await gap.finish()

    response = gap.result
    assert response.status_code == 303
    assert await Closure.exists(date=day)
    warned = "booked_on=" in response.headers["location"]
    on_closed_day = await Booking.filter(slot_id=slot.id, status=BookingStatus.BOOKED).count()
    assert on_closed_day == (1 if booked else 0)
    assert warned == bool(on_closed_day), "a booking on the closed day nobody was warned about"
    assert booked is not None  # the lock made the closure wait for the booking


# ---------- The lease-owner check when the worker finishes an event ----------


async def _say(client: httpx2.AsyncClient, fake: FakeLinePlatform, words: str) -> InboxEvent:
    event = events.text("U1", fake.issue_reply_token("U1"), words)
    assert (await events.post(client, SECRET, event)).status_code == 200
    return await InboxEvent.get(webhook_event_id=event["webhookEventId"])


def _in_prefetch(monkeypatch: pytest.MonkeyPatch, competitor: Competitor) -> None:
    """The first worker's profile look-up is slow: its lease runs out meanwhile and
    `competitor` runs (outside any transaction: a real interleaving on both backends)."""
    real = profiles.names_for_batch
    fired = False

    async def slow_lookups(batch: Sequence[InboxEvent], line: LineClient) -> list[str | None]:
        nonlocal fired
        if not fired:
            fired = True
            ids = [event.id for event in batch]
            await InboxEvent.filter(id__in=ids).update(lease_until=now() - timedelta(seconds=1))
            await competitor()
        return await real(batch, line)

    monkeypatch.setattr(profiles, "names_for_batch", slow_lookups)


def _replies(fake: FakeLinePlatform) -> list[Any]:
    return [d for d in fake.delivered("U1") if "ご相談の内容をお選びください" in str(d.messages)]


async def test_a_worker_whose_lease_was_taken_over_does_not_send_twice(
    client: httpx2.AsyncClient,
    settings: Settings,
    line: LineClient,
    fake_line: FakeLinePlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_line.add_user("U1", "奄美 花子")
    event = await _say(client, fake_line, "予約")
    slow, other = Worker(settings, line), Worker(settings, line)
    _in_prefetch(monkeypatch, other.run_inbox_once)  # the other worker handles it all
    assert await slow.run_inbox_once() == 1
    await slow.drain()
    assert len(_replies(fake_line)) == 1
    await event.refresh_from_db()
    assert event.status == InboxStatus.DONE and event.worker_id.startswith(other.id)
    assert await OutboxMessage.filter(line_user_id="U1").count() == 1


async def test_a_worker_whose_lease_was_taken_over_does_not_mark_it_done(
    client: httpx2.AsyncClient,
    settings: Settings,
    line: LineClient,
    fake_line: FakeLinePlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_line.add_user("U1", "奄美 花子")
    event = await _say(client, fake_line, "予約")
    slow, other = Worker(settings, line), Worker(settings, line)

    async def other_takes_it_over() -> None:
        [taken] = await other_claims()
        assert taken.id == event.id

    async def other_claims() -> list[InboxEvent]:
        from line_app import inbox

        return await inbox.claim(other.id, 10, settings.lease_seconds)

    _in_prefetch(monkeypatch, other_takes_it_over)
    await slow.run_inbox_once()
    await event.refresh_from_db()
    # The slow worker's work was rolled back: the new owner still holds the event.
    assert event.status == InboxStatus.PROCESSING and event.worker_id.startswith(other.id)
    assert await OutboxMessage.filter(line_user_id="U1").count() == 0
    # The owner's lease runs out too (it crashed, say): the event is handled exactly once.
    await InboxEvent.filter(id=event.id).update(lease_until=now() - timedelta(seconds=1))
    await Worker(settings, line).drain()
    assert len(_replies(fake_line)) == 1
    await event.refresh_from_db()
    assert event.status == InboxStatus.DONE
