"""The admin in a real browser (Debian's chromium via Playwright): sign in through the form,
see the dashboard, with the CSS applied and no CSP violations."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import async_playwright

from line_app.fake_line import serve_on_loopback
from models.outbox import OutboxMessage, OutboxStatus
from models.residents import Resident
from models.staff import StaffUser
from shima.app import create_app
from shima.settings import Settings
from shima.timeutil import now
from tests.admin.conftest import PASSWORD, STAFF_EMAIL
from tests.browser import CHROMIUM, CHROMIUM_ARGS


@pytest.mark.browser
async def test_sign_in_and_see_the_dashboard(settings: Settings, staff_user: StaffUser) -> None:
    for i, name in enumerate(["島 花子", "奄美 太郎", "<script>alert(1)</script>"]):
        await Resident.create(line_user_id=f"U{i:032d}", display_name=name, first_followed_at=now())
    await OutboxMessage.create(
        line_user_id="U" + "0" * 32,
        messages=[{"type": "text", "text": "ご予約を承りました"}],
        retry_key=str(uuid.uuid4()),
        status=OutboxStatus.DEAD,
        next_attempt_at=now(),
        last_error="HTTP 500",
    )
    app = create_app(settings, init_db=False)
    async with serve_on_loopback(app) as base_url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="ja-JP"
            )
            page = await context.new_page()
            problems: list[str] = []
            # CSP violations and script errors surface as console errors. The failed login's
            # 400 answer is expected and is the only "failed to load" allowed.
            page.on(
                "console",
                lambda m: (
                    problems.append(m.text)
                    if m.type == "error" and "status of 400" not in m.text
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))

            await page.goto(f"{base_url}/admin/residents")
            assert page.url.startswith(f"{base_url}/admin/login?next=")
            await page.screenshot(path="/tmp/admin-login.png")
            await page.fill("#email", STAFF_EMAIL)
            await page.fill("#password", "wrong-password!")
            await page.click("button[type=submit]")
            await page.wait_for_selector(".alert-error")
            assert "正しくありません" in await page.inner_text(".alert-error")

            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base_url}/admin/residents")
            assert await page.locator("text=<script>alert(1)</script>").count() == 1
            await page.screenshot(path="/tmp/admin-residents.png", full_page=True)
            await page.click("table >> text=島 花子")
            await page.wait_for_selector("h1:has-text('島 花子')")
            await page.screenshot(path="/tmp/admin-resident.png", full_page=True)
            await page.click("nav >> text=未配信メッセージ")
            await page.wait_for_selector("text=ご予約を承りました")
            await page.screenshot(path="/tmp/admin-undelivered.png", full_page=True)

            await page.click("nav >> text=ダッシュボード")
            await page.wait_for_url(f"{base_url}/admin/")
            assert await page.inner_text("h1") == "ダッシュボード"
            assert "島 花子" in await page.inner_text(".account")
            # The vendored stylesheet applied (the CSP allows 'self' files only).
            sidebar_bg = await page.eval_on_selector(
                ".sidebar", "el => getComputedStyle(el).backgroundColor"
            )
            assert sidebar_bg == "rgb(20, 58, 69)"
            await page.screenshot(path="/tmp/admin-dashboard.png", full_page=True)

            await page.set_viewport_size({"width": 820, "height": 1180})  # tablet portrait
            await page.screenshot(path="/tmp/admin-dashboard-tablet.png", full_page=True)

            await page.click("text=ログアウト")
            await page.wait_for_url(f"{base_url}/admin/login?logged_out=1")
            assert problems == []
        finally:
            await browser.close()
