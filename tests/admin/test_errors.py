"""Generic error pages: Japanese HTML under /admin, JSON elsewhere, never a stack trace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from admin.errors import exception_handlers
from shima.middleware import SecurityHeadersMiddleware
from shima.settings import Settings


async def boom(request: Request) -> Response:
    raise RuntimeError("secret detail: database password is hunter2")


async def teapot(request: Request) -> Response:
    raise HTTPException(403)


@pytest.fixture
async def error_client(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    # The same shape as shima.app: handlers are app-wide, the admin mounted at /admin.
    app = Starlette(
        routes=[
            Mount("/admin", routes=[Route("/boom", boom), Route("/forbidden", teapot)]),
            Route("/api/boom", boom),
        ],
        exception_handlers=exception_handlers,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.state.settings = settings
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_admin_404_page(error_client: httpx2.AsyncClient) -> None:
    response = await error_client.get("/admin/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "ページが見つかりません" in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_admin_403_page(error_client: httpx2.AsyncClient) -> None:
    response = await error_client.get("/admin/forbidden")
    assert response.status_code == 403
    assert "権限がありません" in response.text


async def test_admin_500_page_hides_the_error(error_client: httpx2.AsyncClient) -> None:
    response = await error_client.get("/admin/boom")
    assert response.status_code == 500
    assert "システムエラーが発生しました" in response.text
    assert "hunter2" not in response.text and "Traceback" not in response.text
    # ServerErrorMiddleware sits outside our middleware; the handler adds the headers itself.
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_other_paths_get_json(error_client: httpx2.AsyncClient) -> None:
    missing = await error_client.get("/nowhere")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    broken = await error_client.get("/api/boom")
    assert broken.status_code == 500 and "hunter2" not in broken.text
    assert broken.json() == {"detail": "Internal Server Error"}
