"""Security headers on every response of the app (pure ASGI).

The CSP allows only same-origin files: no inline script or style anywhere (the admin and the
simulator keep their CSS and JS under /static). Admin responses carry personal data, so they
are never stored by the browser or a proxy.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)

_COMMON: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
)


def is_admin(path: str) -> bool:
    return path == "/admin" or path.startswith("/admin/")


def security_headers(path: str) -> list[tuple[str, str]]:
    """The headers for a response to `path` (also used by the 500 handler, which runs
    outside this middleware)."""
    headers = list(_COMMON)
    if is_admin(path):
        headers.append(("cache-control", "no-store"))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = security_headers(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    if name == "cache-control":
                        headers[name] = value  # personal data: override whatever was set
                    elif name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
