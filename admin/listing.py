"""Paged lists in the admin: the bounded `?page=` parameter, the page's slice of a query and
its 前へ / 次へ links (other filters kept). Templates show them with
`admin/_result_count.html` and `admin/_pagination.html`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from starlette.requests import Request
from tortoise.models import Model
from tortoise.queryset import QuerySet

PER_PAGE = 50
# Longer than this many digits is past any last page; it is never parsed (int() of a huge
# string is slow, and an offset that large overflows PostgreSQL's bigint).
MAX_PAGE_DIGITS = 9
DIGITS = re.compile(r"[0-9]+")

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Page:
    number: int
    total: int
    per_page: int = PER_PAGE
    path: str = ""
    params: tuple[tuple[str, str], ...] = ()  # the request's query, without `page`

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_item(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last_item(self) -> int:
        return min(self.total, self.offset + self.per_page)

    def url(self, number: int) -> str:
        """This list's URL at page `number` (page 1 has no `page=`)."""
        params = list(self.params)
        if number > 1:
            params.append(("page", str(number)))
        query = urlencode(params)
        return self.path + (f"?{query}" if query else "")

    @property
    def prev_url(self) -> str:
        return self.url(self.number - 1)

    @property
    def next_url(self) -> str:
        return self.url(self.number + 1)


def requested_page(raw: str | None) -> int | None:
    """The page asked for: a positive number, None for "past the end" (too many digits);
    anything else (missing, 0, -1, abc, １) is page 1."""
    if raw is None or not DIGITS.fullmatch(raw):
        return 1
    if len(raw.lstrip("0")) > MAX_PAGE_DIGITS:
        return None
    return max(1, int(raw))


def paginate(request: Request, total: int, per_page: int = PER_PAGE) -> Page:
    """The requested page of `total` rows, kept within the first and the last page."""
    params = tuple((k, v) for k, v in request.query_params.multi_items() if k != "page")
    last = max(1, math.ceil(total / per_page))
    asked = requested_page(request.query_params.get("page"))
    number = last if asked is None else min(asked, last)
    return Page(number, total, per_page, request.url.path, params)


async def page_of(
    request: Request,
    rows: QuerySet[M],
    *order_by: str,
    related: tuple[str, ...] = (),
    per_page: int = PER_PAGE,
) -> tuple[Page, list[M]]:
    """Count `rows`, then fetch the requested page of them in `order_by` order (with the
    `related` rows joined)."""
    page = paginate(request, await rows.count(), per_page)
    query = rows.order_by(*order_by).offset(page.offset).limit(page.per_page)
    if related:
        query = query.select_related(*related)
    return page, list(await query)
