"""The simulator in a real browser against `shima serve` in simulator mode (no LINE
credentials): follow, tap the rich menu, type a message, switch users — with no script
errors or CSP violations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS, shima_server, watch_for_problems


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`shima migrate` then `shima serve` in simulator mode, on a free port."""
    with shima_server(tmp_path) as base:
        yield base


async def _bot_bubbles(page: Page) -> int:
    return await page.locator(".row--bot").count()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
async def test_simulator_conversation(server: str) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, locale="ja-JP"
            )
            page = await context.new_page()
            problems = await watch_for_problems(page)
            response = await page.goto(server + "/simulator/")
            # Served under the app's CSP, so the ES modules and everything they draw must
            # keep to it (a violation is one of the problems asserted empty at the end).
            assert response and "script-src 'self'" in response.headers["content-security-policy"]

            # Not a friend yet: only the follow card.
            gate = page.locator("#gate")
            await expect(gate).to_be_visible()
            await expect(page.locator("#acting-as")).to_contain_text("奄美 花子")
            await page.click("#gate-follow")
            await expect(page.locator(".system")).to_contain_text("友だち追加しました")
            await expect(page.locator(".row--bot").first).to_be_visible(timeout=10_000)
            await expect(gate).to_be_hidden()

            # The rich menu: six tap areas over the image; a tap shows the displayText and
            # brings an answer.
            areas = page.locator(".richmenu__area")
            await expect(areas).to_have_count(6)
            before = await _bot_bubbles(page)
            await areas.first.click()
            await expect(page.locator(".row--me .bubble").last).to_have_text("相談予約")
            await expect(page.locator(".row--bot").nth(before)).to_be_visible(timeout=10_000)

            # Keyboard mode: type and send with Enter.
            await page.click("#to-keyboard")
            await page.fill("#text", "こんにちは<b>")
            await page.press("#text", "Enter")
            await expect(page.locator(".row--me .bubble").last).to_have_text("こんにちは<b>")
            await expect(page.locator(".row--me .bubble b")).to_have_count(0)

            # Another resident has their own conversation.
            await page.click("#open-panel")
            await page.get_by_role("button", name="名瀬 太郎").click()
            await expect(page.locator("#acting-as")).to_contain_text("名瀬 太郎")
            await expect(gate).to_be_visible()
            await expect(page.locator(".row--me")).to_have_count(0)

            assert problems == []
        finally:
            await browser.close()
