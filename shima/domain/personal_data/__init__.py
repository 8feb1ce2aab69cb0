"""Residents' data rights (個人情報保護法): everything the system holds about one resident,
exported as a ZIP of CSV/JSON files with Japanese column names, and erased by anonymising
personal fields while the rows that statistics count stay (a booking stays a booking, an
attendance an attendance, so the plan's goals do not move).

Each area gives its part in the registry (shima.areas: `Area.export`, `Area.erase`,
`Area.erase_blockers`); the platform's own tables (residents, webhook events, outbox,
conversation state, audit, data requests) are `platform.PART`. The admin reaches them
through `app.state.personal_data`.

A part's `blockers(resident_id)` says what must wait (upcoming bookings, applications staff
still handle); the confirmation page shows them (`blockers` below). `erase` below asks every
part, raises ErasureBlocked with every reason before changing anything, then runs every
part's `erase(e)` in one transaction. Files on disk (chat pictures) are only listed by the
parts and deleted once the database has committed.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.residents import PSEUDONYM_PREFIX, Resident, is_pseudonym
from shima.domain.personal_data import archive
from shima.timeutil import now

log = logging.getLogger("shima.personal_data")


@dataclass
class ExportTable:
    """One file of the export: the rows of `model` about the resident (Japanese keys)."""

    model: type[Model]  # the table it comes from (tests compare row counts per table)
    name: str  # the file's name without extension, Japanese (e.g. "相談予約")
    rows: list[dict[str, Any]]
    # Further files that belong to these rows (photos): name in the ZIP → bytes.
    files: dict[str, bytes] = field(default_factory=dict)
    # The header, so a table with no rows still says what it would hold.
    columns: tuple[str, ...] = ()
    about: str = ""  # one line for はじめにお読みください.txt


class ErasureBlocked(Exception):
    """Erasure must wait: the resident still has upcoming bookings or applications that staff
    cancel first (so seats, booths and the resident are handled by the usual rules)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Erasure:
    """What an area's erase hook is given: the resident (still with their LINE id) and the
    pseudonym that replaces it."""

    resident: Resident
    line_user_id: str  # the real one, for tables that store LINE ids as text
    pseudonym: str
    # Files the parts want gone (chat pictures): deleted after the transaction commits, so
    # a rolled-back erasure never loses a file.
    files: list[Path] = field(default_factory=list)


ExportHook = Callable[[Resident], Awaitable[list[ExportTable]]]
EraseHook = Callable[[Erasure], Awaitable[None]]
# What must be cancelled before the resident can be erased (Japanese, one line each).
BlockersHook = Callable[[int], Awaitable[list[str]]]


@dataclass(frozen=True)
class Part:
    key: str
    export: ExportHook
    erase: EraseHook
    blockers: BlockersHook | None = None  # None: nothing of the part ever waits


def new_pseudonym() -> str:
    return PSEUDONYM_PREFIX + secrets.token_hex(8)


def _folded(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def name_confirms(resident: Resident, typed: str) -> bool:
    """Staff typed the resident's label (str(resident): the LINE name, or 「利用者 #12」) to
    confirm the erasure; width and spaces do not matter."""
    wanted = _folded(str(resident))
    return bool(wanted) and _folded(typed) == wanted


async def export_zip(
    resident: Resident, parts: Sequence[Part], *, labels: Mapping[str, str] | None = None
) -> bytes:
    """The ZIP of everything the parts hold about the resident: per table a CSV (UTF-8 with
    BOM, for Excel) and a JSON file, photos in a folder, and はじめにお読みください.txt.
    `labels`: the admin's audit vocabulary (action and target type → Japanese) for the
    audit table's 操作 and 対象 columns."""
    tables = [table for part in parts for table in await part.export(resident)]
    return archive.build(str(resident), tables, made_at=now(), labels=labels or {})


async def blockers(resident: Resident, parts: Sequence[Part]) -> list[str]:
    """What staff must cancel first (Japanese, one line each; empty: it can be erased)."""
    reasons: list[str] = []
    for part in parts:
        if part.blockers is not None:
            reasons.extend(await part.blockers(resident.id))
    return reasons


async def erase(
    resident: Resident, parts: Sequence[Part], *, remove_files: bool = True
) -> list[Path]:
    """Anonymise everything the parts hold about the resident, in one transaction (inside
    the caller's, if any). ErasureBlocked (every reason) when something must wait: nothing
    changed. The `resident` object passed in is left as it was — it still holds the real
    LINE id, for the notice the caller queues next (line_app.notices.privacy); the row holds
    the pseudonym. Erasing an erased resident again keeps their pseudonym. Returns the
    chat's picture files of the resident; they are deleted once this transaction ends — a
    caller erasing inside a transaction of its own passes `remove_files=False` and calls
    `delete_files(paths)` after its commit, so a rollback never leaves rows without files."""
    async with in_transaction():
        row = await Resident.filter(id=resident.id).select_for_update().first()
        if row is None:
            raise ErasureBlocked(["この利用者は見つかりません"])
        real = row.line_user_id
        pseudonym = real if is_pseudonym(real) else new_pseudonym()
        erasure = Erasure(row, real, pseudonym)
        reasons = await blockers(row, parts)
        if reasons:
            raise ErasureBlocked(reasons)
        for part in parts:
            await part.erase(erasure)
    if remove_files:
        delete_files(erasure.files)
    log.info("resident %s erased", resident.id)
    return list(erasure.files)


def delete_files(paths: Sequence[Path]) -> int:
    """Delete an erased resident's files (the paths `erase` returned); how many went."""
    removed = 0
    for path in dict.fromkeys(paths):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:  # the file stays; the database no longer points to it
            log.warning("a file of an erased resident could not be removed: %s", type(exc).__name__)
    return removed
