"""The Excel-safe CSV writer: BOM, RFC 4180 quoting, CRLF, formula neutralising, streaming."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from urllib.parse import unquote

import pytest

from admin.csv_export import content_disposition, csv_response, csv_text, neutralise, stream_csv


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("普通のメモ", "普通のメモ"),
        ("", ""),
        (None, ""),
        (-3, "-3"),  # a number is not a formula
        (2.5, "2.5"),
    ],
)
def test_neutralise(value: object, expected: str) -> None:
    assert neutralise(value) == expected


def test_csv_text_quotes_per_rfc_4180_with_crlf_and_bom() -> None:
    text = csv_text(["名前", "メモ"], [['山田, "太郎"', "一行目\n二行目"], ["𠮷野 🌺", "-"]])
    assert text.startswith("\ufeff名前,メモ\r\n")
    assert '"山田, ""太郎""","一行目\n二行目"\r\n' in text
    assert text.endswith("𠮷野 🌺,'-\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert rows == [["名前", "メモ"], ['山田, "太郎"', "一行目\n二行目"], ["𠮷野 🌺", "'-"]]


def test_content_disposition_has_ascii_fallback_and_utf8_name() -> None:
    value = content_disposition("相談予約_20261126.csv", 'bookings"; x.csv')
    fallback, encoded = value.split("; filename*=UTF-8''")
    assert fallback == 'attachment; filename="bookings x.csv"'
    assert encoded == "%E7%9B%B8%E8%AB%87%E4%BA%88%E7%B4%84_20261126.csv"
    assert unquote(encoded) == "相談予約_20261126.csv"


async def numbers(count: int) -> AsyncIterator[Sequence[object]]:
    for i in range(count):
        yield (i, f"=row{i}")


async def test_stream_sends_header_first_then_batches() -> None:
    chunks = [chunk async for chunk in stream_csv(["n", "式"], numbers(1200))]
    assert chunks[0] == "\ufeffn,式\r\n".encode()
    assert len(chunks) == 4  # header, 500, 500, 200
    text = b"".join(chunks).decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[1] == "0,'=row0" and lines[1200] == "1199,'=row1199" and lines[1201] == ""


async def test_rows_at_hand_stream_like_rows_from_the_database() -> None:
    at_hand = [(i, f"=row{i}") for i in range(1200)]
    from_db = [chunk async for chunk in stream_csv(["n", "式"], numbers(1200))]
    assert [chunk async for chunk in stream_csv(["n", "式"], at_hand)] == from_db


async def test_csv_response_streams_with_headers() -> None:
    response = csv_response("名簿.csv", ["a"], numbers(0), fallback="list.csv")
    assert response.media_type == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert 'filename="list.csv"' in response.headers["content-disposition"]
    body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]
    assert body == "\ufeffa\r\n".encode()
