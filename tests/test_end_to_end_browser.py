"""End to end in chromium against `shima serve` as `make run` starts it: a resident follows and
books a consultation in the simulator; staff log into the admin and find them and the booking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS, shima_server, watch_for_problems

PASSWORD = "correct horse battery staple"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    setup = (["migrate"], ["seed-demo"], ["create-staff", "desk@example.jp", "--name", "窓口"])
    with shima_server(tmp_path, setup, SHIMA_PASSWORD=PASSWORD) as base:
        yield base


async def tap(page: Page, label: str) -> None:
    """Tap the newest button or quick reply with this label, and wait for the answer."""
    bots = await page.locator(".row--bot").count()
    await page.get_by_role("button", name=label, exact=True).last.click()
    await expect(page.locator(".row--bot").nth(bots)).to_be_visible(timeout=10_000)


@pytest.mark.browser
@pytest.mark.slow
async def test_resident_books_in_simulator_and_staff_see_it(served: str) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
            problems = await watch_for_problems(page)

            await page.goto(served + "/simulator/")
            await page.click("#gate-follow")
            greeting = page.locator(".row--bot").first
            await expect(greeting).to_contain_text("奄美 花子さん、友だち追加ありがとうございます")
            await expect(page.locator(".row--bot").nth(1)).to_contain_text("個人情報の取り扱い")

            await tap(page, "相談予約")  # the greeting's quick reply
            await tap(page, "子育てと仕事の両立")
            await page.locator("#quick button").first.click()  # the first free day
            await expect(page.locator(".row--bot").last).to_contain_text("時間をお選びください")
            await page.locator("#quick button").first.click()  # the first free time
            await expect(page.locator(".row--bot").last).to_contain_text("方法をお選びください")
            await tap(page, "オンライン")
            await tap(page, "スキップ")
            await expect(page.locator(".row--bot").last).to_contain_text("この内容で予約しますか")
            await tap(page, "予約を確定する")
            await expect(page.locator(".row--bot").last).to_contain_text("ご予約を承りました")

            await page.goto(served + "/admin/")
            await expect(page).to_have_url(served + "/admin/login?next=%2Fadmin%2F")
            await page.fill("input[name=email]", "desk@example.jp")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await expect(page.locator("h1")).to_contain_text("ダッシュボード")
            await page.goto(served + "/admin/residents")
            await expect(page.locator("main")).to_contain_text("奄美 花子")
            await page.goto(served + "/admin/consult/bookings")
            await expect(page.locator("main")).to_contain_text("奄美 花子")
            await expect(page.locator("main")).to_contain_text("子育てと仕事の両立")
            assert problems == []
        finally:
            await browser.close()
