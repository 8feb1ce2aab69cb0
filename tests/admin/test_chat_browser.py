"""チャット in a real browser (Debian's chromium): the demo conversations at desktop and phone
width with no sideways scrolling, a new message appearing by polling, no CSP violations."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from admin.chat import demo
from line_app.fake_line import serve_on_loopback
from models.chat import ChatKind, ChatMessage, ChatThread, Direction, Sender
from models.residents import Resident
from models.staff import StaffUser
from shima.app import create_app
from shima.settings import Settings
from shima.timeutil import now
from tests.admin.conftest import PASSWORD, STAFF_EMAIL
from tests.browser import CHROMIUM, CHROMIUM_ARGS, watch_for_problems

NO_SIDEWAYS = "document.documentElement.scrollWidth <= innerWidth"


@pytest.mark.browser
async def test_chat_pages_fit_desktop_and_phone_and_poll(
    settings: Settings, staff_user: StaffUser
) -> None:
    assert "チャット 2件" in await demo.seed_demo()
    resident = await Resident.get(line_user_id=demo.DEMO[0][0])
    await ChatMessage.create(
        resident_id=resident.id,
        direction=Direction.IN,
        sender=Sender.RESIDENT,
        kind=ChatKind.TEXT,
        text="とても長い英数字の文字列" + "https://example.jp/" + "a" * 300,
    )
    app = create_app(settings, init_db=False)
    async with serve_on_loopback(app) as base_url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="ja-JP"
            )
            page = await context.new_page()
            problems = await watch_for_problems(page)
            await page.goto(f"{base_url}/admin/login?next=/admin/chat")
            await page.fill("#email", STAFF_EMAIL)
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base_url}/admin/chat")
            assert await page.locator(".chat-unread").count() == 1  # 奄美 はるか: 未読 2
            for width, height in ((1280, 800), (390, 844)):
                await page.set_viewport_size({"width": width, "height": height})
                await page.goto(f"{base_url}/admin/chat")
                assert await page.evaluate(NO_SIDEWAYS), f"/admin/chat at {width}px"
                await page.screenshot(path=f"/tmp/admin-chat-{width}.png", full_page=True)
                await page.goto(f"{base_url}/admin/chat/{resident.id}")
                await page.wait_for_selector(".chat-msg-in")
                assert await page.evaluate(NO_SIDEWAYS), f"conversation at {width}px"
                await page.screenshot(path=f"/tmp/admin-chat-talk-{width}.png", full_page=True)
                await page.goto(f"{base_url}/admin/chat/replies")
                assert await page.evaluate(NO_SIDEWAYS), f"定型文 at {width}px"

            await page.goto(f"{base_url}/admin/chat/{resident.id}")
            await page.wait_for_selector(".chat-msg-in")
            await ChatMessage.create(
                resident_id=resident.id,
                direction=Direction.IN,
                sender=Sender.RESIDENT,
                kind=ChatKind.TEXT,
                text="ポーリングで届いたメッセージ",
            )
            await ChatThread.filter(resident_id=resident.id).update(last_message_at=now())
            await page.wait_for_selector("text=ポーリングで届いたメッセージ", timeout=10_000)
            # A saved reply fills the text box, to be edited before sending.
            await page.select_option("#saved_reply", label="受付のお礼")
            assert "ご連絡ありがとうございます" in await page.input_value("#body")
            assert problems == []
        finally:
            await browser.close()
