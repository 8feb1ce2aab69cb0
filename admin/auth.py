"""The guard on every admin page: a valid staff session, the CSRF token on every POST, and
(optionally) a role.

Endpoints are wrapped with `staff_required` or `require_role("admin")`; `admin.routes`
refuses to build a route whose endpoint is neither guarded nor listed as public.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.csrf import submitted_token, tokens_match
from admin.errors import csrf_failure, error_page
from admin.sessions import COOKIE_NAME, load_session
from models.staff import StaffUser

Endpoint = Callable[[Request], Awaitable[Response]]

LOGIN_PATH = "/admin/login"
HOME_PATH = "/admin/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GUARD_MARK = "__admin_guard__"


def safe_next(value: str | None) -> str:
    """`value` if it is a local admin path, else the dashboard (no open redirects)."""
    if not value or len(value) > 500 or "\\" in value:
        return HOME_PATH
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return HOME_PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return HOME_PATH
    if not (parts.path == "/admin" or parts.path.startswith("/admin/")):
        return HOME_PATH
    if parts.path.startswith((LOGIN_PATH, "/admin/logout")):
        return HOME_PATH
    return value


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    params = {"next": target}
    if request.cookies.get(COOKIE_NAME):
        params["expired"] = "1"  # had a session: say why they are asked to sign in again
    return RedirectResponse(f"{LOGIN_PATH}?{urlencode(params)}", status_code=303)


def anonymous_response(request: Request) -> Response:
    if request.method in SAFE_METHODS:
        return login_redirect(request)
    return error_page(
        request,
        403,
        title="ログインが必要です",
        message="ログインの有効期限が切れました。もう一度ログインしてから操作してください。",
    )


def current_staff(request: Request) -> StaffUser:
    """The signed-in staff (only inside a guarded endpoint)."""
    staff: StaffUser = request.state.staff
    return staff


def staff_required(endpoint: Endpoint, *, role: str | None = None) -> Endpoint:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        active = await load_session(request)
        if active is None:
            return anonymous_response(request)
        request.state.staff = active.staff
        request.state.staff_session = active.session
        if request.method not in SAFE_METHODS and not tokens_match(
            active.session.csrf_token, await submitted_token(request)
        ):
            return csrf_failure(request)
        if role is not None and active.staff.role != role:
            return error_page(request, 403)
        return await endpoint(request)

    setattr(guarded, GUARD_MARK, True)
    return guarded


def require_role(role: str) -> Callable[[Endpoint], Endpoint]:
    """`@require_role("admin")`: signed in, and with that role (others get 403)."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        return staff_required(endpoint, role=role)

    return decorate


def is_guarded(endpoint: object) -> bool:
    return bool(getattr(endpoint, GUARD_MARK, False))
