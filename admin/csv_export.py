"""CSV files that open cleanly in Excel, streamed.

UTF-8 with a BOM (Excel otherwise guesses Shift_JIS and garbles Japanese; cp932 cannot hold
𠮷 or emoji), RFC 4180 quoting with CRLF line ends, and text cells that Excel would run as a
formula (leading = + - @ TAB CR) prefixed with a single quote. Rows come from an async
iterator and leave as they are produced, so an export never holds the whole table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from urllib.parse import quote

from starlette.responses import StreamingResponse

BOM = "\ufeff"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FLUSH_ROWS = 500  # rows per chunk sent to the client: few writes, small buffers


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


class _Writer:
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
    writer = _Writer()
    return BOM + writer.rows([header]) + writer.rows(rows)


Rows = AsyncIterable[Sequence[object]] | Iterable[Sequence[object]]


async def _each(rows: Rows) -> AsyncIterator[Sequence[object]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


async def stream_csv(header: Sequence[str], rows: Rows) -> AsyncIterator[bytes]:
    """The encoded document chunk by chunk: BOM and header first, then batches of rows
    (read from the database as they go: an async iterable; or rows already at hand)."""
    writer = _Writer()
    yield (BOM + writer.rows([header])).encode("utf-8")
    batch: list[Sequence[object]] = []
    async for row in _each(rows):
        batch.append(row)
        if len(batch) >= FLUSH_ROWS:
            yield writer.rows(batch).encode("utf-8")
            batch.clear()
    if batch:
        yield writer.rows(batch).encode("utf-8")


def content_disposition(filename: str, fallback: str = "export.csv") -> str:
    """`attachment` with an ASCII fallback name and the real (Japanese) one per RFC 6266."""
    ascii_name = "".join(ch for ch in fallback if 0x20 <= ord(ch) < 0x7F and ch not in '"\\;')
    name = ascii_name or "export.csv"
    return f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def csv_response(
    filename: str,
    header: Sequence[str],
    rows: Rows,
    *,
    fallback: str = "export.csv",
) -> StreamingResponse:
    """A streamed download of `rows` under `filename` (may be Japanese)."""
    return StreamingResponse(
        stream_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": content_disposition(filename, fallback),
            "Cache-Control": "no-store",  # personal data: not kept by proxies or the browser
        },
    )
