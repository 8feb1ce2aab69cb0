"""Admin routes are built through `route()`: every endpoint must be guarded
(`staff_required` / `require_role`) unless it is listed in PUBLIC, so a new page — of the
platform or of an area — cannot be left open by mistake.

`route()` also bounds every form body, in one place for every admin form (admin.forms):
a body over the limit, or one the form parser refuses (too many fields, a part too large),
never reaches the endpoint and never gets the server's English 「Content Too Large」. The
same page comes back (a GET of it, with the notice on top) when the route has one, else the
Japanese error page with a way back."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from admin.auth import SAFE_METHODS, is_guarded, safe_next
from admin.errors import error_page, with_staff
from admin.forms import FieldTooLong, read_form

# Admin forms are small; this is far above any field's own limit (a 10,000-character note is
# ~90 KB url-encoded), so an over-long field gets its form's own message, not this one.
MAX_FORM_BYTES = 256 * 1024

# Route names reachable without a session: the login page, the pictures staff send in the
# chat (LINE fetches them; each is at a name of 192 random bits), and the thumbnails of
# market photos in an artist's LINE summary (each at an HMAC token of its id), and the
# pictures of お知らせ配信 (each at a token of 192 random bits).
PUBLIC = frozenset(
    {"login", "chat_media_public", "market_photo_public", "announcement_image_public"}
)

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


Endpoint = Callable[[Request], Awaitable[Response]]


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _page_request(request: Request) -> Request:
    """The same URL as a GET, with the query of the page the form was on (the Referer, when
    it is this path), so the form page comes back as the staff member opened it."""
    query = request.scope.get("query_string", b"")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.path == request.url.path and referer.netloc == request.url.netloc:
        query = referer.query.encode("latin-1", "ignore")
    scope = {**request.scope, "method": "GET", "query_string": query}
    return Request(scope, _no_body)


async def refused_form(
    request: Request, endpoint: Endpoint, notice: str, status_code: int, has_page: bool
) -> Response:
    """The page the form came from with `notice` on top, or the error page with a way back.
    `request.state.form_notice` is shown by admin/base.html (admin.pages.render)."""
    request.state.form_notice = notice
    if has_page:
        try:
            response: Response | None = await endpoint(_page_request(request))
        except FieldTooLong:
            response = None
        if response is not None and response.status_code < 300:  # the page itself
            response.status_code = status_code
            return response
        if response is not None and response.status_code < 400:  # e.g. the sign-in redirect
            return response
    await with_staff(request)
    referer = urlsplit(request.headers.get("referer", ""))
    back = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    return error_page(
        request, status_code, title="送信内容を受け付けませんでした", message=notice, back_href=back
    )


def limit_form_body(endpoint: Endpoint, max_bytes: int, *, has_page: bool) -> Endpoint:
    """`endpoint` with its form bounded (admin.forms.read_form) and FieldTooLong answered."""

    @functools.wraps(endpoint)  # keeps the guard mark
    async def limited(request: Request) -> Response:
        if request.method not in SAFE_METHODS:
            problem = await read_form(request, max_bytes)
            if problem:
                return await refused_form(request, endpoint, problem, 413, has_page)
        try:
            return await endpoint(request)
        except FieldTooLong as exc:
            return await refused_form(request, endpoint, exc.message, 400, has_page)

    return limited


def route(
    path: str,
    endpoint: Callable[..., Any],
    methods: list[str],
    name: str,
    *,
    max_body: int = MAX_FORM_BYTES,
) -> Route:
    """A guarded admin route; `max_body` raises the form limit for a page that uploads."""
    if name not in PUBLIC and not is_guarded(endpoint):
        raise RuntimeError(f"admin route {path} is not guarded")
    limited = limit_form_body(endpoint, max_body, has_page="GET" in methods)
    return Route(path, limited, methods=methods, name=name)
