"""CSV that opens cleanly in Excel — the one set of rules for every export (the admin's
streamed CSV files, a resident's data export):

UTF-8 with a BOM (Excel otherwise guesses Shift_JIS and garbles Japanese; cp932 cannot hold
𠮷 or emoji), RFC 4180 quoting with CRLF line ends, and text cells that Excel would run as a
formula (leading = + - @ TAB CR) prefixed with a single quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """The cell's text, with a leading formula character defused (`=1+1` → `'=1+1`).

    Only text is neutralised: an int such as -3 is a number in Excel, not a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class Writer:
    """csv.writer over a reusable buffer: RFC 4180 quoting, CRLF line ends."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(
            self._buffer, dialect="excel", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n"
        )

    def rows(self, rows: Iterable[Sequence[object]]) -> str:
        self._writer.writerows([neutralise(cell) for cell in row] for row in rows)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A whole (small) CSV document as text, BOM included."""
    writer = Writer()
    return BOM + writer.rows([header]) + writer.rows(rows)
