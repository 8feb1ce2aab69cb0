"""当日の出欠 in a real browser (Debian's chromium) on a tablet: staff tap 出席 / 欠席 /
取り消す, the running count follows without a reload, a walk-in is added, the same page
works without JavaScript, and the resident's page shows 出席. The roster and attendance
pages fit 1280, 820 and 390 px with no sideways scrolling and no CSP violation."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from playwright.async_api import Page, async_playwright, expect
from tortoise.transactions import in_transaction

from line_app.fake_line import serve_on_loopback
from models.course import (
    Attendance,
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    SessionStatus,
)
from models.residents import Resident
from models.staff import StaffUser
from shima.app import create_app
from shima.domain import course as rules
from shima.settings import Settings
from shima.timeutil import now
from tests.admin.conftest import PASSWORD, STAFF_EMAIL
from tests.browser import CHROMIUM, CHROMIUM_ARGS, watch_for_problems

NO_SIDEWAYS = "document.documentElement.scrollWidth <= innerWidth"
TABLET = {"width": 820, "height": 1180}
NAMES = ("奄美 花子", "喜界 一郎", "徳之島 さくら（とても長いお名前の参加者・デザイナー）")


async def starting_soon() -> tuple[ProgrammeSession, list[Registration]]:
    """A 交流会 starting in 10 minutes (check-in open), three registered, one with 託児."""
    programme = await Programme.create(kind=ProgrammeKind.MEETUP, title="島フリーランス交流会")
    start = now() + timedelta(minutes=10)
    session = await ProgrammeSession.create(
        programme=programme,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        seats=3,
        childcare_places=2,
        deadline=start,
        status=SessionStatus.PUBLISHED,
    )
    regs = []
    for i, name in enumerate(NAMES):
        who = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name)
        async with in_transaction():
            outcome = await rules.register(
                who,
                rules.SignUp(session.id, children=1 if i == 0 else 0, children_ages="4歳"),
                Settings(),
            )
        assert outcome.registration is not None
        regs.append(outcome.registration)
    return session, regs


async def sign_in(page: Page, base_url: str, next_path: str) -> None:
    await page.goto(f"{base_url}/admin/login?next={next_path}")
    await page.fill("#email", STAFF_EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}{next_path}")


async def present_count(page: Page) -> str:
    return (await page.text_content("#att-count [data-count=present]") or "").strip()


@pytest.mark.browser
async def test_staff_mark_attendance_on_a_tablet(settings: Settings, staff_user: StaffUser) -> None:
    session, regs = await starting_soon()
    path = f"/admin/programmes/sessions/{session.id}/attendance"
    roster = f"/admin/programmes/sessions/{session.id}/registrations"
    app = create_app(settings, init_db=False)
    async with serve_on_loopback(app) as base_url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=TABLET, locale="ja-JP", has_touch=True)
            page = await context.new_page()
            problems = await watch_for_problems(page)
            await sign_in(page, base_url, path)
            assert await present_count(page) == "0"
            assert (await page.text_content("#att-count [data-count=total]") or "") == "3"

            first = page.locator(f"#r{regs[0].id}")
            await first.get_by_role("button", name="出席").tap()
            await expect(page.locator("#att-count [data-count=present]")).to_have_text("1")
            assert page.url == f"{base_url}{path}"  # updated in place, no reload
            assert (
                await first.get_by_role("button", name="出席").get_attribute("aria-pressed")
                == "true"
            )
            assert "出席" in (await first.locator("[data-state]").text_content() or "")

            second = page.locator(f"#r{regs[1].id}")
            await second.get_by_role("button", name="欠席").tap()
            await expect(page.locator("#att-count [data-count=absent]")).to_have_text("1")
            await second.get_by_role("button", name="取り消す").tap()  # undo
            await expect(page.locator("#att-count [data-count=absent]")).to_have_text("0")
            assert await second.get_by_role("button", name="取り消す").is_hidden()

            # A walk-in at the door (the seats are full: staff say to go beyond them).
            await page.fill("#walk-in-name", "当日 参加子")
            await page.check("input[name=beyond_capacity]")
            await page.get_by_role("button", name="追加して出席にする").tap()
            await page.wait_for_selector("text=当日参加の方を追加し、出席にしました。")
            assert await present_count(page) == "2"
            assert (await page.text_content("#att-count [data-count=total]") or "") == "4"
            assert await page.evaluate(NO_SIDEWAYS)
            await page.screenshot(path="/tmp/admin-attendance-tablet.png", full_page=True)

            # The resident's page shows it.
            await page.goto(f"{base_url}/admin/residents/{regs[0].resident_id}")
            section = page.locator("#programmes")
            assert "出席" in (await section.text_content() or "")
            assert "島フリーランス交流会" in (await section.text_content() or "")

            # Without JavaScript the same buttons are plain forms that come back to the row.
            plain = await browser.new_context(
                viewport=TABLET, locale="ja-JP", java_script_enabled=False
            )
            nojs = await plain.new_page()
            await sign_in(nojs, base_url, path)
            await nojs.locator(f"#r{regs[2].id}").get_by_role("button", name="出席").click()
            await nojs.wait_for_url(f"{base_url}{path}#r{regs[2].id}")
            assert await present_count(nojs) == "3"
            await plain.close()

            # The roster with someone waiting and an answer to the 満足度 question.
            waiting = await Resident.create(
                line_user_id="U" + uuid.uuid4().hex, display_name="待ち 次郎"
            )
            async with in_transaction():
                await rules.register(
                    waiting,
                    rules.SignUp(session.id, children=2, children_ages="2歳と6歳"),
                    Settings(),
                )
            await Registration.filter(id=regs[0].id).update(
                satisfaction=4, comment="とても参考になりました。次回も参加したいです。"
            )
            for width, height in ((1280, 900), (820, 1180), (390, 844)):
                await page.set_viewport_size({"width": width, "height": height})
                for name, target in (("attendance", path), ("roster", roster)):
                    await page.goto(base_url + target)
                    assert await page.evaluate(NO_SIDEWAYS), f"{target} at {width}px"
                    await page.screenshot(path=f"/tmp/admin-{name}-{width}.png", full_page=True)
            # The two confirmation steps of the roster, on the phone.
            await page.goto(base_url + roster)
            await page.locator("#waitlist").get_by_role("button", name="キャンセル…").click()
            await page.wait_for_selector("text=キャンセル待ちから外します。")
            assert await page.evaluate(NO_SIDEWAYS)
            await page.screenshot(path="/tmp/admin-roster-cancel-390.png", full_page=True)
            await page.get_by_role("link", name="やめる").click()
            await page.fill("#body", "会場が 2階 研修室B に変わりました。")
            await page.get_by_role("button", name="送信内容を確認する").click()
            await page.wait_for_selector("text=3通を送信する")
            assert await page.evaluate(NO_SIDEWAYS)
            await page.screenshot(path="/tmp/admin-roster-message-390.png", full_page=True)
            assert problems == []
        finally:
            await browser.close()
    marked = {r.id: r.attendance for r in await Registration.filter(session_id=session.id)}
    assert marked[regs[0].id] == Attendance.PRESENT
    assert marked[regs[1].id] == Attendance.UNKNOWN
    assert marked[regs[2].id] == Attendance.PRESENT
