"""The background worker: handles stored webhook events, delivers the outbox and sends
announcements (お知らせ配信, line_app.announcements).

Runs inside the web process (single machine) or as `shima worker` (several processes on
PostgreSQL). Every piece of state is in the database, so a crash loses nothing: leases on
claimed rows expire and another run picks them up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence

from tortoise.transactions import in_transaction

from line_app import announcements, chat, inbox, market_intake, outbox, profiles, state, webhook
from line_app.client import LineClient
from line_app.turn import Turn
from models.inbox import InboxEvent
from models.residents import Resident
from shima import areas as registry
from shima.settings import Settings
from shima.timeutil import now

log = logging.getLogger("shima.worker")
BATCH = 200  # rows claimed per round (one per user)
GIVE_WAY_MAX = 1.0  # seconds a worker round waits, at most, for in-flight webhooks
SCHEDULE_EVERY = 30.0  # seconds between looks for due reminders
# Events waiting for their photos hold their lease this long (seconds): downloads and
# decoding of a burst of photos take turns (line_app.market_intake), and a lease running
# out meanwhile would let the event be taken again before its photo is there.
PHOTO_ROUND_LEASE = 300.0
PHOTO_CHUNK = 8  # photo events answered per transaction (as many as download at once)
# The announcements loop sleeps this many poll intervals when idle (2 s by default): it wakes
# for a retry or a scheduled time on its own (announcements.next_due_in), and the admin's
# 「今すぐ配信」 can wake it (wake_announcements).
ANNOUNCE_IDLE_POLLS = 4


async def _residents_for(user_ids: list[str]) -> dict[str, Resident]:
    found = {r.line_user_id: r for r in await Resident.filter(line_user_id__in=user_ids)}
    missing = [u for u in dict.fromkeys(user_ids) if u not in found]
    if missing:
        at = now()
        await Resident.bulk_create(
            [Resident(line_user_id=u, created_at=at, updated_at=at) for u in missing]
        )
        found.update({r.line_user_id: r for r in await Resident.filter(line_user_id__in=missing)})
    return found


class LeaseLost(Exception):
    """Another worker took the row over (our lease expired): roll our work back."""


class Worker:
    def __init__(
        self,
        settings: Settings,
        line: LineClient,
        areas: Sequence[registry.Area] = registry.AREAS,
    ) -> None:
        self.settings = settings
        self.line = line
        self.router = registry.line_router(areas)
        self.jobs = registry.jobs(areas)
        self.id = f"{socket.gethostname()[:20]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._inbox_wake = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._announce_wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        # Rounds of events waiting for their photos to be downloaded (market_intake).
        self._photo_rounds: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        market_intake.keep_memory_returnable()
        self._tasks = [
            asyncio.create_task(self._loop(self.run_inbox_once, self._inbox_wake), name="inbox"),
            asyncio.create_task(
                self._loop(self.run_outbox_once, self._outbox_wake, outbox.next_due_in),
                name="outbox",
            ),
            asyncio.create_task(
                self._loop(
                    self.run_announce_once,
                    self._announce_wake,
                    announcements.next_due_in,
                    poll=self.settings.poll_interval_seconds * ANNOUNCE_IDLE_POLLS,
                ),
                name="announcements",
            ),
            asyncio.create_task(self._schedule_loop(), name="schedule"),
        ]
        self.wake()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish what is in hand (up to the grace period), then release what we hold."""
        self._stopping = True
        self._inbox_wake.set()
        self._outbox_wake.set()
        self._announce_wake.set()
        running = [*self._tasks, *self._photo_rounds]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks = []
        try:
            await inbox.release(self.id)
            await outbox.release(self.id)
            await announcements.release(self.id)
        except Exception:  # the database may be gone at shutdown; leases expire anyway
            log.warning("could not release leases at shutdown", exc_info=True)

    def wake(self) -> None:
        self._inbox_wake.set()

    def wake_announcements(self) -> None:
        """An announcement may be due now (staff chose 今すぐ配信, or approved one)."""
        self._announce_wake.set()

    async def _loop(
        self,
        run_once: Callable[[], Awaitable[int]],
        wake: asyncio.Event,
        next_due: Callable[[float], Awaitable[float]] | None = None,
        poll: float | None = None,
    ) -> None:
        poll = poll or self.settings.poll_interval_seconds
        while not self._stopping:
            await self._give_way()
            try:
                done = await run_once()
            except Exception:
                log.exception("worker round failed")
                done = 0
            if done or self._stopping:
                continue
            timeout = await next_due(poll) if next_due else poll
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), timeout=max(timeout, 0.01))
            except TimeoutError:
                pass

    async def _give_way(self) -> None:
        """Let webhook requests in this process be acknowledged first, for at most
        GIVE_WAY_MAX seconds per round, so a burst is acknowledged quickly and the worker
        still makes progress under constant load."""
        loop = asyncio.get_running_loop()
        until = loop.time() + GIVE_WAY_MAX
        while webhook.pressure.inflight and loop.time() < until and not self._stopping:
            await asyncio.sleep(0.002)

    async def _schedule_loop(self) -> None:
        while not self._stopping:
            try:
                if await self.run_schedule_once():
                    self._outbox_wake.set()
            except Exception:
                log.exception("scheduled round failed")
            for _ in range(int(SCHEDULE_EVERY / 0.25)):
                if self._stopping:
                    return
                await asyncio.sleep(0.25)

    async def run_schedule_once(self) -> int:
        """Run the areas' scheduled jobs (e.g. the day-before reminders), each in its own
        transaction."""
        queued = 0
        for job in self.jobs:
            async with in_transaction():
                queued += await job.run(self.settings)
        try:
            await profiles.fill_missing(self.line)
        except Exception:
            log.exception("filling display names failed")
        try:
            await chat.fill_missing_images(self.line)
        except Exception:
            log.exception("fetching residents' pictures again failed")
        return queued

    # -- inbox -------------------------------------------------------------------------

    async def run_inbox_once(self) -> int:
        events = await inbox.claim(self.id, BATCH, self.settings.lease_seconds)
        if not events:
            return 0
        # Artists' photos at the market's photo step are the market's: fetched and stored
        # by market_intake, left alone by the chat (downloaded once). Their events wait for
        # the download in a round of their own, so no one else's answer waits for photos
        # (their users' later events wait: a user's events stay in order).
        photos = await market_intake.select(events)
        waiting = photos.to_fetch
        later = [e for e in events if chat.content_id(e.payload.get("message")) in waiting]
        if later:
            await inbox.extend_lease(later, PHOTO_ROUND_LEASE)
            task = asyncio.create_task(self._photo_round(later, photos))
            self._photo_rounds.add(task)
            task.add_done_callback(self._photo_rounds.discard)
        now_events = [e for e in events if e not in later]
        if now_events:
            # Network look-ups first (never inside a transaction), all users at once.
            names, _ = await asyncio.gather(
                profiles.names_for_batch(now_events, self.line),
                chat.fetch_images(now_events, self.line, skip=photos.message_ids),
            )
            await self._handle_batch(list(zip(now_events, names, strict=True)))
        return len(events)

    async def _photo_round(self, events: list[InboxEvent], photos: market_intake.Selection) -> None:
        """Fetch the photos a few events at a time and answer those events as soon as their
        photos are in: artists see their acknowledgements arrive one after another, and each
        transaction stays short (on SQLite a long one would hold webhooks waiting)."""
        try:
            names = await profiles.names_for_batch(events, self.line)
            pairs = list(zip(events, names, strict=True))
            for start in range(0, len(pairs), PHOTO_CHUNK):
                chunk = pairs[start : start + PHOTO_CHUNK]
                ids = {chat.content_id(e.payload.get("message")) for e, _ in chunk}
                part = market_intake.Selection([w for w in photos.photos if w.message_id in ids])
                await market_intake.fetch(part, self.line, self.settings)
                await self._handle_batch(chunk)
        except Exception:  # the leases run out and the events are taken again
            log.exception("a round of photo events failed")

    async def _handle_batch(self, pairs: list[tuple[InboxEvent, str | None]]) -> None:
        # The common case: the whole batch (one event per user) in one transaction, one
        # commit instead of one per event. Retried events, or a batch that fails, go one
        # by one, so one bad event cannot hold the others back.
        if not (all(e.attempts <= 1 for e, _ in pairs) and await self._try_batch(pairs)):
            for event, name in pairs:
                await self._process(event, name)
        self._outbox_wake.set()

    async def _try_batch(self, pairs: list[tuple[InboxEvent, str | None]]) -> bool:
        try:
            async with in_transaction():
                await self._handle(pairs)
        except Exception as exc:  # rolled back as a whole
            log.info("batch of %s rolled back (%s); one by one", len(pairs), type(exc).__name__)
            return False
        return True

    async def _handle(self, items: list[tuple[InboxEvent, str | None]]) -> None:
        """Events' flows inside the caller's transaction: residents looked up together,
        replies inserted together, and the events marked done together (a few statements
        for a whole batch)."""
        users = [event.line_user_id for event, _ in items]
        residents = await _residents_for(users)
        preloaded = await state.preload(users)
        rows = []
        try:
            for event, name in items:
                turn = Turn(event, residents[event.line_user_id], self.settings, profile_name=name)
                await self.router.handle(turn)
                rows.extend(turn.outbox_rows())
        finally:
            state.forget(preloaded)
        await outbox.save_all(rows)
        if not await inbox.finish([event for event, _ in items]):
            raise LeaseLost

    async def _process(self, event: InboxEvent, name: str | None) -> None:
        if event.attempts > inbox.MAX_ATTEMPTS:  # crashed the process too often
            await inbox.fail(event, "処理中の異常終了が続いたため中止しました", 0)
            return
        try:
            async with in_transaction():
                await self._handle([(event, name)])
        except LeaseLost:
            log.warning("inbox event %s was taken over by another worker", event.id)
        except inbox.RetryLater as exc:
            # Expected (e.g. a picture not fetched yet: the retry fetches it again first).
            log.info(
                "inbox event %s waits (%s, attempt %s)",
                event.id,
                type(exc).__name__,
                event.attempts,
            )
            await inbox.fail(
                event, type(exc).__name__, outbox.backoff(event.attempts, self.settings)
            )
        except Exception as exc:
            # The type and place only: messages can carry residents' words.
            log.exception("inbox event %s (%s) failed", event.id, event.event_type)
            await inbox.fail(
                event, f"{type(exc).__name__}", outbox.backoff(event.attempts, self.settings)
            )

    # -- outbox ------------------------------------------------------------------------

    async def run_outbox_once(self) -> int:
        rows = await outbox.claim(self.id, BATCH, self.settings.lease_seconds)
        if rows:
            await outbox.deliver_batch(rows, self.line, self.settings)
        return len(rows)

    # -- announcements -----------------------------------------------------------------

    async def run_announce_once(self) -> int:
        return await announcements.run_once(self.line, self.settings, self.id)

    async def drain(self, timeout: float = 10.0) -> None:
        """Run the loops until nothing is left to do now (tests, CLI): events, the outbox and
        announcements (a batch waiting for its retry is not "now")."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            handled = await self.run_inbox_once()
            if self._photo_rounds:
                await asyncio.wait(self._photo_rounds, timeout=max(deadline - loop.time(), 0))
                handled += 1
            sent = await self.run_outbox_once()
            sent += await self.run_announce_once()
            if not handled and not sent:
                return
        raise TimeoutError("worker did not drain in time")
