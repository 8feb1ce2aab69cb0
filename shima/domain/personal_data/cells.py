"""How the export writes values: as people read them (JST times, はい／いいえ, labels instead
of codes), and rows keyed by each table's Japanese column names."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

Cell = str | int | None


def day(value: date | None) -> str:
    return f"{value:%Y/%m/%d}" if value else ""


def yes_no(value: bool | None) -> str:
    return {True: "はい", False: "いいえ", None: ""}[value]


def label(kind: type[StrEnum], value: str, words: Callable[[Any], str] | None = None) -> str:
    """An enum value's Japanese label (its `label`, or `words(member)`); unknown values as
    stored."""
    try:
        member = kind(value)
    except ValueError:
        return str(value)
    return words(member) if words else str(getattr(member, "label", value))


def as_json(value: Any) -> str:
    """Stored JSON as text for one cell (Japanese kept readable)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value not in (None, "") else ""


def row(columns: Sequence[str], values: Sequence[Cell]) -> dict[str, Cell]:
    """One row: the table's columns with their values (the counts must agree)."""
    return dict(zip(columns, values, strict=True))
