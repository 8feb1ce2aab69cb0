"""Server-side staff sessions.

The cookie holds a random token; the row's id is its SHA-256, so a leaked sessions table
cannot be replayed. Sessions end at logout (row deleted), after `session_idle_minutes`
without a request, and ABSOLUTE_LIFETIME after login whatever happens.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from models.staff import StaffSession, StaffUser
from shima.settings import Settings
from shima.timeutil import now

COOKIE_NAME = "shima_admin_session"
COOKIE_PATH = "/admin"
ABSOLUTE_LIFETIME = timedelta(hours=12)
# last_seen_at is written at most this often: one UPDATE per request would be wasteful.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class ActiveSession:
    session: StaffSession
    staff: StaffUser


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def start_session(request: Request, staff: StaffUser) -> tuple[str, StaffSession]:
    """A brand-new session for `staff` (never reuses a pre-login id); returns the cookie token."""
    await end_session(request)
    current = now()
    idle = timedelta(minutes=settings_of(request).session_idle_minutes)
    # Opportunistic clean-up, so the table does not grow with abandoned sessions.
    await StaffSession.filter(expires_at__lt=current).delete()
    await StaffSession.filter(last_seen_at__lt=current - idle).delete()
    token = secrets.token_urlsafe(32)
    session = await StaffSession.create(
        id=session_id(token),
        staff=staff,
        csrf_token=secrets.token_urlsafe(32),
        last_seen_at=current,
        expires_at=current + ABSOLUTE_LIFETIME,
        ip=(request.client.host if request.client else "")[:64],
        user_agent=request.headers.get("user-agent", "")[:300],
    )
    return token, session


async def load_session(request: Request) -> ActiveSession | None:
    """The valid session named by the request's cookie, or None (expired rows are deleted)."""
    token = request.cookies.get(COOKIE_NAME)
    if not token or len(token) > 128:
        return None
    session = await StaffSession.get_or_none(id=session_id(token)).prefetch_related("staff")
    if session is None:
        return None
    current = now()
    idle = timedelta(minutes=settings_of(request).session_idle_minutes)
    staff: StaffUser = session.staff
    if session.expires_at <= current or session.last_seen_at + idle <= current:
        await StaffSession.filter(id=session.id).delete()
        return None
    if not staff.is_active:
        await StaffSession.filter(id=session.id).delete()
        return None
    if current - session.last_seen_at >= TOUCH_INTERVAL:
        await StaffSession.filter(id=session.id).update(last_seen_at=current)
        session.last_seen_at = current
    return ActiveSession(session, staff)


async def end_session(request: Request) -> None:
    """Delete the session named by the request's cookie, if any."""
    token = request.cookies.get(COOKIE_NAME)
    if token and len(token) <= 128:
        await StaffSession.filter(id=session_id(token)).delete()


def set_admin_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """Every admin cookie: HttpOnly, SameSite=Lax, /admin only, Secure behind HTTPS.
    No max_age: browser-session cookies; the server enforces idle and absolute limits."""
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
    )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    set_admin_cookie(request, response, COOKIE_NAME, token)


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
    )
