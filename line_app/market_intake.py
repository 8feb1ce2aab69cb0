"""Photos of artists' work (ハンドメイドマーケット), fetched from LINE before the event is handled.

The worker calls `select` for each batch it claimed, then `fetch` next to the chat's picture
fetch and the profile look-ups — before the batch's transaction, never inside one. An image
message counts as a market photo when its sender is at the application's photo step (their
conversation state is flow "market", step `PHOTO_STEP`, not expired); those message ids are
the market's alone: the chat neither fetches nor keeps them (one download per photo).

Each photo is downloaded from LINE's content API (a couple of quick retries for 5xx and a
timeout), type-checked and re-encoded in a thread (shima.domain.market_photos.process) and
stored as a MarketPhoto row with no application: the flow attaches it when it handles the
event (line_app.flows.market_photos.on_image). A permanent failure stores a row with `error`
("too_large", "not_image", "gone" for 404/410), so the flow can answer at once; a transient
one (5xx, timeout, no connection) stores nothing, so the event's retry fetches again.

Memory: at most DOWNLOADS pictures are held at once (each ≤ 10 MB, typically 3), and at most
`process_slots()` are decoded at once (JPEGs at a reduced scale), so 150 photos of 3 MB sent
together never sit in memory together.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import sys
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from linebot.v3.messaging.exceptions import ApiException
from tortoise.exceptions import IntegrityError

from line_app import chat
from line_app.client import LineClient
from line_app.flows.market_photos import FLOW, PHOTO_STEP
from models.conversation import ConversationState
from models.inbox import InboxEvent
from models.market import MarketPhoto
from models.residents import Resident
from shima.domain import market_photos
from shima.settings import Settings
from shima.timeutil import now

log = logging.getLogger("shima.market_intake")

DOWNLOADS = 8  # pictures downloaded (and held) at once
QUICK_TRIES = 3  # one download and up to two quick retries (5xx, timeout, connection)
QUICK_PAUSE = 0.2  # seconds before a quick retry (doubled each time)
GONE = (404, 410)  # LINE no longer has the content: send it again


def process_slots() -> int:
    """Photos decoded at once (threads): CPU-bound, so at most half the cores — the other
    half keeps acknowledging webhooks and answering everyone else."""
    return max(1, min(2, (os.cpu_count() or 1) // 2))


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def keep_memory_returnable() -> None:
    """Let the memory of decoded photos go back to the system once they are stored.

    glibc raises its mmap threshold to the size of any mmapped block freed, so after the
    first photo Pillow's pixel blocks (up to 16 MB) come from the heap, which rarely
    shrinks: a burst of photos would leave the process hundreds of MB larger for good. A
    fixed 1 MiB threshold keeps large blocks mmapped and returned when freed. Linux/glibc
    only; elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):  # not glibc (e.g. musl): its own policy stays
        pass


@dataclass(frozen=True)
class Wanted:
    """An image message that is a market photo."""

    message_id: str
    resident_id: int
    image_set_id: str = ""
    image_set_index: int = 0
    stored: bool = False  # a row exists already (a retried event): nothing to fetch


@dataclass(frozen=True)
class Selection:
    photos: list[Wanted]

    @property
    def message_ids(self) -> set[str]:
        """Image messages the market takes (the chat leaves them alone)."""
        return {w.message_id for w in self.photos}

    @property
    def to_fetch(self) -> set[str]:
        """Those not stored yet (their events wait for the download)."""
        return {w.message_id for w in self.photos if not w.stored}


def _image_set(message: dict[str, object]) -> tuple[str, int]:
    image_set = message.get("imageSet")
    if not isinstance(image_set, dict):
        return "", 0
    index = image_set.get("index", 0)
    return (
        str(image_set.get("id", ""))[:64],
        index if isinstance(index, int) and not isinstance(index, bool) else 0,
    )


