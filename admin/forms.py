"""Form and query-string parsing shared by every admin page, and the flash messages shown
after a redirect (a fixed code in `?done=`, so nothing the client sent is reflected)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from starlette.datastructures import FormData
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


def parse_time(value: str | None) -> time | None:
    try:
        return time.fromisoformat((value or "").strip()[:5])
    except ValueError:
        return None


def parse_int(value: object, default: int | None = None) -> int | None:
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isdigit() and len(text) <= 9 else default


def form_text(form: FormData | Mapping[str, Any], name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def flash(request: Request, messages: Mapping[str, Flash]) -> Flash | None:
    """The page's message for the redirect's `?done=` code, if it is one of `messages`."""
    return messages.get(request.query_params.get("done", ""))
