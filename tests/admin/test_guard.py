"""Every admin route refuses anonymous users, and every signed-in POST needs the CSRF token.

The routes are read from the app itself, so a new admin page is covered without editing this.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from admin.routing import PUBLIC
from admin.routing import route as admin_route
from models.audit import AuditLog
from models.staff import StaffSession

CSRF_TEXT = "セッションの有効期限が切れたか、不正なリクエストです。"


def admin_routes(app: Starlette) -> list[tuple[str, str, str]]:
    """(method, concrete path, name) for every route under the /admin mount."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin")
    found = []
    for route in mount.routes:
        assert isinstance(route, Route)
        path = "/admin" + re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            found.append((method, path, route.name))
    return found


def test_the_enumeration_sees_the_pages(client: httpx2.AsyncClient) -> None:
    names = {name for _, _, name in admin_routes(client.app)}  # type: ignore[attr-defined]
    assert {"dashboard", "residents", "resident", "undelivered", "audit_log"} <= names
    assert {"logout", "undelivered_requeue", "undelivered_discard"} <= names


async def test_every_admin_route_refuses_anonymous_users(client: httpx2.AsyncClient) -> None:
    routes = admin_routes(client.app)  # type: ignore[attr-defined]
    checked = 0
    for method, path, name in routes:
        if name in PUBLIC:
            continue
        response = await client.request(method, path, data={} if method == "POST" else None)
        if method == "GET":
            assert response.status_code == 303, (method, path)
            location = urlsplit(response.headers["location"])
            assert location.path == "/admin/login"
            assert parse_qs(location.query)["next"] == [path]
        else:
            assert response.status_code == 403, (method, path)
            assert "ログイン" in response.text
        checked += 1
    assert checked >= 8
    assert await AuditLog.all().count() == 0  # nothing was viewed or done


async def test_every_signed_in_post_needs_the_csrf_token(
    staff_client: httpx2.AsyncClient,
) -> None:
    routes = admin_routes(staff_client.app)  # type: ignore[attr-defined]
    posts = [(m, p) for m, p, name in routes if m == "POST" and name not in PUBLIC]
    assert posts
    for method, path in posts:
        for data in ({}, {"csrf_token": "not-the-token"}):
            response = await staff_client.request(method, path, data=data)
            assert response.status_code == 403, path
            assert CSRF_TEXT in response.text
    assert await StaffSession.all().count() == 1  # logout did not happen either


async def test_an_unguarded_endpoint_cannot_be_routed() -> None:
    async def open_page(request: Request) -> Response:
        return PlainTextResponse("open")

    with pytest.raises(RuntimeError, match="not guarded"):
        admin_route("/open", open_page, ["GET"], "open_page")