async def select(events: Sequence[InboxEvent]) -> Selection:
    """The batch's image messages whose senders are at the market's photo step."""
    images: dict[str, list[tuple[str, dict[str, object]]]] = {}
    for event in events:
        message = (event.payload or {}).get("message") or {}
        if event.event_type != "message" or not isinstance(message, dict):
            continue
        if message.get("type") != "image":
            continue
        message_id = chat.content_id(message)
        if message_id:
            images.setdefault(event.line_user_id, []).append((message_id, message))
    if not images:
        return Selection([])
    at_step = {
        str(user)
        for user in await ConversationState.filter(
            line_user_id__in=list(images), flow=FLOW, step=PHOTO_STEP, expires_at__gt=now()
        ).values_list("line_user_id", flat=True)
    }
    if not at_step:
        return Selection([])
    residents = dict(
        await Resident.filter(line_user_id__in=list(at_step)).values_list("line_user_id", "id")
    )
    ids = [m for user in at_step for m, _ in images[user]]
    stored = set(
        await MarketPhoto.filter(line_message_id__in=ids).values_list("line_message_id", flat=True)
    )
    photos = []
    for user in at_step:
        if user not in residents:
            continue
        for message_id, message in images[user]:
            set_id, index = _image_set(message)
            photos.append(
                Wanted(message_id, int(residents[user]), set_id, index, message_id in stored)
            )
    return Selection(photos)


class _Slots:
    """The semaphores of one event loop (tests run many loops; a worker runs in one)."""

    def __init__(self) -> None:
        self.downloads = asyncio.Semaphore(DOWNLOADS)
        self.processing = asyncio.Semaphore(process_slots())


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Slots] = weakref.WeakKeyDictionary()


def _slots_here() -> _Slots:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = _Slots()
    return slots


async def fetch(selection: Selection, line: LineClient, settings: Settings) -> int:
    """Download, process and store the selected photos not stored yet; returns how many
    rows were stored (photos and permanent failures)."""
    due = [w for w in selection.photos if not w.stored]
    if not due:
        return 0
    results = await asyncio.gather(*(_take(w, line, settings) for w in due))
    return sum(results)


class _Transient(Exception):
    pass


async def _download(line: LineClient, message_id: str, timeout: float) -> bytes:
    """The content, or `_Transient`; ApiException 404/410 passes through."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    pause = QUICK_PAUSE
    for attempt in range(1, QUICK_TRIES + 1):
        try:
            data = await asyncio.wait_for(
                line.blob.get_message_content(message_id, _request_timeout=timeout), timeout
            )
            return bytes(data)
        except ApiException as exc:
            if exc.status in GONE:
                raise
            why = f"status {exc.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            why = type(exc).__name__
        # A timeout is retried only while the whole stays within two timeouts: the batch
        # (every user's answer) waits for this download.
        if attempt == QUICK_TRIES or loop.time() - started + pause >= 2 * timeout:
            log.warning("market photo %s not fetched (%s); retried later", message_id, why)
            raise _Transient(why)
        await asyncio.sleep(pause)
        pause *= 2
    raise _Transient("unreachable")  # pragma: no cover


async def _take(wanted: Wanted, line: LineClient, settings: Settings) -> int:
    slots = _slots_here()
    error = ""
    processed: market_photos.Processed | None = None
    async with slots.downloads:
        try:
            raw = await _download(line, wanted.message_id, settings.line_timeout_seconds)
        except _Transient:
            return 0
        except ApiException:
            error = "gone"
        else:
            try:
                async with slots.processing:
                    processed = await asyncio.to_thread(market_photos.process, raw)
            except market_photos.PhotoRejected as exc:
                error = exc.reason
            except Exception:  # a crash while decoding: treated as transient (retried)
                log.exception("market photo %s could not be processed", wanted.message_id)
                return 0
            finally:
                del raw
    if error:
        log.info("market photo %s refused: %s", wanted.message_id, error)
    return await _store(wanted, processed, error)


async def _store(wanted: Wanted, processed: market_photos.Processed | None, error: str) -> int:
    values: dict[str, Any] = {"error": error}
    if processed is not None:
        values.update(
            data=processed.data,
            thumb=processed.thumb,
            width=processed.width,
            height=processed.height,
            size=len(processed.data),
        )
    try:
        await MarketPhoto.create(
            line_message_id=wanted.message_id,
            resident_id=wanted.resident_id,
            image_set_id=wanted.image_set_id,
            image_set_index=wanted.image_set_index,
            **values,
        )
    except IntegrityError:  # stored meanwhile (another worker took the event over)
        return 0
    return 1
