"""ハンドメイドマーケット in a real browser (Debian's chromium): staff open the review screen and
see the artists' thumbnails, accept one application and turn another down, send the results
(the cost shown first), and the pushes are recorded at the fake LINE platform — the accepted
artist's with the fee and the staff's message. Then a booth number is saved on the booths
page and the printable list shows it. No script error or CSP violation on the way."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from PIL import Image
from playwright.async_api import Page, async_playwright, expect

from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform, serve_on_loopback
from models.market import ApplicationStatus, Market, MarketApplication, MarketPhoto, MarketStatus
from models.residents import Resident
from models.staff import StaffUser
from shima.app import create_app
from shima.settings import Settings
from shima.timeutil import now, today_jst
from shima.worker import Worker
from tests.admin.conftest import PASSWORD, STAFF_EMAIL
from tests.browser import CHROMIUM, CHROMIUM_ARGS, watch_for_problems
from tests.line_app.test_course_offers import pushes, shown

DESKTOP = {"width": 1280, "height": 900}
NO_SIDEWAYS = "document.documentElement.scrollWidth <= innerWidth"
MESSAGE = "たくさんのご応募ありがとうございました。搬入は当日 9:00 からです。"


def jpeg(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=80)
    return out.getvalue()


async def market_with_applications(
    fake: FakeLinePlatform,
) -> tuple[Market, list[MarketApplication]]:
    """A market whose window closed yesterday, two artists with two photos each."""
    start = now() + timedelta(days=14)
    market = await Market.create(
        name="あまみハンドメイドマーケット 春",
        starts_at=start,
        ends_at=start + timedelta(hours=6),
        venue="AiAi ひろば",
        applications_open_at=now() - timedelta(days=20),
        applications_close_at=now() - timedelta(days=1),
        booths=10,
        booth_fee=2500,
        fee_due_on=today_jst() + timedelta(days=7),
        status=MarketStatus.CLOSED,
    )
    apps = []
    for i, (user, name, colour) in enumerate(
        (("Uhanako", "奄美 花子", (200, 80, 60)), ("Uichiro", "名瀬 一郎", (40, 120, 200)))
    ):
        fake.add_user(user, name)
        who = await Resident.create(line_user_id=user, display_name=name)
        app = await MarketApplication.create(
            market=market,
            resident=who,
            status=ApplicationStatus.SUBMITTED,
            artist_name=f"{name.split()[1]}の器",
            category="陶芸",
            items="島の土で焼いたマグカップと小皿",
            booths_requested=1,
            submitted_at=now() - timedelta(days=3 - i),
            request_key=uuid.uuid4().hex,
        )
        for n in range(2):
            await MarketPhoto.create(
                line_message_id=f"{user}-{n}",
                resident=who,
                application=app,
                data=jpeg(colour, (800, 600)),
                thumb=jpeg(colour, (320, 240)),
                width=800,
                height=600,
                size=1000,
            )
        apps.append(app)
    return market, apps


async def sign_in(page: Page, base_url: str, next_path: str) -> None:
    await page.goto(f"{base_url}/admin/login?next={next_path}")
    await page.fill("#email", STAFF_EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}{next_path}")


@pytest.mark.browser
async def test_staff_review_accept_and_send_results_the_push_arrives(
    settings: Settings, fake_line: FakeLinePlatform, staff_user: StaffUser
) -> None:
    market, (hanako, ichiro) = await market_with_applications(fake_line)
    review = f"/admin/market/{market.id}/review"
    app = create_app(settings, init_db=False)
    async with serve_on_loopback(app) as base_url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=DESKTOP, locale="ja-JP")
            page = await context.new_page()
            problems = await watch_for_problems(page)
            await sign_in(page, base_url, review)

            # The thumbnails are there and loaded (served to the signed-in staff).
            card = page.locator(f"#a{hanako.id}")
            thumbs = card.locator("img")
            await expect(thumbs).to_have_count(2)
            for i in range(2):
                await thumbs.nth(i).scroll_into_view_if_needed()
                await expect(thumbs.nth(i)).to_have_js_property("complete", True)
                assert await thumbs.nth(i).evaluate("img => img.naturalWidth") == 320

            # Accept 花子, turn 一郎 down.
            await card.get_by_role("button", name="採択", exact=True).click()
            await page.wait_for_load_state()
            await expect(page.locator(f"#a{hanako.id} [aria-pressed=true]")).to_contain_text("採択")
            other = page.locator(f"#a{ichiro.id}")
            await other.get_by_role("button", name="不採択", exact=True).click()
            await page.wait_for_load_state()
            await expect(page.locator(f"#a{ichiro.id} [aria-pressed=true]")).to_contain_text(
                "不採択"
            )

            # 結果を通知: the cost first, then the send.
            await page.goto(f"{base_url}/admin/market/{market.id}/results")
            assert "2通" in (await page.text_content("#cost") or "")
            await page.fill("#body", MESSAGE)
            await page.get_by_role("button", name="送信内容を確認する").click()
            await page.wait_for_selector("text=2通を送信する")
            await page.screenshot(path="/tmp/admin-market-results-confirm.png", full_page=True)
            assert "月間の送信数を 2通 使います" in (await page.text_content("#cost") or "")
            await page.get_by_role("button", name="2通を送信する").click()
            await page.wait_for_selector("text=結果を LINE で通知しました。")
            assert "（2通）" in (await page.text_content("[role=status]") or "")
            await page.screenshot(path="/tmp/admin-market-results.png", full_page=True)

            # The worker delivers: each artist's push is at the platform, once.
            line = LineClient(settings)
            try:
                await Worker(settings, line).drain()
            finally:
                await line.close()
            [accepted] = pushes(fake_line, "Uhanako", "出店決定のお知らせ")
            assert MESSAGE in shown(accepted) and "2,500円" in shown(accepted)
            [rejected] = pushes(fake_line, "Uichiro", "選考結果のお知らせ")
            assert MESSAGE in shown(rejected)
            assert len(fake_line.deliveries) == 2

            # A booth number, then the printable list.
            await page.goto(f"{base_url}/admin/market/{market.id}/booths")
            await page.fill(f"#booth_{hanako.id}", "A-1")
            await page.get_by_role("button", name="ブース番号をまとめて保存").click()
            await page.wait_for_selector("text=ブース番号を保存しました。")
            await page.screenshot(path="/tmp/admin-market-booths.png", full_page=True)
            await page.get_by_role("link", name="印刷用のブース一覧").click()
            await page.wait_for_selector(".booth-print-table")
            row = page.locator(".booth-print-table tbody tr").first
            assert "A-1" in (await row.text_content() or "")
            assert "花子の器" in (await row.text_content() or "")
            # 「印刷する」 opens the print dialog (static/admin/print.js, shared with the
            # yearly KPI report).
            await page.evaluate(
                "() => { window.printed = 0; window.print = () => window.printed++; }"
            )
            await page.get_by_role("button", name="印刷する").click()
            assert await page.evaluate("window.printed") == 1
            await page.emulate_media(media="print")
            assert await page.locator(".sidebar").is_hidden()
            assert await page.get_by_role("button", name="印刷する").is_hidden()
            await page.emulate_media(media="screen")
            await page.screenshot(path="/tmp/admin-market-booth-list.png", full_page=True)

            # The pages fit a tablet and a phone (no sideways scrolling).
            mine = ("results", "booths", "booths/print")
            for width, height in ((820, 1180), (390, 844)):
                await page.set_viewport_size({"width": width, "height": height})
                for part in mine:
                    await page.goto(f"{base_url}/admin/market/{market.id}/{part}")
                    assert await page.evaluate(NO_SIDEWAYS), f"{part} at {width}px"
                    name = part.replace("/", "-")
                    await page.screenshot(
                        path=f"/tmp/admin-market-{name}-{width}.png", full_page=True
                    )
            await page.goto(f"{base_url}/admin/residents/{hanako.resident_id}")
            assert await page.evaluate(NO_SIDEWAYS)
            assert "採択" in (await page.text_content("#market") or "")
            assert problems == []
        finally:
            await browser.close()
    told = await MarketApplication.filter(market_id=market.id).order_by("id")
    assert [a.status for a in told] == [ApplicationStatus.ACCEPTED, ApplicationStatus.REJECTED]
    assert all(a.result_notified_at is not None for a in told)
    assert told[0].booth_number == "A-1"
