"""Residents' data rights (個人情報保護法): everything the system holds about one resident,
exported as a ZIP of CSV/JSON files with Japanese column names, and erased by anonymising
personal fields while the rows that statistics count stay (a booking stays a booking, an
attendance an attendance, so the plan's goals do not move).

Each area gives its part in the registry (shima.areas: `Area.export`, `Area.erase`); the
platform's own tables (residents, webhook events, outbox, conversation state, audit, data
requests) are `platform.PART`. The admin reaches them through `app.state.personal_data`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tortoise.models import Model

from models.residents import Resident


@dataclass
class ExportTable:
    """One file of the export: the rows of `model` about the resident (Japanese keys)."""

    model: type[Model]  # the table it comes from (tests compare row counts per table)
    name: str  # the file's name without extension, Japanese (e.g. "相談予約")
    rows: list[dict[str, Any]]
    # Further files that belong to these rows (photos): name in the ZIP → bytes.
    files: dict[str, bytes] = field(default_factory=dict)


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


ExportHook = Callable[[Resident], Awaitable[list[ExportTable]]]
EraseHook = Callable[[Erasure], Awaitable[None]]


@dataclass(frozen=True)
class Part:
    key: str
    export: ExportHook
    erase: EraseHook
