"""Residents' LINE display names: looked up without holding anyone's answer back.

A follow greets the resident by name when LINE tells us the name quickly. The look-ups of a
batch run concurrently and the batch waits for them at most FOLLOW_WAIT seconds: a hung
profile API delays a batch by that much, never by the client's full timeout. Names LINE did
not give in time (or residents who wrote before they ever followed) are filled in later by
`fill_missing`, which the worker runs with its scheduled jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from line_app.client import LineClient
from models.inbox import InboxEvent
from models.residents import Resident, is_pseudonym
from shima.timeutil import now

log = logging.getLogger(__name__)

FOLLOW_WAIT = 1.0  # seconds a batch waits, at most, for its follow events' names
FILL_TIMEOUT = 5.0  # seconds one background look-up may take
FILL_BATCH = 20  # residents looked up per round
RECHECK_AFTER = timedelta(hours=6)  # a resident LINE gave no name for is asked again after


async def _name(line: LineClient, user_id: str, timeout: float) -> str | None:
    if is_pseudonym(user_id):
        return None  # an erased resident: LINE is never asked about them again
    try:
        return await asyncio.wait_for(line.display_name(user_id), timeout)
    except TimeoutError:
        return None


async def names_for_batch(events: Sequence[InboxEvent], line: LineClient) -> list[str | None]:
    """The display name for each follow event (None for other events and for names LINE
    did not give within FOLLOW_WAIT), looked up all at once."""

    async def one(event: InboxEvent) -> str | None:
        if event.event_type != "follow" or not event.line_user_id:
            return None
        return await _name(line, event.line_user_id, FOLLOW_WAIT)

    return list(await asyncio.gather(*(one(e) for e in events)))


async def fill_missing(line: LineClient) -> int:
    """Look up names of following residents who have none (a few per round, concurrently;
    never an erased resident's); returns how many names were filled. Each resident is asked
    again only after RECHECK_AFTER, so one LINE cannot answer for keeps the others moving."""
    current = now()
    due = (
        await Resident.filter(is_following=True, display_name="", erased_at__isnull=True)
        .filter(name_checked_at__isnull=True)
        .order_by("id")
        .limit(FILL_BATCH)
    )
    if len(due) < FILL_BATCH:
        due += (
            await Resident.filter(
                is_following=True,
                display_name="",
                erased_at__isnull=True,
                name_checked_at__lt=current - RECHECK_AFTER,
            )
            .order_by("name_checked_at")
            .limit(FILL_BATCH - len(due))
        )
    if not due:
        return 0
    names = await asyncio.gather(*(_name(line, r.line_user_id, FILL_TIMEOUT) for r in due))
    filled = 0
    for resident, name in zip(due, names, strict=True):
        values: dict[str, object] = {"name_checked_at": current}
        if name:
            values["display_name"] = name[:200]
            filled += 1
        # Only while still nameless: a follow may have set the name meanwhile.
        await Resident.filter(id=resident.id, display_name="").update(**values)
    if filled < len(due):
        log.info("display names: %s of %s filled", filled, len(due))
    return filled
