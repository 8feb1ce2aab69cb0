"""Failed-login throttling: per account and per address, the same answer for every account."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx2
import pytest

from admin import passwords, throttle
from models.staff import LoginAttempt, StaffSession, StaffUser
from shima.timeutil import now
from tests.admin.conftest import PASSWORD, STAFF_EMAIL, csrf_from

THROTTLED = "ログイン試行が多すぎます。しばらくしてからお試しください。"


async def attempt(client: httpx2.AsyncClient, email: str, password: str) -> httpx2.Response:
    token = csrf_from((await client.get("/admin/login")).text)
    data = {"csrf_token": token, "email": email, "password": password}
    return await client.post("/admin/login", data=data)


def other_address(client: httpx2.AsyncClient, ip: str) -> httpx2.AsyncClient:
    app = client.app  # type: ignore[attr-defined]
    transport = httpx2.ASGITransport(app=app, client=(ip, 40000))
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver")


async def test_account_is_throttled_after_five_failures_with_the_same_answer_as_unknown(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    for _ in range(throttle.ACCOUNT_LIMIT):
        assert (await attempt(client, STAFF_EMAIL, "wrong-password")).status_code == 400
        assert (await attempt(client, "ghost@example.jp", "wrong-password")).status_code == 400
    known = await attempt(client, STAFF_EMAIL, "wrong-password")
    unknown = await attempt(client, "ghost@example.jp", "wrong-password")
    assert known.status_code == unknown.status_code == 429
    assert THROTTLED in known.text
    assert known.text == unknown.text
    assert 0 < int(known.headers["retry-after"]) <= 15 * 60
    # While throttled even the right password is refused, from any address.
    async with other_address(client, "198.51.100.7") as elsewhere:
        refused = await attempt(elsewhere, STAFF_EMAIL, PASSWORD)
        assert refused.status_code == 429
        assert refused.text == known.text
    assert await StaffSession.all().count() == 0


async def test_throttle_ends_when_the_failures_leave_the_window(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    for _ in range(throttle.ACCOUNT_LIMIT):
        await attempt(client, STAFF_EMAIL, "wrong-password")
    assert (await attempt(client, STAFF_EMAIL, PASSWORD)).status_code == 429
    await LoginAttempt.all().update(created_at=now() - timedelta(minutes=16))
    assert (await attempt(client, STAFF_EMAIL, PASSWORD)).status_code == 303


async def test_a_successful_login_resets_the_account_count(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    for _ in range(throttle.ACCOUNT_LIMIT - 1):
        await attempt(client, STAFF_EMAIL, "wrong-password")
    assert (await attempt(client, STAFF_EMAIL, PASSWORD)).status_code == 303
    client.cookies.clear()
    for _ in range(throttle.ACCOUNT_LIMIT - 1):
        assert (await attempt(client, STAFF_EMAIL, "wrong-password")).status_code == 400
    assert (await attempt(client, STAFF_EMAIL, PASSWORD)).status_code == 303


async def test_address_is_throttled_after_twenty_failures_across_accounts(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    for i in range(throttle.ADDRESS_LIMIT):
        response = await attempt(client, f"user{i}@example.jp", "wrong-password")
        assert response.status_code == 400
    blocked_known = await attempt(client, STAFF_EMAIL, PASSWORD)
    blocked_unknown = await attempt(client, "fresh@example.jp", "whatever-password")
    assert blocked_known.status_code == blocked_unknown.status_code == 429
    assert blocked_known.text == blocked_unknown.text
    assert "retry-after" in blocked_known.headers
    # Another address is unaffected.
    async with other_address(client, "203.0.113.9") as elsewhere:
        assert (await attempt(elsewhere, STAFF_EMAIL, PASSWORD)).status_code == 303


async def test_concurrent_guesses_cannot_outrun_the_account_limit(
    client: httpx2.AsyncClient, staff_user: StaffUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifications: list[str] = []
    real_verify = passwords.verify_password

    def counting_verify(password_hash: str, password: str) -> passwords.PasswordCheck:
        verifications.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting_verify)
    token = csrf_from((await client.get("/admin/login")).text)

    async def guess(i: int) -> int:
        data = {"csrf_token": token, "email": STAFF_EMAIL, "password": f"guess-{i:04d}"}
        return (await client.post("/admin/login", data=data)).status_code

    statuses = await asyncio.gather(*(guess(i) for i in range(120)))
    assert len(verifications) <= throttle.ACCOUNT_LIMIT
    assert statuses.count(400) == len(verifications)
    assert statuses.count(429) == 120 - len(verifications)
    assert await StaffSession.all().count() == 0
