"""Failed-login throttling: per account, per address and per trusted browser (device cookie),
the same answer for every account, and limits that hold under concurrent guesses."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from http.cookiejar import Cookie

import httpx2
import pytest

from admin import device_cookies, passwords, throttle
from admin.login import THROTTLED, TRUSTED_BROWSER_HINT
from models.staff import LoginAttempt, StaffSession, StaffUser
from shima.settings import Settings
from shima.timeutil import now
from tests.admin.conftest import ADMIN_EMAIL, PASSWORD, STAFF_EMAIL, csrf_from


async def attempt(client: httpx2.AsyncClient, email: str, password: str) -> httpx2.Response:
    token = csrf_from((await client.get("/admin/login")).text)
    data = {"csrf_token": token, "email": email, "password": password}
    return await client.post("/admin/login", data=data)


def count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password verification from now on (the dummy one for unknown accounts too)."""
    verifications: list[str] = []
    real_verify = passwords.verify_password

    def counting_verify(password_hash: str, password: str) -> passwords.PasswordCheck:
        verifications.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting_verify)
    return verifications


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
    await LoginAttempt.all().update(created_at=now() - timedelta(minutes=14))
    # Refused attempts do not prolong the refusal: it ends with the failures that caused it.
    for _ in range(throttle.ACCOUNT_LIMIT):
        assert (await attempt(client, STAFF_EMAIL, PASSWORD)).status_code == 429
    for row in await LoginAttempt.all():
        await LoginAttempt.filter(id=row.id).update(
            created_at=row.created_at - timedelta(minutes=2)
        )
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


