"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

After a successful login the browser gets a long-lived cookie, signed with SECRET_KEY and bound
to the account's email. A browser that presents a valid one for the account it signs in to is
*trusted*: the lock-out that strangers' failures cause for the account and for the address
does not apply to it; it has a limit of its own (admin/throttle.py). So five wrong guesses
from anywhere, or an office address full of them, cannot lock out the staff member at their
usual browser.

One cookie per account (its name is a keyed hash of the email, so the email is not in the
browser), so several staff can share one office PC. Value: `nonce.issued.signature`, the
signature an HMAC over purpose, nonce, issue time and email. The attempt rows store only
SHA-256(nonce), which cannot be turned back into a cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from admin.sessions import settings_of

COOKIE_PREFIX = "shima_admin_device_"
# Only the login form needs it; the rest of /admin never sees it.
COOKIE_PATH = "/admin/login"
LIFETIME = timedelta(days=365)
_NAME_PURPOSE = b"admin-device-name:"
_SIGN_PURPOSE = b"admin-device:"
_MAX_VALUE_CHARS = 200
_CLOCK_SKEW_SECONDS = 300  # between app instances


def _hmac(secret_key: str, message: bytes) -> str:
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def cookie_name(secret_key: str, email: str) -> str:
    return COOKIE_PREFIX + _hmac(secret_key, _NAME_PURPOSE + email.encode())[:16]


def _signature(secret_key: str, nonce: str, issued: str, email: str) -> str:
    # nonce (urlsafe base64) and issued (digits) contain no "."; the email goes last.
    return _hmac(secret_key, _SIGN_PURPOSE + f"{nonce}.{issued}.{email}".encode())


def device_id(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def new_value(secret_key: str, email: str, issued: int | None = None) -> str:
    nonce = secrets.token_urlsafe(24)
    stamp = str(int(time.time()) if issued is None else issued)
    return f"{nonce}.{stamp}.{_signature(secret_key, nonce, stamp, email)}"


def device_of(request: Request, email: str) -> str | None:
    """The device id of the request's valid device cookie for `email`, or None (untrusted:
    no cookie, tampered, for another account, signed with another key, or too old)."""
    if not email:
        return None
    secret_key = settings_of(request).secret_key
    value = request.cookies.get(cookie_name(secret_key, email), "")
    if not value or len(value) > _MAX_VALUE_CHARS:
        return None
    nonce, _, rest = value.partition(".")
    issued, _, signature = rest.partition(".")
    if not nonce or not issued.isdigit() or not signature:
        return None
    expected = _signature(secret_key, nonce, issued, email)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    age = time.time() - int(issued)
    if not -_CLOCK_SKEW_SECONDS <= age <= LIFETIME.total_seconds():
        return None
    return device_id(nonce)


def set_device_cookie(request: Request, response: Response, email: str) -> None:
    """Give the browser a fresh device cookie for `email` (after a successful login)."""
    secret_key = settings_of(request).secret_key
    # Unlike the other admin cookies (admin.sessions.set_admin_cookie) this one outlives the
    # browser session: recognising the browser next week is its whole point.
    response.set_cookie(
        cookie_name(secret_key, email),
        new_value(secret_key, email),
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
    )
