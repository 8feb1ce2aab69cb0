"""Signing in and out, sessions and their cookie."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx2
from argon2 import PasswordHasher

from admin import device_cookies
from admin.passwords import create_staff
from admin.sessions import COOKIE_NAME
from models.audit import AuditLog
from models.staff import LoginAttempt, StaffSession, StaffUser
from shima.app import create_app
from shima.settings import Settings
from shima.timeutil import now
from tests.admin.conftest import PASSWORD, STAFF_EMAIL, csrf_from, login, page_csrf

BAD = "メールアドレスまたはパスワードが正しくありません。"


def set_cookie_header(response: httpx2.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no Set-Cookie for {name}")


async def test_login_form_is_japanese_and_carries_a_csrf_token(client: httpx2.AsyncClient) -> None:
    response = await client.get("/admin/login")
    assert response.status_code == 200
    assert "メールアドレス" in response.text and "パスワード" in response.text
    assert csrf_from(response.text)
    cookie = set_cookie_header(response, "shima_admin_login_csrf")
    assert "HttpOnly" in cookie and "Path=/admin" in cookie and "samesite=lax" in cookie.lower()


async def test_login_success_starts_a_session(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    response = await login(client, "  HANAKO@example.JP ", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"
    cookie = set_cookie_header(response, COOKIE_NAME)
    assert "HttpOnly" in cookie and "Path=/admin" in cookie and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # settings.secure_cookies is off in tests
    token = client.cookies[COOKIE_NAME]
    session = await StaffSession.get(id=hashlib.sha256(token.encode()).hexdigest())
    assert session.staff_id == staff_user.id  # type: ignore[attr-defined]
    assert session.expires_at - session.created_at <= timedelta(hours=12, seconds=1)
    assert await StaffSession.filter(id=token).count() == 0  # the raw token is never stored

    dashboard = await client.get("/admin/")
    assert dashboard.status_code == 200
    assert "ダッシュボード" in dashboard.text and "島 花子" in dashboard.text
    assert (await StaffUser.get(id=staff_user.id)).last_login_at is not None
    entry = await AuditLog.get(action="login.success")
    assert entry.staff_id == staff_user.id  # type: ignore[attr-defined]
    assert PASSWORD not in str(entry.detail)


async def test_secure_cookie_when_configured(settings: Settings, staff_user: StaffUser) -> None:
    app = create_app(settings.with_overrides(secure_cookies=True), init_db=False)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="https://testserver") as c:
        response = await login(c, STAFF_EMAIL, PASSWORD)
        assert response.status_code == 303
        assert "secure" in set_cookie_header(response, COOKIE_NAME).lower()
        device = device_cookies.cookie_name(settings.secret_key, STAFF_EMAIL)
        assert "secure" in set_cookie_header(response, device).lower()


async def test_login_success_gives_the_browser_a_signed_device_cookie(
    client: httpx2.AsyncClient, staff_user: StaffUser, settings: Settings
) -> None:
    name = device_cookies.cookie_name(settings.secret_key, STAFF_EMAIL)
    failed = await login(client, STAFF_EMAIL, "not-the-password")
    assert not any(h.startswith(name) for h in failed.headers.get_list("set-cookie"))
    response = await login(client, STAFF_EMAIL, PASSWORD)
    cookie = set_cookie_header(response, name)
    assert "HttpOnly" in cookie and "Path=/admin/login" in cookie
    assert "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()
    assert "Max-Age=31536000" in cookie  # long-lived: it must recognise the browser next month
    assert "hanako" not in cookie  # bound to the account by its signature, not by naming it
    # Each login issues a new one; logging out keeps it.
    first = client.cookies[name]
    csrf = await page_csrf(client)
    logout = await client.post("/admin/logout", data={"csrf_token": csrf})
    assert name not in str(logout.headers.get_list("set-cookie"))
    assert (await login(client, STAFF_EMAIL, PASSWORD)).status_code == 303
    assert client.cookies[name] != first
    attempts = await LoginAttempt.all().order_by("id").values_list("device", "succeeded")
    nonce = first.split(".")[0]
    assert attempts == [
        (None, False),
        (None, True),
        (hashlib.sha256(nonce.encode()).hexdigest(), True),
    ]


async def test_wrong_password_and_unknown_account_get_the_same_answer(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    wrong = await login(client, STAFF_EMAIL, "not-the-password")
    unknown = await login(client, "nobody@example.jp", "not-the-password")
    assert wrong.status_code == unknown.status_code == 400
    for response in (wrong, unknown):
        assert BAD in response.text
        assert COOKIE_NAME not in response.cookies
    assert wrong.text.replace(STAFF_EMAIL, "X") == unknown.text.replace("nobody@example.jp", "X")
    assert await StaffSession.all().count() == 0
    failures = await AuditLog.filter(action="login.failure").values_list("detail", flat=True)
    assert len(failures) == 2
    assert "not-the-password" not in str(failures)
    assert await LoginAttempt.filter(succeeded=False).count() == 2


async def test_inactive_account_cannot_sign_in(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    await StaffUser.filter(id=staff_user.id).update(is_active=False)
    response = await login(client, STAFF_EMAIL, PASSWORD)
    assert response.status_code == 400 and BAD in response.text


async def test_login_without_valid_csrf_is_refused(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    page = await client.get("/admin/login")
    token = csrf_from(page.text)
    form = {"email": STAFF_EMAIL, "password": PASSWORD}
    nonce = token.split(".")[0]
    attempts = [
        {**form},  # no token
        {**form, "csrf_token": token + "x"},  # not the cookie's value
        {**form, "csrf_token": f"{nonce}.{'0' * 64}"},  # forged signature
    ]
    for data in attempts:
        response = await client.post("/admin/login", data=data)
        assert response.status_code == 403
        assert "セッションの有効期限が切れたか、不正なリクエストです。" in response.text
    # A token that matches a planted, unsigned cookie is refused too.
    client.cookies.set(
        "shima_admin_login_csrf", "planted.value", path="/admin", domain="testserver.local"
    )
    response = await client.post("/admin/login", data={**form, "csrf_token": "planted.value"})
    assert response.status_code == 403
    # Without the cookie the right token is refused as well.
    client.cookies.clear()
    response = await client.post("/admin/login", data={**form, "csrf_token": token})
    assert response.status_code == 403
    assert await StaffSession.all().count() == 0
    assert await LoginAttempt.all().count() == 0


async def test_next_is_followed_only_for_local_admin_paths(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    response = await login(client, STAFF_EMAIL, PASSWORD, next_path="/admin/residents?q=a")
    assert response.headers["location"] == "/admin/residents?q=a"
    for evil in ["https://evil.example/", "//evil.example/admin/", "/\\evil.example", "/healthz"]:
        client.cookies.clear()
        response = await login(client, STAFF_EMAIL, PASSWORD, next_path=evil)
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/", evil


async def test_logout_ends_the_session(staff_client: httpx2.AsyncClient) -> None:
    token = staff_client.cookies[COOKIE_NAME]
    csrf = await page_csrf(staff_client)
    response = await staff_client.post("/admin/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
    assert await StaffSession.all().count() == 0
    # Replaying the old cookie gets nowhere.
    staff_client.cookies.set(COOKIE_NAME, token, path="/admin", domain="testserver.local")
    response = await staff_client.get("/admin/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
    assert await AuditLog.filter(action="logout").count() == 1


async def test_logout_needs_the_csrf_token(staff_client: httpx2.AsyncClient) -> None:
    response = await staff_client.post("/admin/logout", data={"csrf_token": "wrong"})
    assert response.status_code == 403
    assert await StaffSession.all().count() == 1
    assert (await staff_client.get("/admin/")).status_code == 200


async def test_idle_session_expires(staff_client: httpx2.AsyncClient) -> None:
    assert (await staff_client.get("/admin/")).status_code == 200
    await StaffSession.all().update(last_seen_at=now() - timedelta(minutes=31))
    response = await staff_client.get("/admin/residents")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/admin/login?") and "expired=1" in location
    assert await StaffSession.all().count() == 0
    page = await staff_client.get(location)
    assert "一定時間操作がなかったため" in page.text


async def test_activity_keeps_the_session_alive(staff_client: httpx2.AsyncClient) -> None:
    await StaffSession.all().update(last_seen_at=now() - timedelta(minutes=29))
    assert (await staff_client.get("/admin/")).status_code == 200
    session = await StaffSession.get()
    assert now() - session.last_seen_at < timedelta(minutes=1)
    # Touched at most once a minute: a second request right after writes nothing.
    seen = session.last_seen_at
    assert (await staff_client.get("/admin/")).status_code == 200
    assert (await StaffSession.get()).last_seen_at == seen


async def test_absolute_limit(staff_client: httpx2.AsyncClient) -> None:
    await StaffSession.all().update(expires_at=now() - timedelta(seconds=1))
    assert (await staff_client.get("/admin/")).status_code == 303
    assert await StaffSession.all().count() == 0


async def test_login_issues_a_new_session_id(
    client: httpx2.AsyncClient, staff_user: StaffUser
) -> None:
    # A session id fixed before login (planted cookie) is never adopted.
    client.cookies.set(
        COOKIE_NAME, "attacker-chosen-token", path="/admin", domain="testserver.local"
    )
    token = csrf_from((await client.get("/admin/login")).text)
    form = {"csrf_token": token, "email": STAFF_EMAIL, "password": PASSWORD}
    assert (await client.post("/admin/login", data=form)).status_code == 303
    first = client.cookies[COOKIE_NAME]
    assert first != "attacker-chosen-token"
    # Signing in again from a second login tab replaces the previous session.
    assert (await client.post("/admin/login", data=form)).status_code == 303
    second = client.cookies[COOKIE_NAME]
    assert second != first
    ids = set(await StaffSession.all().values_list("id", flat=True))
    assert ids == {hashlib.sha256(second.encode()).hexdigest()}


async def test_signed_in_staff_visiting_login_goes_to_the_dashboard(
    staff_client: httpx2.AsyncClient,
) -> None:
    response = await staff_client.get("/admin/login")
    assert response.status_code == 303 and response.headers["location"] == "/admin/"


async def test_outdated_hash_is_upgraded_at_login(client: httpx2.AsyncClient, db: str) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    staff = await create_staff("old@example.jp", PASSWORD)
    await StaffUser.filter(id=staff.id).update(password_hash=weak)
    assert (await login(client, "old@example.jp", PASSWORD)).status_code == 303
    upgraded = (await StaffUser.get(id=staff.id)).password_hash
    assert upgraded != weak and upgraded.startswith("$argon2id$")
