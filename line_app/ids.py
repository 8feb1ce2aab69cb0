"""Ids carried in postback data: parsed in one place, bounded to what the database holds.

Postback data comes back from the resident's phone, so a button may be old, edited or
forged. An id that is not plain ASCII digits, or too large for an integer column (a 30-digit
id overflows PostgreSQL's `integer`), is no id at all: the flow answers it as a stale button.
"""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1  # PostgreSQL `integer` (tortoise IntField primary keys)
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: int() would also take "１２", " 1", "1_0"


def parse_id(value: object) -> int | None:
    """The positive id in `value`, or None when it cannot name a row."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None
