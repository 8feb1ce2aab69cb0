"""お知らせ配信's delivery: every recipient gets an announcement exactly once, across crashes,
restarts, 429s, 5xx and timeouts. The worker runs `run_once` in a loop of its own.

A round:
1. Start what is due (shima.domain.announcements.start: recipients and batches fixed, or
   REFUSED when the month's quota does not cover it). The quota is read from LINE first,
   outside any transaction. If LINE cannot tell us, a due announcement waits (next round) —
   for at most QUOTA_WAIT after its time; then it starts without the check: staff saw the cost
   and the quota when they asked to send, and LINE itself refuses what is over the month's
   limit (429, the batch FAILED), so waiting longer only delays a send staff scheduled.
2. Claim due batches by compare-and-set with a lease (several workers on PostgreSQL never hold
   the same batch); a SENDING batch whose lease ran out (its worker died) is taken over.
3. Freeze batches before their first attempt, committed before any call: recipients who
   unfollowed, opted out or were erased since it started are SKIPPED, and the rest is the list
   every attempt sends to, with the batch's one stored X-Line-Retry-Key.
4. Send — never inside a transaction: one multicast to the recipients' current LINE ids, or a
   push for a personalised text (a batch of one, named).
5. 2xx, or 409 (LINE took an earlier attempt with this key) → SENT, recipients DELIVERED.
   429/5xx/connection trouble → again after a backoff with the same key, for
   `settings.send_give_up_hours`, then FAILED. No answer (a timeout) → retried with the same
   key only within the key's life (line_app.outbox.RETRY_KEY_LIFE from the first attempt),
   then UNKNOWN (its recipients stay pending: nobody knows whether they got it). Other 4xx
   (and the month's limit reached) → FAILED, recipients FAILED.
6. The announcement's figures are refreshed (shima.domain.announcements.refresh).

Logs carry ids and counts only.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q, Subquery
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from line_app.claims import lease_is_free
from line_app.client import LineClient, Outcome, SendResult
from line_app.notices.announce import messages_for, monthly_quota
from line_app.outbox import RETRY_KEY_LIFE, backoff
from models.announcements import (
    Announcement,
    AnnouncementBatch,
    AnnouncementStatus,
    BatchStatus,
    RecipientStatus,
)
from models.announcements import AnnouncementRecipient as Recipient
from models.residents import Resident
from shima.domain import announcements as rules
from shima.domain import segments
from shima.settings import Settings
from shima.timeutil import now

log = logging.getLogger("shima.announce")
# Batches per round, sent at once: up to 25,000 residents by multicast (LINE takes 200
# multicast requests a second), or 50 personalised pushes.
CLAIM = 50
# How long past its time a due announcement waits for LINE to tell us the quota.
QUOTA_WAIT = timedelta(minutes=10)


async def run_once(line: LineClient, settings: Settings, worker_id: str) -> int:
    """One round: start what is due, send the batches that are due. Returns how much was
    done (0: nothing to do now)."""
    started = await start_due(line)
    batches = await claim(worker_id, CLAIM, _lease_seconds(settings))
    if batches:
        await deliver(batches, line, settings)
        for a_id in dict.fromkeys(_announcement_id(b) for b in batches):
            await rules.refresh(a_id)
    return started + len(batches)


def _announcement_id(batch: AnnouncementBatch) -> int:
    return batch.announcement_id


def _lease_seconds(settings: Settings) -> float:
    """A batch is held long enough to freeze it and wait for LINE's answer."""
    return settings.lease_seconds + settings.line_timeout_seconds


# ---- starting ---------------------------------------------------------------------------


async def start_due(line: LineClient) -> int:
    """Start the due announcements (each its own transaction, in the domain)."""
    due = await rules.due_ids()
    if not due:
        return 0
    quota = await monthly_quota(line)  # outside any transaction
    remaining = quota.remaining
    if quota.error:
        due = await _waited_long_enough(due)
        if not due:
            log.warning("announcements wait: the quota could not be read")
            return 0
        log.warning("announcements %s start without a quota check", due)
    started = 0
    for a_id in due:
        a = await rules.start(a_id, remaining=remaining)
        if a is not None:  # None: another worker started it, or it was cancelled
            started += 1
            log.info("announcement %s %s: %s recipients", a.id, a.status.value, a.recipients)
    return started


