"""Admin test helpers: staff accounts and signing in through the real login form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx2
import pytest

from admin.passwords import create_staff
from models.staff import StaffUser

STAFF_EMAIL = "hanako@example.jp"
ADMIN_EMAIL = "kanri@example.jp"
PASSWORD = "umi-to-sora-2026"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


async def login(
    client: httpx2.AsyncClient, email: str, password: str, next_path: str = ""
) -> httpx2.Response:
    """Sign in through the form, as a browser would (GET the form, POST it back)."""
    page = await client.get("/admin/login", params={"next": next_path} if next_path else None)
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.text), "email": email, "password": password}
    if next_path:
        data["next"] = next_path
    return await client.post("/admin/login", data=data)


async def page_csrf(client: httpx2.AsyncClient, path: str = "/admin/") -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


@pytest.fixture
async def staff_user(db: str) -> StaffUser:
    return await create_staff(STAFF_EMAIL, PASSWORD, display_name="島 花子")


@pytest.fixture
async def admin_user(db: str) -> StaffUser:
    return await create_staff(ADMIN_EMAIL, PASSWORD, role="admin", display_name="管理 太郎")


@pytest.fixture
async def staff_client(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> AsyncIterator[httpx2.AsyncClient]:
    response = await login(client, STAFF_EMAIL, PASSWORD)
    assert response.status_code == 303, response.text
    yield client


@pytest.fixture
async def admin_client(
    client: httpx2.AsyncClient, admin_user: StaffUser
) -> AsyncIterator[httpx2.AsyncClient]:
    response = await login(client, ADMIN_EMAIL, PASSWORD)
    assert response.status_code == 303, response.text
    yield client
