from __future__ import annotations

import httpx2

from shima.middleware import CONTENT_SECURITY_POLICY

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def assert_common(response: httpx2.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    for name, value in EXPECTED.items():
        assert response.headers[name] == value


async def test_admin_pages_carry_security_headers_and_no_store(
    staff_client: httpx2.AsyncClient,
) -> None:
    for path in ("/admin/", "/admin/residents", "/admin/login", "/admin/nowhere"):
        response = await staff_client.get(path)
        assert_common(response)
        assert response.headers["cache-control"] == "no-store", path


async def test_anonymous_redirects_and_login_page_are_not_stored(
    client: httpx2.AsyncClient,
) -> None:
    for path in ("/admin/", "/admin/login"):
        response = await client.get(path)
        assert_common(response)
        assert response.headers["cache-control"] == "no-store"


async def test_other_responses_get_the_headers_but_may_be_cached(
    client: httpx2.AsyncClient,
) -> None:
    css = await client.get("/static/admin/admin.css")
    assert css.status_code == 200
    assert_common(css)
    assert css.headers.get("cache-control") != "no-store"
    health = await client.get("/healthz")
    assert_common(health)


async def test_pages_use_no_inline_script_or_style(staff_client: httpx2.AsyncClient) -> None:
    for path in ("/admin/", "/admin/residents", "/admin/undelivered"):
        html = (await staff_client.get(path)).text
        assert "<style" not in html and "style=" not in html
        assert "<script>" not in html and " on" + "click=" not in html
        assert '<script src="/static/admin/admin.js" defer></script>' in html
