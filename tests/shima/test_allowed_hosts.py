"""The Host check: a request naming another host is refused before any redirect or page is
built from it; allowed hosts come from SHIMA_ALLOWED_HOSTS, required with a real channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from shima.app import create_app
from shima.middleware import HSTS, host_allowed
from shima.settings import SIMULATOR_HOSTS, Settings, SettingsError, load_settings

REAL_CHANNEL = {
    "LINE_CHANNEL_SECRET": "s",
    "LINE_CHANNEL_ACCESS_TOKEN": "t",
    "SECRET_KEY": "k",
}


@pytest.fixture
async def office_client(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(
        settings.with_overrides(allowed_hosts=("line.amami-freelance.jp", "*.shima.example")),
        init_db=False,
    )
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(
        transport=transport, base_url="https://line.amami-freelance.jp"
    ) as c:
        yield c


async def test_an_unknown_host_gets_a_japanese_400_and_no_redirect(
    office_client: httpx2.AsyncClient,
) -> None:
    response = await office_client.get("/admin", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "このホスト名ではアクセスできません" in response.text
    assert "evil.example" not in response.text
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_configured_host_is_served(office_client: httpx2.AsyncClient) -> None:
    response = await office_client.get("/admin")
    assert response.status_code in (301, 302, 303, 307)
    assert response.headers["location"].startswith("https://line.amami-freelance.jp/")
    login = await office_client.get("/admin/login", headers={"host": "admin.shima.example:443"})
    assert login.status_code == 200


async def test_health_check_answers_whatever_the_host(office_client: httpx2.AsyncClient) -> None:
    response = await office_client.get("/healthz", headers={"host": "10.0.3.7:8000"})
    assert response.status_code == 200


async def test_webhooks_are_not_refused_by_host(office_client: httpx2.AsyncClient) -> None:
    # The signature authenticates a webhook; a bad one is still a 400 for that reason.
    response = await office_client.post(
        "/callback", content=b"{}", headers={"host": "10.0.3.7", "x-line-signature": "x"}
    )
    assert response.status_code in (400, 401, 403)
    assert "このホスト名" not in response.text


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("line.amami-freelance.jp", True),
        ("LINE.Amami-Freelance.JP.", True),
        ("line.amami-freelance.jp:8443", True),
        ("a.shima.example", True),
        ("shima.example", False),
        ("evil.example", False),
        ("line.amami-freelance.jp.evil.example", False),
        ("", False),
    ],
)
def test_host_matching(host: str, ok: bool) -> None:
    assert host_allowed(host, ("line.amami-freelance.jp", "*.shima.example")) is ok


def test_ipv6_and_wildcard() -> None:
    assert host_allowed("[::1]:8000", SIMULATOR_HOSTS)
    assert host_allowed("anything", ("*",))


def test_a_real_channel_needs_allowed_hosts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in REAL_CHANNEL.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SHIMA_ALLOWED_HOSTS", raising=False)
    with pytest.raises(SettingsError, match="SHIMA_ALLOWED_HOSTS"):
        load_settings()
    monkeypatch.setenv("SHIMA_ALLOWED_HOSTS", " line.amami-freelance.jp , Admin.Example.jp ")
    assert load_settings().allowed_hosts == ("line.amami-freelance.jp", "admin.example.jp")


def test_the_simulator_answers_on_this_machine_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [*REAL_CHANNEL, "SHIMA_ALLOWED_HOSTS"]:
        monkeypatch.delenv(name, raising=False)
    assert load_settings().allowed_hosts == SIMULATOR_HOSTS


async def test_hsts_only_behind_https(settings: Settings) -> None:
    for secure in (True, False):
        app = create_app(settings.with_overrides(secure_cookies=secure), init_db=False)
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for path in ("/admin/login", "/healthz", "/static/admin/admin.css"):
                response = await c.get(path)
                assert (response.headers.get(HSTS[0]) == HSTS[1]) is secure, (path, secure)
