"""Claiming work rows (inbox events, outbox messages) for one worker: each user's earliest
open row only, taken by a compare-and-set update with a lease. So a user's rows are handled
in order, no two workers ever hold the same row, and a crashed worker's rows come back when
its lease runs out."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.functions import Min
from tortoise.models import Model

from shima.timeutil import now

M = TypeVar("M", bound=Model)


def lease_is_free(at: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lte=at)


def first_open_per_user(model: type[M], open_statuses: Sequence[str]) -> Subquery:
    """Ids of each user's earliest open row (a subquery)."""
    return Subquery(
        model.filter(status__in=open_statuses)
        .annotate(first_id=Min("id"))
        .group_by("line_user_id")
        .values("first_id")
    )


async def claim_first_per_user(
    model: type[M],
    *,
    open_statuses: Sequence[str],
    held_status: str,
    worker_id: str,
    limit: int,
    lease_seconds: float,
    due: Q | None = None,
    **also_set: Any,
) -> list[M]:
    """Claim up to `limit` rows, one per user: that user's lowest-id open row, if its lease
    is free (and it is `due`). The claimed rows share a claim token in `worker_id`."""
    at = now()
    # Each user's first open row, whether or not it is due: a later row never overtakes an
    # earlier one that is waiting for its retry.
    firsts = first_open_per_user(model, open_statuses)
    claimable = Q(status__in=open_statuses) & lease_is_free(at)
    if due is not None:
        claimable &= due
    candidates = (
        await model.filter(claimable, id__in=firsts)
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not candidates:
        return []
    token = f"{worker_id}:{uuid.uuid4().hex[:8]}"
    taken = await model.filter(claimable, id__in=candidates).update(
        status=held_status,
        worker_id=token,
        lease_until=at + timedelta(seconds=lease_seconds),
        **also_set,
    )
    if not taken:
        return []
    return await model.filter(worker_id=token, status=held_status).order_by("id")
