"""Rendering admin pages: the shared context (signed-in staff, CSRF token, navigation).
Paged lists: admin.listing."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from admin import registry
from shima.templating import templates


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
        # A refused form's notice (admin.routing), shown above the page it came back to.
        "form_notice": getattr(request.state, "form_notice", ""),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )
