"""お知らせ配信 in a real browser (Debian's chromium): staff compose with JS — {名前} put in by
its button, the count following the audience builder as a tag is ticked, a picture and a
card —, save, read the preview and the cost, send now through the confirmation, and the
worker's multicast reaches the two residents at the fake LINE platform. The compose page,
the announcement's page and the confirmation fit 1280, 820 and 390 px (screenshots under
/tmp/team/shots/); no script error or CSP violation on the way."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Page, async_playwright, expect

from line_app.announcements import run_once
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform, serve_on_loopback
from models.announcements import Announcement, AnnouncementStatus
from models.staff import StaffUser
from shima.app import create_app
from shima.settings import Settings
from tests.admin.conftest import PASSWORD, STAFF_EMAIL
from tests.browser import CHROMIUM, CHROMIUM_ARGS, watch_for_problems
from tests.shima.domain.test_segments import Town, town

__all__ = ["town"]  # the hand-built town of test_segments (5 reachable residents)

SHOTS = Path("/tmp/team/shots")
WIDTHS = (1280, 820, 390)
NO_SIDEWAYS = "document.documentElement.scrollWidth <= innerWidth"


def picture(path: Path) -> Path:
    image = Image.new("RGB", (1200, 800), (40, 120, 160))
    image.paste((240, 200, 80), (0, 500, 1200, 800))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


async def sign_in(page: Page, base_url: str, next_path: str) -> None:
    await page.goto(f"{base_url}/admin/login?next={next_path}")
    await page.fill("#email", STAFF_EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}{next_path}")


async def shoot(page: Page, name: str) -> None:
    """The page at each width: it fits (no sideways scrolling) and is saved to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        assert await page.evaluate(NO_SIDEWAYS), f"{name} at {width}px scrolls sideways"
        await page.screenshot(path=str(SHOTS / f"announce-{name}-{width}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.browser
async def test_compose_with_the_live_count_preview_and_send(
    settings: Settings,
    fake_line: FakeLinePlatform,
    staff_user: StaffUser,
    town: Town,
    tmp_path: Path,
) -> None:
    fake_line.quota_limit, fake_line.quota_used = 1000, 120
    for name in ("hanako", "jiro"):
        fake_line.add_user(town.people[name].line_user_id, name)
    app = create_app(settings, init_db=False)
    line = LineClient(settings)
    app.state.line = line  # what the lifespan does (served here without it)
    async with serve_on_loopback(app) as base_url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="ja-JP"
            )
            page = await context.new_page()
            problems = await watch_for_problems(page)
            await sign_in(page, base_url, "/admin/announcements/new")

            # The text, with {名前} put in by its button where the cursor is.
            await page.fill("#title", "12月の寺子屋（託児つき）のご案内")
            await page.fill("#body", "さん、こんにちは。\n12月の寺子屋は託児つきです。")
            await page.locator("#body").evaluate("el => el.setSelectionRange(0, 0)")
            await page.get_by_role("button", name="{名前} を入れる").click()
            assert (await page.input_value("#body")).startswith("{名前}さん、こんにちは。")

            # The count follows the builder (the 人数を確認 button is for pages without JS).
            count = page.locator("[data-count]")
            await expect(count).to_have_text("5人")
            assert await page.locator("[data-count-button]").is_hidden()
            conditions = page.locator(".audience-conditions")
            assert await conditions.is_hidden()  # すべての友だち
            await page.get_by_label("条件で絞り込む").check()
            await expect(conditions).to_be_visible()
            await page.locator("input[name=tag][value='講師']").check()
            await expect(count).to_have_text("2人")
            # The count stays in sight above the save bar while conditions are ticked.
            box = await page.locator(".audience-count").bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "announce-compose-ticked-1280.png"))
            await page.select_option("#cond-children", "yes")
            await expect(count).to_have_text("1人")
            await page.select_option("#cond-children", "")
            await expect(count).to_have_text("2人")

            # A picture and a card.
            await page.set_input_files("#image", str(picture(tmp_path / "terakoya.jpg")))
            await page.fill("#card_title", "12月の寺子屋")
            await page.fill("#card_text", "12/14(日) 10:00〜 AiAi ひろば。託児は先着5名です。")
            await page.fill("#card_label", "申し込む")
            await page.fill("#card_url", "https://example.jp/terakoya/12")
            await shoot(page, "compose")

            await page.get_by_role("button", name="下書きを保存").click()
            await page.wait_for_selector("text=下書きを保存しました。")
            a = await Announcement.get(title="12月の寺子屋（託児つき）のご案内")
            assert page.url.endswith(f"/admin/announcements/{a.id}?done=created")

            # The preview as LINE shows it, the audience and the cost.
            bubble = page.locator(".line-bubble")
            await expect(bubble).to_contain_text("（利用者の名前）さん、こんにちは。")
            image = page.locator(".line-image")
            await expect(image).to_have_js_property("complete", True)
            assert await image.evaluate("img => img.naturalWidth") == 480
            await expect(page.locator(".line-card-button")).to_have_text("申し込む")
            assert "いま届く人数: 2人" in (await page.text_content(".audience-total") or "")
            total = page.locator(".cost-total dd")
            await expect(total).to_have_text("6通")  # text, picture, card × 2
            assert "880通" in (await page.text_content(".cost-figures") or "")
            await shoot(page, "page")

            # 今すぐ配信 → the confirmation restates count and cost → sent.
            await page.get_by_role("button", name="今すぐ配信…").click()
            await page.wait_for_selector("text=配信の確認")
            assert "2人に、6通" in (await page.text_content(".confirm-summary") or "")
            await shoot(page, "confirm")
            await page.get_by_role("button", name="2人に6通を配信する").click()
            await page.wait_for_selector("text=配信を受け付けました。")
            assert (await Announcement.get(id=a.id)).status == AnnouncementStatus.SCHEDULED

            # The worker: a personalised text goes by push, one resident at a time.
            while await run_once(line, settings, "browser-test"):
                pass
            sent = await Announcement.get(id=a.id)
            assert (sent.status, sent.recipients, sent.delivered) == (
                AnnouncementStatus.SENT,
                2,
                2,
            )
            got = {d.user_id: d for d in fake_line.deliveries}
            assert set(got) == {town.people[n].line_user_id for n in ("hanako", "jiro")}
            first = got[town.people["hanako"].line_user_id].messages
            assert first[0]["text"].startswith("hanakoさん、こんにちは。")
            assert [m["type"] for m in first] == ["text", "image", "flex"]
            await page.goto(f"{base_url}/admin/announcements/{a.id}")
            await expect(page.locator(".announce-figures")).to_contain_text("配信済み")
            await shoot(page, "sent")
            await page.goto(f"{base_url}/admin/announcements")
            await shoot(page, "list")
            assert problems == []
        finally:
            await browser.close()
            await line.close()