async def _waited_long_enough(due: list[int]) -> list[int]:
    until = now() - QUOTA_WAIT
    rows = await Announcement.filter(id__in=due, send_at__lte=until).values_list("id", flat=True)
    ready = {int(str(i)) for i in rows}
    return [a_id for a_id in due if a_id in ready]


# ---- claiming ---------------------------------------------------------------------------


def _claimable(at: datetime) -> Q:
    due = Q(status=BatchStatus.PENDING) & Q(next_attempt_at__lte=at)
    abandoned = Q(status=BatchStatus.SENDING) & lease_is_free(at)
    return due | abandoned


async def claim(worker_id: str, limit: int, lease_seconds: float) -> list[AnnouncementBatch]:
    """Claim up to `limit` due batches by compare-and-set: what was claimable when we looked
    is taken only if it still is (so of two workers only one gets a batch)."""
    at = now()
    candidates = await _candidates(at, limit)
    if not candidates:
        return []
    return await _take(candidates, f"{worker_id}:{uuid.uuid4().hex[:8]}", at, lease_seconds)


async def _candidates(at: datetime, limit: int) -> list[int]:
    found = (
        await AnnouncementBatch.filter(_claimable(at))
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    return [int(str(i)) for i in found]


async def _take(
    candidates: list[int], token: str, at: datetime, lease_seconds: float
) -> list[AnnouncementBatch]:
    hold: dict[str, Any] = {
        "status": BatchStatus.SENDING,
        "worker_id": token,
        "lease_until": at + timedelta(seconds=lease_seconds),
    }
    # Taken over from a worker that died after freezing it: its request may have reached
    # LINE, so if this batch is given up later, it is 配信状況不明, not failed.
    await AnnouncementBatch.filter(
        _claimable(at),
        id__in=candidates,
        status=BatchStatus.SENDING,
        frozen_at__isnull=False,
    ).update(outcome_unknown=True, **hold)
    await AnnouncementBatch.filter(_claimable(at), id__in=candidates).update(**hold)
    return await AnnouncementBatch.filter(worker_id=token, status=BatchStatus.SENDING).order_by(
        "id"
    )


async def release(worker_prefix: str) -> int:
    """Graceful shutdown: hand back the batches this worker holds. One it had frozen may have
    been in flight when it was stopped (outcome unknown; the retry key settles it)."""
    held = AnnouncementBatch.filter(worker_id__startswith=worker_prefix, status=BatchStatus.SENDING)
    frozen = await held.filter(frozen_at__isnull=False).update(
        status=BatchStatus.PENDING, lease_until=None, outcome_unknown=True
    )
    rest = await held.update(status=BatchStatus.PENDING, lease_until=None)
    return int(frozen) + int(rest)


async def next_due_in(default: float) -> float:
    """Seconds until a batch's retry is due or a scheduled announcement's time comes (for
    the loop's sleep). A due announcement still waiting for the quota does not count: the
    loop asks again after `default`."""
    at = now()
    batch = (
        await AnnouncementBatch.filter(status=BatchStatus.PENDING)
        .order_by("next_attempt_at")
        .first()
        .values_list("next_attempt_at", flat=True)
    )
    lease = (
        await AnnouncementBatch.filter(status=BatchStatus.SENDING, lease_until__isnull=False)
        .order_by("lease_until")
        .first()
        .values_list("lease_until", flat=True)
    )
    scheduled = (
        await Announcement.filter(status=AnnouncementStatus.SCHEDULED, send_at__gt=at)
        .order_by("send_at")
        .first()
        .values_list("send_at", flat=True)
    )
    found: tuple[Any, ...] = (batch, lease, scheduled)
    times = [t for t in found if isinstance(t, datetime)]
    if not times:
        return default
    return max(0.0, min(default, (min(times) - at).total_seconds()))


# ---- sending ----------------------------------------------------------------------------
# A round's batches are handled together: a few statements for all of them (not a few per
# batch: a personalised announcement is one batch per resident), the requests at once.


@dataclass(frozen=True)
class _Target:
    line_user_id: str
    name: str


def _ids(batches: list[AnnouncementBatch]) -> list[int]:
    return [b.id for b in batches]


def _held(batches: list[AnnouncementBatch]) -> Q:
    """Still ours: claimed by this round (its token) and not taken over since."""
    tokens = list({b.worker_id for b in batches})
    return Q(id__in=_ids(batches), worker_id__in=tokens, status=BatchStatus.SENDING)


async def deliver(batches: list[AnnouncementBatch], line: LineClient, settings: Settings) -> None:
    """Freeze (first attempts), send — all at once, outside any transaction — and record
    the outcomes of batches claimed together."""
    await _freeze([b for b in batches if b.frozen_at is None])
    batches = [b for b in batches if b.frozen_at is not None]  # the others were taken over
    if not batches:
        return
    targets = await _targets(batches)
    empty = [b for b in batches if not targets.get(b.id)]
    if empty:  # everyone was skipped: nothing to send, nothing attempted
        await _close(empty, BatchStatus.SENT, None, "", attempted=False)
    sending = [b for b in batches if targets.get(b.id)]
    found = await Announcement.filter(id__in={_announcement_id(b) for b in sending})
    by_id = {a.id: a for a in found}
    results = await asyncio.gather(
        *(
            _send(by_id[_announcement_id(b)], targets[b.id], b.retry_key, line, settings)
            for b in sending
        ),
        return_exceptions=True,
    )
    await _record(sending, results, settings)


async def _freeze(batches: list[AnnouncementBatch]) -> None:
    """Before the first attempt (committed before any call): skip recipients who can no
    longer be reached — unfollowed, opted out, erased (segments.reachable, the one rule) —
    and note each batch's size. Every later attempt sends to exactly the rest."""
    if not batches:
        return
    at = now()
    async with in_transaction():
        found = await AnnouncementBatch.filter(_held(batches), frozen_at__isnull=True).values_list(
            "id", flat=True
        )
        held = [int(str(i)) for i in found]
        if not held:
            return
        pending = Recipient.filter(batch_id__in=held, status=RecipientStatus.PENDING)
        await pending.exclude(resident_id__in=Subquery(segments.reachable().values("id"))).update(
            status=RecipientStatus.SKIPPED
        )
        rows = (
            await pending.group_by("batch_id").annotate(n=Count("id")).values_list("batch_id", "n")
        )
        sizes = {int(batch_id): int(n) for batch_id, n in rows}
        by_size: dict[int, list[int]] = {}
        for batch_id in held:
            by_size.setdefault(sizes.get(batch_id, 0), []).append(batch_id)
        for size, ids in by_size.items():
            await AnnouncementBatch.filter(_held(batches), id__in=ids).update(
                frozen_at=at, size=size
            )
    for batch in batches:
        if batch.id in held:
            batch.frozen_at = at
    lost = len(batches) - len(held)
    if lost:
        log.warning("%s announcement batches were taken over before they were frozen", lost)


async def _targets(batches: list[AnnouncementBatch]) -> dict[int, list[_Target]]:
    """Each batch's frozen list with the residents' current LINE ids, by resident id. A
    resident erased since the freeze is skipped now: their id is a pseudonym, never sent."""
    pending = Recipient.filter(batch_id__in=_ids(batches), status=RecipientStatus.PENDING)
    rows = await pending.order_by("resident_id").values_list("batch_id", "resident_id")
    found = await Resident.filter(
        id__in=Subquery(pending.values("resident_id")), erased_at__isnull=True
    ).values_list("id", "line_user_id", "display_name")
    residents = {int(i): _Target(str(u), str(n or "")) for i, u, n in found}
    if len(residents) < len(rows):
        await pending.exclude(
            resident_id__in=Subquery(Resident.filter(erased_at__isnull=True).values("id"))
        ).update(status=RecipientStatus.SKIPPED)
    targets: dict[int, list[_Target]] = {}
    for batch_id, resident_id in rows:
        target = residents.get(int(resident_id))
        if target is not None:
            targets.setdefault(int(batch_id), []).append(target)
    return targets


async def _send(
    a: Announcement,
    targets: list[_Target],
    retry_key: str,
    line: LineClient,
    settings: Settings,
) -> SendResult:
    if rules.personalised(a) and len(targets) == 1:
        [target] = targets
        messages = messages_for(a, name=target.name or None, settings=settings)
        return await line.push(target.line_user_id, messages, retry_key)
    messages = messages_for(a, name=None, settings=settings)
    return await line.multicast([t.line_user_id for t in targets], messages, retry_key)


async def _record(
    batches: list[AnnouncementBatch],
    results: list[SendResult | BaseException],
    settings: Settings,
) -> None:
    taken = []
    for batch, result in zip(batches, results, strict=True):
        if isinstance(result, BaseException):  # a bug: its lease runs out, taken over later
            log.error("announcement batch %s failed: %s", batch.id, type(result).__name__)
        elif result.outcome in (Outcome.SENT, Outcome.ALREADY_ACCEPTED):
            taken.append(batch)
        else:
            await _after_failure(batch, result, settings)
    if taken:
        await _close(taken, BatchStatus.SENT, RecipientStatus.DELIVERED, "")


async def _after_failure(batch: AnnouncementBatch, result: SendResult, settings: Settings) -> None:
    error = f"HTTP {result.status} {result.error}".strip()
    if result.outcome != Outcome.RETRY:  # LINE refused it: retrying will not help
        await _close([batch], BatchStatus.FAILED, RecipientStatus.FAILED, error)
        return
    at = now()
    failing_since = batch.failing_since or at
    unknown = batch.outcome_unknown or result.ambiguous
    give_up_at = failing_since + timedelta(hours=settings.send_give_up_hours)
    if unknown:
        # Only while LINE still remembers the key does a retry answer 409 if it was taken.
        give_up_at = min(give_up_at, (batch.frozen_at or failing_since) + RETRY_KEY_LIFE)
    later: dict[str, Any] = {"failing_since": failing_since, "outcome_unknown": unknown}
    if at >= give_up_at:
        if unknown:  # nobody knows whether they got it: the recipients stay pending
            await _close([batch], BatchStatus.UNKNOWN, None, error, **later)
        else:
            await _close([batch], BatchStatus.FAILED, RecipientStatus.FAILED, error, **later)
        return
    changed = await AnnouncementBatch.filter(_held([batch])).update(
        status=BatchStatus.PENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=at + timedelta(seconds=backoff(batch.attempts + 1, settings)),
        lease_until=None,
        last_error=error[:2000],
        **later,
    )
    if not changed:
        log.warning("announcement batch %s was taken over during its attempt", batch.id)


async def _close(
    batches: list[AnnouncementBatch],
    status: BatchStatus,
    recipients: RecipientStatus | None,
    error: str,
    *,
    attempted: bool = True,
    **update: Any,
) -> None:
    """Finish batches and their pending recipients together (those we still hold)."""
    at = now()
    if attempted:
        update["attempts"] = F("attempts") + 1
    async with in_transaction():
        changed = await AnnouncementBatch.filter(_held(batches)).update(
            status=status,
            lease_until=None,
            sent_at=at if status == BatchStatus.SENT else None,
            last_error=error[:2000] or None,
            **update,
        )
        if changed and recipients is not None:
            # Those just closed: ours, in this status (nobody else changes them now).
            closed = AnnouncementBatch.filter(
                id__in=_ids(batches), worker_id__in=list({b.worker_id for b in batches})
            ).filter(status=status)
            await Recipient.filter(
                batch_id__in=Subquery(closed.values("id")), status=RecipientStatus.PENDING
            ).update(status=recipients)
    if changed < len(batches):
        log.warning(
            "%s announcement batches were taken over during their attempt",
            len(batches) - changed,
        )
    if status != BatchStatus.SENT:
        for batch in batches:
            log.warning(
                "announcement batch %s %s after %s attempts",
                batch.id,
                status.value,
                batch.attempts + int(attempted),
            )