async def test_address_is_throttled_after_its_limit_of_untrusted_failures_across_accounts(
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


async def wrong_guesses_at_once(client: httpx2.AsyncClient, n: int) -> list[int]:
    """`n` wrong passwords for the staff account, all in flight together; their statuses."""
    token = csrf_from((await client.get("/admin/login")).text)

    async def guess(i: int) -> int:
        data = {"csrf_token": token, "email": STAFF_EMAIL, "password": f"guess-{i:04d}"}
        return (await client.post("/admin/login", data=data)).status_code

    return list(await asyncio.gather(*(guess(i) for i in range(n))))


async def test_concurrent_guesses_cannot_outrun_the_account_limit(
    client: httpx2.AsyncClient, staff_user: StaffUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifications = count_verifications(monkeypatch)
    statuses = await wrong_guesses_at_once(client, 120)
    assert len(verifications) <= throttle.ACCOUNT_LIMIT
    assert statuses.count(400) == len(verifications)
    assert statuses.count(429) == 120 - len(verifications)
    assert await StaffSession.all().count() == 0


OFFICE = "192.0.2.10"


async def sign_in_and_out(browser: httpx2.AsyncClient, email: str = STAFF_EMAIL) -> None:
    """A staff member signs in at their own browser (which keeps the device cookie), then out."""
    assert (await attempt(browser, email, PASSWORD)).status_code == 303
    token = csrf_from((await browser.get("/admin/")).text)
    assert (await browser.post("/admin/logout", data={"csrf_token": token})).status_code == 303


def device_cookie(browser: httpx2.AsyncClient, settings: Settings, email: str) -> Cookie:
    name = device_cookies.cookie_name(settings.secret_key, email)
    return next(cookie for cookie in browser.cookies.jar if cookie.name == name)


def replace_device_cookie(
    browser: httpx2.AsyncClient, settings: Settings, email: str, value: str
) -> None:
    name = device_cookies.cookie_name(settings.secret_key, email)
    browser.cookies.jar.clear()
    browser.cookies.set(name, value, domain="testserver.local", path="/admin/login")


async def test_strangers_cannot_lock_the_staff_out_of_their_own_browser(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    async with (
        other_address(client, OFFICE) as own_browser,
        other_address(client, OFFICE) as office_stranger,
        other_address(client, "198.51.100.7") as stranger,
    ):
        await sign_in_and_out(own_browser)
        for _ in range(throttle.ACCOUNT_LIMIT):
            assert (await attempt(stranger, STAFF_EMAIL, "wrong-password")).status_code == 400
        for i in range(60):  # more than the address limit, from the office's own address
            await attempt(office_stranger, f"user{i}@example.jp", "wrong-password")
        # Untrusted browsers are refused, even with the right password, in Japanese.
        for untrusted in (stranger, office_stranger):
            refused = await attempt(untrusted, STAFF_EMAIL, PASSWORD)
            assert refused.status_code == 429
            assert THROTTLED in refused.text and TRUSTED_BROWSER_HINT in refused.text
            assert "ログイン画面に戻る" in refused.text
            assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
        # The staff member's own browser, at the locked-out office address, still signs in.
        assert (await attempt(own_browser, STAFF_EMAIL, PASSWORD)).status_code == 303
        assert (await own_browser.get("/admin/")).status_code == 200


async def test_a_tampered_or_foreign_device_cookie_is_not_trusted(
    client: httpx2.AsyncClient, staff_user: StaffUser, admin_user: StaffUser, settings: Settings
) -> None:
    await sign_in_and_out(client)
    await sign_in_and_out(client, ADMIN_EMAIL)
    good = device_cookie(client, settings, STAFF_EMAIL).value
    other_account = device_cookie(client, settings, ADMIN_EMAIL).value
    async with other_address(client, "198.51.100.7") as stranger:
        for _ in range(throttle.ACCOUNT_LIMIT):
            await attempt(stranger, STAFF_EMAIL, "wrong-password")
    nonce, issued, signature = good.split(".")
    old = device_cookies.new_value(settings.secret_key, STAFF_EMAIL, issued=1)
    for forged in [
        f"{nonce}.{issued}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",
        f"{nonce}x.{issued}.{signature}",
        f"{nonce}.{int(issued) + 1}.{signature}",
        other_account,  # a real cookie, but for another account
        device_cookies.new_value("another-key", STAFF_EMAIL),
        old,  # older than the cookie's lifetime
        "garbage",
    ]:
        replace_device_cookie(client, settings, STAFF_EMAIL, forged)
        refused = await attempt(client, STAFF_EMAIL, PASSWORD)
        assert refused.status_code == 429, forged
        assert TRUSTED_BROWSER_HINT in refused.text
    replace_device_cookie(client, settings, STAFF_EMAIL, good)
    assert (await attempt(client, STAFF_EMAIL, PASSWORD)).status_code == 303


async def test_a_trusted_browser_has_a_limit_of_its_own(
    client: httpx2.AsyncClient, staff_user: StaffUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lower than its failures below: they must not count for the address either.
    monkeypatch.setattr(throttle, "ADDRESS_LIMIT", throttle.DEVICE_LIMIT - 1)
    await sign_in_and_out(client)
    for _ in range(throttle.DEVICE_LIMIT):
        assert (await attempt(client, STAFF_EMAIL, "wrong-password")).status_code == 400
    refused = await attempt(client, STAFF_EMAIL, PASSWORD)
    assert refused.status_code == 429
    assert THROTTLED in refused.text and TRUSTED_BROWSER_HINT not in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    # Its failures lock neither the account nor the address for other browsers.
    async with other_address(client, "127.0.0.1") as fresh_browser:
        assert (await attempt(fresh_browser, STAFF_EMAIL, PASSWORD)).status_code == 303
    # And its lock ends with the window.
    await LoginAttempt.all().update(created_at=now() - timedelta(minutes=16))
    assert (await attempt(client, STAFF_EMAIL, PASSWORD)).status_code == 303


async def test_concurrent_guesses_from_a_trusted_browser_cannot_outrun_its_limit(
    client: httpx2.AsyncClient, staff_user: StaffUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in_and_out(client)
    verifications = count_verifications(monkeypatch)
    statuses = await wrong_guesses_at_once(client, 40)
    # A burst may even be refused whole: each guess counts the others' rows as failures.
    assert len(verifications) <= throttle.DEVICE_LIMIT
    assert statuses.count(400) == len(verifications)
    assert statuses.count(429) == 40 - len(verifications)


async def test_the_worker_prunes_attempts_no_limit_can_count(settings: Settings, db: str) -> None:
    from line_app.client import LineClient
    from shima.worker import Worker

    old = await LoginAttempt.create(email="a@example.jp", ip="10.0.0.1", succeeded=False)
    recent = await LoginAttempt.create(email="a@example.jp", ip="10.0.0.1", succeeded=False)
    past = now() - throttle.KEEP - timedelta(minutes=1)
    await LoginAttempt.filter(id=old.id).update(created_at=past)
    line = LineClient(settings)
    try:
        await Worker(settings, line).run_schedule_once()
    finally:
        await line.close()
    assert [a.id for a in await LoginAttempt.all()] == [recent.id]
    assert throttle.KEEP > throttle.WINDOW
