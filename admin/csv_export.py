"""CSV files that open cleanly in Excel (the rules: shima.csvfile), streamed: rows come from
an async iterator and leave as they are produced, so an export never holds the whole table.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from urllib.parse import quote

from starlette.responses import StreamingResponse

from shima.csvfile import BOM, Writer, csv_text, neutralise

__all__ = ["BOM", "csv_response", "csv_text", "neutralise", "stream_csv"]

FLUSH_ROWS = 500  # rows per chunk sent to the client: few writes, small buffers


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
    writer = Writer()
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
