"""Form and query-string parsing shared by every admin page, and the flash messages shown
after a redirect (a fixed code in `?done=`, so nothing the client sent is reflected).

Sizes, in one place for every admin form: `read_form` bounds the whole body (admin.routing
calls it before any endpoint runs); `form_text` never cuts a field silently — a value over
its limit raises FieldTooLong, which admin.routing answers with the page and a Japanese
notice. Forms with free text check `too_long` first, so their page comes back with the
typed values and a message per field."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

# A flash message: (kind, text) with kind "success" or "warning".
Flash = tuple[str, str]


# Dates staff can mean: anything else is a typo or a probe. Bounding them keeps date
# arithmetic (a week before, a week after) and the database's date range safe.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def parse_date(value: str | None) -> date | None:
    """A date within FIRST_YEAR..LAST_YEAR from `YYYY-MM-DD`, else None."""
    try:
        day = date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


@dataclass(frozen=True)
class DateRange:
    """A from/to pair of a filter form: the usable dates, and what was wrong in Japanese."""

    start: date | None = None
    end: date | None = None
    problems: tuple[str, ...] = ()

    @property
    def impossible(self) -> bool:
        """Both given and the start after the end: nothing can match."""
        return self.start is not None and self.end is not None and self.start > self.end


def parse_date_range(
    params: Mapping[str, Any], start_key: str = "from", end_key: str = "to", what: str = "日付"
) -> DateRange:
    """`from`/`to` as typed in a filter: a date that is not one (2026-13-45, abc, a year
    outside FIRST_YEAR..LAST_YEAR) is left out of the filter and named; a start after the
    end is named too (the filter then matches nothing)."""
    problems = []
    found: list[date | None] = []
    for key, label in ((start_key, "から"), (end_key, "まで")):
        raw = params.get(key)
        text = raw.strip() if isinstance(raw, str) else ""
        day = parse_date(text) if text else None
        if text and (day is None or len(text) != 10):
            problems.append(
                f"{what}（{label}）の「{text[:20]}」は日付として読めないため、使っていません。"
                f"{FIRST_YEAR}〜{LAST_YEAR}年の日付を YYYY-MM-DD で指定してください。"
            )
            day = None
        found.append(day)
    start, end = found
    if start is not None and end is not None and start > end:
        problems.append(
            f"{what}の範囲が正しくありません（「から」の {start:%Y/%m/%d} が「まで」の "
            f"{end:%Y/%m/%d} より後です）。"
        )
    return DateRange(start, end, tuple(problems))


def parse_time(value: str | None) -> time | None:
    try:
        return time.fromisoformat((value or "").strip()[:5])
    except ValueError:
        return None


def parse_int(value: object, default: int | None = None) -> int | None:
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isdigit() and len(text) <= 9 else default


# A form's one-time number: a confirmation step or a create form carries it, and the action
# it submits acts once for it (a double submit, a back-and-resubmit). `NONCE` is what a
# genuine one looks like; anything else is treated as no nonce.
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


BODY_TOO_LARGE = (
    "送信された内容が大きすぎるため、受け付けませんでした（上限 {kb:,} KB）。"
    "長い文章を短くして、もう一度入力してください。"
)
BODY_UNREADABLE = (
    "送信された内容を読み取れませんでした（項目やファイルが多すぎるか、大きすぎます）。"
    "内容を減らして、もう一度入力してください。"
)
FIELD_TOO_LONG = (
    "入力欄の文字数が多すぎます（{limit:,}文字まで）。短くして、もう一度入力してください。"
)


class FieldTooLong(ValueError):
    """A submitted field over its limit (answered by admin.routing with the page again)."""

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(name, limit)
        self.name, self.limit = name, limit
        self.message = FIELD_TOO_LONG.format(limit=limit)


async def read_form(request: Request, max_bytes: int) -> str:
    """Read and parse the request's form within `max_bytes` (cached on the request, so the
    guard and the endpoint get it from `request.form()`); "" when it fits, else the Japanese
    reason it was refused. A body over the limit is never read to its end."""
    too_large = BODY_TOO_LARGE.format(kb=max_bytes // 1024)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return too_large
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes:
            return too_large
        chunks.append(chunk)
    request._body = b"".join(chunks)  # what Request.body() caches; request.form() reads it
    try:
        await request.form()
    except HTTPException:  # the parser's limits (fields, files, part size): English detail
        return BODY_UNREADABLE
    return ""


def form_text(form: FormData | Mapping[str, Any], name: str, limit: int) -> str:
    """A submitted field, stripped; over `limit` characters raises FieldTooLong."""
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise FieldTooLong(name, limit)
    return text


def short_text(params: FormData | Mapping[str, Any], name: str, limit: int) -> str:
    """A value read as a code, date, time or search (never stored as typed): cut to `limit`,
    parsing needs no more (a time may come as 10:00:00)."""
    value = params.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def typed_text(form: FormData | Mapping[str, Any], name: str) -> str:
    """A field exactly as typed, to show the form again."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def too_long(
    form: FormData | Mapping[str, Any], limits: Mapping[str, tuple[str, int]]
) -> list[str]:
    """A message for each field of `limits` ({name: (label, max characters)}) that is over
    its limit: forms show these with the typed values instead of cutting them."""
    problems = []
    for name, (label, limit) in limits.items():
        value = form.get(name)
        length = len(value.strip()) if isinstance(value, str) else 0
        if length > limit:
            problems.append(
                f"{label}は{limit:,}文字以内で入力してください（いま{length:,}文字です）。"
            )
    return problems


def flash(request: Request, messages: Mapping[str, Flash]) -> Flash | None:
    """The page's message for the redirect's `?done=` code, if it is one of `messages`."""
    return messages.get(request.query_params.get("done", ""))
