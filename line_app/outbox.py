"""Outbox: queue messages inside the flow's transaction; deliver them after commit.

Delivery rules (one place):
- reply while the event's reply token is fresh (replies cost no message quota);
- otherwise push, always with the row's own `X-Line-Retry-Key` (409 = delivered before);
- 429/5xx/timeouts/connection errors: retry with capped exponential backoff for
  `send_give_up_hours`; then the row becomes a dead letter that staff see (and can resend or
  discard) in the admin;
- a reply token is single use: `reply_attempted_at` is committed before the call, so after a
  crash or a timeout mid-call we know the outcome is unknown. The reply is retried as a
  reply at once; LINE answers "invalid reply token" only if our earlier call consumed it —
  that counts as delivered. If the token expires first, the row is 配信状況不明 (UNKNOWN):
  never pushed blindly, shown to staff with a one-click resend;
- a push that got no answer is retried with its retry key only within the key's life;
  after that it is UNKNOWN too.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q

from line_app import claims
from line_app.client import LineClient, Outcome, SendResult
from models.outbox import OutboxMessage, OutboxStatus
from models.residents import PSEUDONYM_PREFIX, is_pseudonym
from shima.settings import Settings
from shima.timeutil import now

log = logging.getLogger("shima.outbox")
MAX_MESSAGES_PER_REQUEST = 5  # LINE's limit for reply and push
# Rows still to be sent (the health check counts them too).
OPEN = (OutboxStatus.PENDING, OutboxStatus.SENDING)
# Rows staff must look at: given up, or LINE may or may not have shown them.
FOR_STAFF = (OutboxStatus.DEAD, OutboxStatus.UNKNOWN)
MIN_REPLY_TIMEOUT = 0.5  # seconds
# LINE remembers a push's retry key for 24 hours from the first request; stop an hour
# earlier, so a retry of a push that may have been taken always meets its 409.
RETRY_KEY_LIFE = timedelta(hours=23)


async def enqueue(
    line_user_id: str,
    messages: Sequence[dict[str, Any]],
    *,
    reply_token: str | None = None,
    reply_deadline: datetime | None = None,
    inbox_event_id: int | None = None,
    kind: str = "reply",
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> list[OutboxMessage]:
    """Queue messages (call inside the flow's transaction). More than five become several
    rows; only the first may use the reply token. With `dedupe_key`, a second enqueue of the
    same key adds nothing (reminders, staff notices)."""
    if not messages:
        return []
    if dedupe_key and await OutboxMessage.exists(dedupe_key=dedupe_key):
        return []
    rows = build_rows(
        line_user_id,
        messages,
        reply_token=reply_token,
        reply_deadline=reply_deadline,
        inbox_event_id=inbox_event_id,
        kind=kind,
        dedupe_key=dedupe_key,
        not_before=not_before,
    )
    for row in rows:
        await row.save()
    return rows


def build_rows(
    line_user_id: str,
    messages: Sequence[dict[str, Any]],
    *,
    reply_token: str | None = None,
    reply_deadline: datetime | None = None,
    inbox_event_id: int | None = None,
    kind: str = "reply",
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> list[OutboxMessage]:
    """Unsaved outbox rows for `messages` (five to a row; the first row may reply). None for
    an erased resident's pseudonym: it is no LINE id, and whatever still wants to reach them
    (a job's reminder, a follow-up) must not (the one place every queued message passes)."""
    if is_pseudonym(line_user_id):
        log.info("%s messages for an erased resident not queued", len(messages))
        return []
    at = not_before or now()
    rows = []
    for index in range(0, len(messages), MAX_MESSAGES_PER_REQUEST):
        first = index == 0
        rows.append(
            OutboxMessage(
                line_user_id=line_user_id,
                messages=list(messages[index : index + MAX_MESSAGES_PER_REQUEST]),
                reply_token=reply_token if first else None,
                reply_deadline=reply_deadline if first else None,
                retry_key=str(uuid.uuid4()),
                dedupe_key=dedupe_key if first else None,
                kind=kind,
                inbox_event_id=inbox_event_id,
                next_attempt_at=at,
                status=OutboxStatus.PENDING,
                attempts=0,
            )
        )
    return rows


async def save_all(rows: list[OutboxMessage]) -> None:
    """Insert many rows in one statement (a worker batch's replies)."""
    if rows:
        await OutboxMessage.bulk_create(rows)


async def claim(worker_id: str, limit: int, lease_seconds: float) -> list[OutboxMessage]:
    """Claim each user's earliest undelivered row that is due, so a user's messages arrive
    in order and no two workers send the same row; see line_app.claims."""
    return await claims.claim_first_per_user(
        OutboxMessage,
        open_statuses=OPEN,
        held_status=OutboxStatus.SENDING,
        worker_id=worker_id,
        limit=limit,
        lease_seconds=lease_seconds,
        due=Q(next_attempt_at__lte=now()),
    )


async def next_due_in(default: float) -> float:
    """Seconds until the earliest scheduled retry (for the sender's sleep)."""
    # Only each user's first row counts: the rows behind it wait for it, due or not.
    row = (
        await OutboxMessage.filter(
            status=OutboxStatus.PENDING, id__in=claims.first_open_per_user(OutboxMessage, OPEN)
        )
        .order_by("next_attempt_at")
        .first()
        .values("next_attempt_at")
    )
    if not row:
        return default
    return max(0.0, min(default, (row["next_attempt_at"] - now()).total_seconds()))


async def deliver_batch(rows: list[OutboxMessage], line: LineClient, settings: Settings) -> None:
    """Deliver claimed rows (one per user, so they may go concurrently)."""
    at = now()
    # An earlier reply call got no answer and the token has expired since: LINE may have
    # shown it. Pushing now could send it twice, so staff decide (配信状況不明).
    lost = [r for r in rows if r.reply_attempted_at is not None and not _reply_is_fresh(r, at)]
    for row in lost:
        await _close(
            row, OutboxStatus.UNKNOWN, "返信の結果が不明なまま返信トークンの期限が切れました"
        )
    rows = [r for r in rows if r not in lost]
    replying = [r for r in rows if _reply_is_fresh(r, at)]
    ambiguous = {r.id for r in replying if r.reply_attempted_at is not None}
    if replying:
        # Committed before any call: a crash from here on leaves the outcome "unknown".
        await OutboxMessage.filter(id__in=[r.id for r in replying]).update(reply_attempted_at=at)
    results = await asyncio.gather(
        *(_deliver(r, r.id in ambiguous, r in replying, line, settings) for r in rows)
    )
    sent: dict[str, list[int]] = {"reply": [], "push": []}
    for row, (via, result) in zip(rows, results, strict=True):
        if result.outcome in (Outcome.SENT, Outcome.ALREADY_ACCEPTED):
            sent[via].append(row.id)
        else:
            await _after_failure(row, via, result, row.id in ambiguous, settings)
    for via, ids in sent.items():
        if ids:
            await OutboxMessage.filter(id__in=ids, status=OutboxStatus.SENDING).update(
                status=OutboxStatus.SENT,
                sent_via=via,
                sent_at=now(),
                lease_until=None,
                attempts=F("attempts") + 1,
                last_error=None,
            )
    delivered = {i for ids in sent.values() for i in ids}
    if delivered:
        from line_app import chat  # the chat log of what the account sent (no import cycle)

        try:
            await chat.record_delivered([r for r in rows if r.id in delivered])
        except Exception:  # the chat log must never hold delivery back (ids only logged)
            log.exception("chat log of %s delivered rows failed", len(delivered))


def _reply_is_fresh(row: OutboxMessage, at: datetime) -> bool:
    return bool(row.reply_token and row.reply_deadline and at < row.reply_deadline)


def reply_timeout(row: OutboxMessage, at: datetime, settings: Settings) -> float:
    """A reply call ends by half the token's remaining life, so a retry as a reply (which
    tells us whether the first one arrived) still fits before the token expires."""
    assert row.reply_deadline is not None
    left = (row.reply_deadline - at).total_seconds()
    return max(MIN_REPLY_TIMEOUT, min(settings.line_timeout_seconds, left / 2))


async def _deliver(
    row: OutboxMessage, ambiguous: bool, reply: bool, line: LineClient, settings: Settings
) -> tuple[str, SendResult]:
    if reply and row.reply_token:
        timeout = reply_timeout(row, now(), settings)
        result = await line.reply(row.reply_token, row.messages, timeout=timeout)
        if result.outcome == Outcome.INVALID_REPLY_TOKEN and ambiguous:
            # Only we hold this token and it is still within its life: our earlier call
            # (cut off by a crash or a timeout) must have used it.
            return "reply", SendResult(Outcome.ALREADY_ACCEPTED, result.status)
        if result.outcome != Outcome.INVALID_REPLY_TOKEN:
            return "reply", result
    return "push", await line.push(row.line_user_id, row.messages, row.retry_key)


async def _after_failure(
    row: OutboxMessage, via: str, result: SendResult, ambiguous: bool, settings: Settings
) -> None:
    at = now()
    failing_since = row.failing_since or at
    error = f"{via}: HTTP {result.status} {result.error}".strip()
    update: dict[str, Any] = {
        "attempts": row.attempts + 1,
        "last_error": error[:2000],
        "lease_until": None,
        "failing_since": failing_since,
    }
    if via == "reply" and result.ambiguous:
        if not _reply_is_fresh(row, at):
            await _close(row, OutboxStatus.UNKNOWN, error, **update)
            return
        # Retry as a reply at once: LINE then answers "Invalid reply token" if this call
        # was taken, which tells us it was delivered (see _deliver).
        update.update(status=OutboxStatus.PENDING, next_attempt_at=at)
        await OutboxMessage.filter(id=row.id, status=OutboxStatus.SENDING).update(**update)
        return
    if via == "reply" and not ambiguous:
        update["reply_attempted_at"] = None  # LINE answered: the token was not used
    if via == "push":
        # The reply token is gone (LINE said so, or it expired unused): later attempts push.
        update.update(reply_token=None, reply_attempted_at=None)
        if result.ambiguous:
            update["push_outcome_unknown"] = True
    unknown = row.push_outcome_unknown or update.get("push_outcome_unknown", False)
    give_up_at = failing_since + timedelta(hours=settings.send_give_up_hours)
    if unknown:
        give_up_at = min(give_up_at, failing_since + RETRY_KEY_LIFE)
    if result.outcome == Outcome.REJECTED:
        await _close(row, OutboxStatus.DEAD, error, **update)
    elif at >= give_up_at:
        await _close(row, OutboxStatus.UNKNOWN if unknown else OutboxStatus.DEAD, error, **update)
    else:
        update["status"] = OutboxStatus.PENDING
        update["next_attempt_at"] = at + timedelta(seconds=backoff(row.attempts + 1, settings))
        await OutboxMessage.filter(id=row.id, status=OutboxStatus.SENDING).update(**update)


async def _close(row: OutboxMessage, status: OutboxStatus, error: str, **update: Any) -> None:
    """Stop trying: staff see the row on the undelivered page (ids only in the log)."""
    update.update(status=status, lease_until=None, last_error=error[:2000])
    await OutboxMessage.filter(id=row.id, status=OutboxStatus.SENDING).update(**update)
    log.warning("outbox %s %s after %s attempts", row.id, status.value, row.attempts + 1)


def backoff(attempts: int, settings: Settings) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, ±20 %."""
    delay = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** (attempts - 1))
    return delay * random.uniform(0.8, 1.2)


async def release(worker_prefix: str) -> int:
    """Graceful shutdown: hand back rows this worker holds (not yet sent)."""
    return await OutboxMessage.filter(
        worker_id__startswith=worker_prefix, status=OutboxStatus.SENDING
    ).update(status=OutboxStatus.PENDING, lease_until=None)


async def requeue_dead(message_id: int) -> bool:
    """Staff: send an undelivered (or 配信状況不明) message again, by push (its reply token is
    long gone). A new retry key: the staff member chose to send it, even if LINE may have
    taken an earlier push (whose key would only answer 409). Never a row whose address is an
    erased resident's pseudonym."""
    updated = (
        await OutboxMessage.filter(id=message_id, status__in=FOR_STAFF)
        .exclude(line_user_id__startswith=PSEUDONYM_PREFIX)
        .update(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now(),
            reply_token=None,
            reply_attempted_at=None,
            push_outcome_unknown=False,
            failing_since=None,
            retry_key=str(uuid.uuid4()),
            lease_until=None,
            last_error=None,
        )
    )
    return updated == 1


async def discard_dead(message_id: int) -> bool:
    """Staff: give up on an undelivered (or 配信状況不明) message for good."""
    updated = await OutboxMessage.filter(id=message_id, status__in=FOR_STAFF).update(
        status=OutboxStatus.CANCELLED
    )
    return updated == 1
