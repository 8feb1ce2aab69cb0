"""Middleware serving the whole app (pure ASGI): the Host check and the security headers.

The CSP allows only same-origin files: no inline script or style anywhere (the admin and the
simulator keep their CSS and JS under /static). Admin responses carry personal data, so they
are never stored by the browser or a proxy. Behind HTTPS (Secure cookies) every response
also carries HSTS, so a browser never talks to the admin over plain HTTP again.

The Host check: redirects, absolute URLs and CSRF-bound pages are built from the request's
Host, so a request naming another host (`Host: evil.example`) is refused before any of them.
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


# One year; no includeSubDomains: the municipality's other sites are not ours to decide for.
HSTS = ("strict-transport-security", "max-age=31536000")


def is_admin(path: str) -> bool:
    return path == "/admin" or path.startswith("/admin/")


def security_headers(path: str, *, hsts: bool = False) -> list[tuple[str, str]]:
    """The headers for a response to `path` (also used by the 500 handler, which runs
    outside this middleware)."""
    headers = list(_COMMON)
    if hsts:
        headers.append(HSTS)
    if is_admin(path):
        headers.append(("cache-control", "no-store"))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = security_headers(path, hsts=self.hsts)

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


HOST_REFUSED = (
    "このホスト名ではアクセスできません。管理者の方は SHIMA_ALLOWED_HOSTS を確認してください。"
).encode()
# Monitors and PaaS health checks often call by an internal address; the answer names no
# host and carries nothing personal, so it is served whatever the Host says.
HOST_EXEMPT_PATHS = frozenset({"/healthz"})


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """`host` (a Host header, port stripped) matches `allowed`: exact names, `*.example.jp`
    for subdomains, or `*` for any host."""
    if host.startswith("["):  # [::1]:8000
        name = host[1 : host.find("]")] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.lower().rstrip(".")
    for pattern in allowed:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class AllowedHostsMiddleware:
    """Refuses (400, in Japanese) requests whose Host is not one of `allowed`. Runs inside
    SecurityHeadersMiddleware, which adds the security headers to the refusal."""

    def __init__(self, app: ASGIApp, *, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = tuple(a.lower().rstrip(".") for a in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in HOST_EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        host = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": HOST_REFUSED})
