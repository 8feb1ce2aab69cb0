"""CSRF protection for every admin POST.

Signed-in pages: the per-session token (StaffSession.csrf_token) in a hidden `csrf_token`
field or an `X-CSRF-Token` header. The login form, which has no session yet: a signed
double-submit cookie (the same value in the cookie and the form, HMAC'd with SECRET_KEY so a
cookie planted by someone else without the key is refused).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from admin.sessions import set_admin_cookie, settings_of

FIELD_NAME = "csrf_token"
HEADER_NAME = "x-csrf-token"
LOGIN_COOKIE_NAME = "shima_admin_login_csrf"
_LOGIN_PURPOSE = b"admin-login-csrf:"


async def submitted_token(request: Request) -> str:
    """The token sent with a POST (header first, then the form field)."""
    header = request.headers.get(HEADER_NAME)
    if header:
        return header
    form = await request.form()
    value = form.get(FIELD_NAME)
    return value if isinstance(value, str) else ""


def tokens_match(expected: str, submitted: str) -> bool:
    if not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def _sign(secret_key: str, nonce: str) -> str:
    return hmac.new(
        secret_key.encode(), _LOGIN_PURPOSE + nonce.encode(), hashlib.sha256
    ).hexdigest()


def new_login_token(request: Request) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(settings_of(request).secret_key, nonce)}"


def login_token_is_signed(request: Request, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    if not nonce or not signature or len(token) > 200:
        return False
    expected = _sign(settings_of(request).secret_key, nonce)
    return hmac.compare_digest(expected.encode(), signature.encode())


def login_token_for(request: Request) -> str:
    """The login form's token: the browser's current one if it is still valid, so two open
    login tabs both work; otherwise a new one (set with `set_login_cookie`)."""
    current = request.cookies.get(LOGIN_COOKIE_NAME, "")
    return current if login_token_is_signed(request, current) else new_login_token(request)


async def login_token_valid(request: Request) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE_NAME, "")
    return login_token_is_signed(request, cookie) and tokens_match(
        cookie, await submitted_token(request)
    )


def set_login_cookie(request: Request, response: Response, token: str) -> None:
    set_admin_cookie(request, response, LOGIN_COOKIE_NAME, token)
