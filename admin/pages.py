"""Rendering admin pages: the shared context (signed-in staff, CSRF token, navigation)
and pagination."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from admin import registry
from shima.templating import templates

PER_PAGE = 50


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    active: str = "",
) -> Response:
    staff = getattr(request.state, "staff", None)
    session = getattr(request.state, "staff_session", None)
    ctx: dict[str, Any] = {
        "staff": staff,
        "csrf_token": session.csrf_token if session is not None else "",
        "nav": [
            item
            for item in registry.of(request).nav
            if staff is not None and (staff.is_admin or not item.admin_only)
        ],
        "active": active,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )


@dataclass(frozen=True)
class Page:
    number: int
    total: int
    per_page: int = PER_PAGE

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


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    try:
        number = int(raw) if raw.isdigit() and len(raw) <= 6 else 1
    except ValueError:
        number = 1
    return max(1, number)


def paginate(request: Request, total: int) -> Page:
    page = Page(page_number(request), total)
    if page.number > page.pages:
        page = Page(page.pages, total)
    return page


def page_url(request: Request, number: int) -> str:
    """The current URL with `page=number` (other filters kept)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    if number > 1:
        params.append(("page", str(number)))
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")
