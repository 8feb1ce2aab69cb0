"""Admin routes are built through `route()`: every endpoint must be guarded
(`staff_required` / `require_role`) unless it is listed in PUBLIC, so a new page — of the
platform or of an area — cannot be left open by mistake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Route

from admin.auth import is_guarded

MAX_FORM_BYTES = 64 * 1024  # admin forms are small

# Route names reachable without a session: the login page, and the pictures staff send in
# the chat (LINE fetches them; each is at a name of 192 random bits).
PUBLIC = frozenset({"login", "chat_media_public"})

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL


def _bounded_digits(limit: int) -> str:
    """A regex matching exactly the decimal numbers 0..limit (no leading zeros beyond one)."""
    digits = str(limit)
    shorter = f"[0-9]{{1,{len(digits) - 1}}}" if len(digits) > 1 else ""
    same_length = []
    for i, d in enumerate(digits):
        rest = len(digits) - i - 1
        if int(d) > (1 if i == 0 else 0):
            low = "1" if i == 0 else "0"
            tail = f"[0-9]{{{rest}}}" if rest else ""
            same_length.append(f"{digits[:i]}[{low}-{int(d) - 1}]{tail}")
    same_length.append(digits)
    return "|".join([p for p in [shorter] if p] + same_length)


class IdConvertor(Convertor[int]):
    """`{name:id}` in admin paths: a row id. Anything longer or larger than a database id
    matches no route (404), instead of reaching the database as an out-of-range integer."""

    regex = f"(?:{_bounded_digits(MAX_ID)})"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("id", IdConvertor())


def route(path: str, endpoint: Callable[..., Any], methods: list[str], name: str) -> Route:
    if name not in PUBLIC and not is_guarded(endpoint):
        raise RuntimeError(f"admin route {path} is not guarded")
    return Route(path, endpoint, methods=methods, name=name, max_body_size=MAX_FORM_BYTES)
