"""Every admin page at phone (390 px) and tablet (820 px) width, in chromium against
`shima serve` with demo data: no page scrolls sideways, and on the phone the navigation is a
menu button (相談予約 first) that opens.

The pages are the app's own GET routes (admin.routes with the area registry), their path ids
filled from the demo data, so a page an area adds later is visited without editing this file.
With SHIMA_SCREENSHOTS=<dir> the main pages are also saved at 1280/820/390 px."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright
from starlette.routing import Route
from tortoise import Tortoise

from admin.routes import routes as admin_routes
from admin.routing import PUBLIC
from shima import areas
from shima import db as shima_db
from shima.domain import course as course_rules
from shima.settings import Settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, shima_server, watch_for_problems

if TYPE_CHECKING:
    from models.residents import Resident

EMAIL, PASSWORD = "kanri@example.jp", "umi-to-sora-2026"
LONG_NAME = "とても長いお名前の利用者さん（奄美市名瀬在住・フリーランスのデザイナー）"
EXTRA_PAGES = (  # states of listed pages worth their own look
    "/admin/consult/bookings?status=booked&from=2000-01-01",
    "/admin/audit?kind=change",
    "/admin/does-not-exist",  # the error page
)
WIDEN = """() => {
  const wide = document.createElement("div");
  wide.style.width = "2000px";  // through the CSSOM: the CSP allows it
  wide.style.height = "1px";
  document.body.append(wide);
}"""
SHOTS = (  # (name, path) at 1280/820/390 when SHIMA_SCREENSHOTS is set
    ("dashboard", "/admin/"),
    ("bookings", "/admin/consult/bookings"),
    ("booking", "/admin/consult/bookings/{booking_id}"),
    ("week", "/admin/consult/slots"),
    ("audit", "/admin/audit"),
    ("residents", "/admin/residents"),
    ("slot_new", "/admin/consult/slots/new"),
    ("markets", "/admin/market"),
    ("market", "/admin/market/{market_id}"),
    ("market_review", "/admin/market/{market_id}/review"),
    ("market_application", "/admin/market/applications/{application_id}"),
    ("market_form", "/admin/market/{market_id}/edit"),
    ("surveys", "/admin/surveys"),
    ("survey", "/admin/surveys/{survey_id}"),
    ("survey_new", "/admin/surveys/new"),
    ("survey_results", "/admin/surveys/rounds/{round_id}"),
    ("announcements", "/admin/announcements"),
    ("announcement", "/admin/announcements/{announcement_id}"),
    ("announcement_new", "/admin/announcements/new"),
)


async def add_people(database_url: str) -> dict[str, int | str]:
    """Residents with a booking, a cancelled one and an undelivered message, added to the
    served database next to `shima seed-demo`'s slots (residents arrive from LINE, not from
    the demo); returns the ids path parameters are filled with."""
    from models.chat import SavedReply
    from models.consultation import Booking, BookingStatus, ConsultationSlot, Method, Topic
    from models.course import NewsItem, ProgrammeSession, SessionStatus
    from models.outbox import OutboxMessage, OutboxStatus
    from models.residents import Resident
    from shima.timeutil import JST, now

    await shima_db.init(database_url)
    try:
        slots = await ConsultationSlot.filter(is_active=True).order_by("starts_at").limit(2)
        people = [
            await Resident.create(
                line_user_id="U" + uuid.uuid4().hex, display_name=name, first_followed_at=now()
            )
            for name in ("奄美 花子", LONG_NAME)
        ]
        bookings = []
        for slot, who, status in zip(
            slots, people, (BookingStatus.BOOKED, BookingStatus.CANCELLED), strict=True
        ):
            bookings.append(
                await Booking.create(
                    resident=who,
                    slot=slot,
                    topic=Topic.PARENTING,
                    method=Method.ONLINE,
                    status=status,
                    note="子どもを連れて伺います。資料: https://example.jp/" + "a" * 120,
                    active_key=f"{slot.id}:{who.id}" if status == BookingStatus.BOOKED else None,
                )
            )
            await ConsultationSlot.filter(id=slot.id).update(booked_count=1)
        await OutboxMessage.create(
            line_user_id=people[1].line_user_id,
            messages=[{"type": "text", "text": "ご予約を承りました。" * 10}],
            retry_key=str(uuid.uuid4()),
            status=OutboxStatus.DEAD,
            next_attempt_at=now() - timedelta(hours=1),
            last_error="HTTP 500 " + "x" * 200,
        )
        reply = await SavedReply.first()
        assert reply is not None, "shima seed-demo seeds 定型文"
        # A demo session with one resident registered (two children in 託児) and one waiting
        # (an upcoming one: the demo's past sessions hold its attendance).
        session = (
            await ProgrammeSession.filter(status=SessionStatus.PUBLISHED, starts_at__gt=now())
            .order_by("starts_at")
            .first()
        )
        assert session is not None, "shima seed-demo seeds 寺子屋・交流会 sessions"
        settings = Settings(database_url=database_url, secret_key="test")
        care = course_rules.SignUp(session.id, children=2, children_ages="3歳、5歳")
        await course_rules.register(people[0], care, settings)
        await ProgrammeSession.filter(id=session.id).update(seats=1)
        await course_rules.register(people[1], course_rules.SignUp(session.id), settings)
        news = await NewsItem.first()
        assert news is not None, "shima seed-demo seeds お知らせ"
        market_ids = await add_market(people)
        survey_ids = await add_survey()
        announcement_ids = await add_announcement()
        return {
            "slot_id": slots[0].id,
            # The week that has it (this week may have none left, e.g. on a Friday night).
            "week": slots[0].starts_at.astimezone(JST).date().isoformat(),
            "booking_id": bookings[0].id,
            "resident_id": people[0].id,
            "reply_id": reply.id,
            "session_id": session.id,
            "programme_id": session.programme_id,
            "news_id": news.id,
            **market_ids,
            **survey_ids,
            **announcement_ids,
            "name": "missing.jpg",  # a picture route: its not-found page must fit too
            "goal": 1,  # 計画の目標's people page: スキルアップ支援者数 (the demo's attendance)
        }
    finally:
        await Tortoise.close_connections()


async def add_market(people: list[Resident]) -> dict[str, int | str]:
    """A market with a long name, open for applications, with two artists' applications
    (photos, a long URL and long text, a jury note; one accepted): the review pages' cards,
    the genre balance and the results pages get real content."""
    from models.market import ApplicationStatus, MarketPhoto
    from shima.domain import market as market_rules
    from shima.timeutil import jst_datetime, now, today_jst

    day = jst_datetime(today_jst() + timedelta(days=30), time(10))
    market = await market_rules.create_market(
        market_rules.MarketSpec(
            name="あまみハンドメイドマーケット 2026 冬 〜島の作り手があつまる一日〜（名瀬）",
            starts_at=day,
            ends_at=day + timedelta(hours=6),
            venue="AiAi ひろば 多目的ホール（奄美市名瀬末広町）",
            applications_open_at=now() - timedelta(days=1),
            applications_close_at=now() + timedelta(days=10),
            booths=3,
            booth_fee=2000,
            allow_two_booths=True,
        )
    )
    await market_rules.publish(market.id)
    apps = []
    for n, who in enumerate(people):
        app = await market_rules.start(who, market.id)
        await market_rules.save(
            who,
            app.id,
            artist_name=f"{who.display_name}の工房",
            category=("アクセサリー", "木工")[n % 2],
            items="ガラスのピアス、イヤリング、帯留め。" * 6,
            booths_requested=2 if n else 1,
            needs_power=True,
            url="https://www.instagram.com/" + "amami_glass_studio_" * 3,
        )
        for color in ("#c0392b", "#2e86c1", "#27ae60"):
            out = io.BytesIO()
            Image.new("RGB", (640, 480), color).save(out, "JPEG")
            small = io.BytesIO()
            Image.new("RGB", (320, 240), color).save(small, "JPEG")
            photo = await MarketPhoto.create(
                line_message_id=uuid.uuid4().hex,
                resident=who,
                data=out.getvalue(),
                thumb=small.getvalue(),
                width=640,
                height=480,
            )
            await market_rules.attach_photo(who, app.id, photo)
        app, _ = await market_rules.submit(who, app.id, uuid.uuid4().hex)
        await market_rules.review(app.id, 1, 4, "色づかいが良い。価格帯も会場向き。" * 3)
        apps.append(app)
    await market_rules.decide(apps[0].id, ApplicationStatus.ACCEPTED, 1)
    first = await MarketPhoto.filter(application_id=apps[0].id).only("id").first()
    assert first is not None
    return {"market_id": market.id, "application_id": apps[0].id, "photo_id": first.id}


async def add_survey() -> dict[str, int | str]:
    """The standard survey and its latest round (`shima seed-demo` opens one with answers;
    made here if not), for the survey pages and a results page with charts."""
    from models.survey import SurveyRound
    from shima.domain.survey_standard import standard_survey
    from shima.timeutil import now

    survey = await standard_survey()
    round_ = await SurveyRound.filter(survey_id=survey.id).order_by("-opens_at").first()
    if round_ is None:
        round_ = await SurveyRound.create(
            survey=survey,
            title="2026年度",
            opens_at=now() - timedelta(days=1),
            closes_at=now() + timedelta(days=30),
        )
    return {"survey_id": survey.id, "round_id": round_.id}


async def add_announcement() -> dict[str, int | str]:
    """A draft お知らせ with a long title, text and a card to everyone (`shima seed-demo` may
    add one; its edit form and its page are visited either way)."""
    from models.announcements import Announcement, AnnouncementStatus

    draft = await Announcement.filter(status=AnnouncementStatus.DRAFT).first()
    if draft is None:
        draft = await Announcement.create(
            title="12月のフリーランス寺子屋（託児つき）と交流会のご案内・名瀬と笠利の2会場",
            body="{名前}さん、こんにちは。" + "12月の寺子屋は託児つきです。" * 8,
            card_title="12月の寺子屋",
            card_text="12/14(日) 10:00〜 AiAi ひろば。託児は先着5名です。",
            card_label="申し込む",
            card_url="https://example.jp/terakoya/" + "a" * 80,
            created_by=EMAIL,
        )
    return {"announcement_id": draft.id}


def admin_pages(ids: dict[str, int | str]) -> list[str]:
    """Every GET page of the admin as the app routes it, its `{name}` ids filled from `ids`."""
    pages = []
    for route in admin_routes(areas.admin_areas()):
        if not isinstance(route, Route) or "GET" not in (route.methods or set()):
            continue
        if route.name in PUBLIC:
            continue
        missing = [n for n in route.param_convertors if n not in ids]
        assert not missing, f"{route.path}: no demo id for {missing} (add it to add_people)"
        pages.append(
            "/admin"
            + str(route.url_path_for(route.name, **{n: ids[n] for n in route.param_convertors}))
        )
    return pages


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    setup = (
        ["migrate"],
        ["seed-demo"],
        ["create-staff", EMAIL, "--role", "admin", "--name", "管理 太郎"],
    )
    with shima_server(tmp_path, setup, SHIMA_PASSWORD=PASSWORD) as base:
        yield base, f"sqlite://{tmp_path / 'served.sqlite3'}"


async def sign_in(browser: Browser, base: str, width: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 900}, locale="ja-JP")
    page = await context.new_page()
    await page.goto(base + "/admin/login")
    await page.fill("#email", EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(base + "/admin/")
    return page


async def sideways(page: Page) -> int:
    """How many pixels the page scrolls sideways (0 when it fits)."""
    width: int = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return max(0, width)


async def collapsed(page: Page) -> bool:
    """The navigation is behind a visible menu button, its links hidden."""
    toggle = page.locator(".nav-toggle")
    return (
        await toggle.count() == 1
        and await toggle.is_visible()
        and not await page.locator("nav.nav a").first.is_visible()
    )


@pytest.mark.browser
@pytest.mark.slow
async def test_every_admin_page_fits_phone_and_tablet_widths(served: tuple[str, str]) -> None:
    base, database_url = served
    ids = await add_people(database_url)
    pages = admin_pages(ids)
    assert (
        "/admin/consult/slots" in pages and f"/admin/consult/bookings/{ids['booking_id']}" in pages
    )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            wide: list[str] = []
            open_nav: list[str] = []  # phone pages whose navigation is not a closed menu
            for width in (390, 820):
                page = await sign_in(browser, base, width)
                problems = await watch_for_problems(page)
                for path in [*pages, *EXTRA_PAGES]:
                    head = await page.request.get(base + path, max_redirects=0)
                    if not head.headers.get("content-type", "").startswith("text/html"):
                        continue  # a download (the CSV), not a page
                    response = await page.goto(base + path)
                    assert response is not None
                    assert response.status < 400 or path == "/admin/does-not-exist", path
                    if extra := await sideways(page):
                        wide.append(f"{width}px {path}: {extra}px too wide")
                    if width == 390 and not await collapsed(page):
                        open_nav.append(path)
                assert [p for p in problems if "status of 404" not in p] == [], width
                if width == 390:
                    await page.context.close()
            # The measure itself can fail: a page made too wide is caught.
            await page.goto(base + "/admin/")
            await page.evaluate(WIDEN)
            assert await sideways(page) > 0
            await page.context.close()
            anonymous = await browser.new_page(viewport={"width": 390, "height": 900})
            await anonymous.goto(base + "/admin/login")
            if extra := await sideways(anonymous):
                wide.append(f"390px /admin/login: {extra}px too wide")
            assert wide == []
            assert open_nav == []
        finally:
            await browser.close()


@pytest.mark.browser
@pytest.mark.slow
async def test_the_phone_menu_opens_with_consultations_first(served: tuple[str, str]) -> None:
    base, database_url = served
    ids = await add_people(database_url)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await sign_in(browser, base, 390)
            problems = await watch_for_problems(page)
            await page.goto(base + "/admin/consult/bookings")
            toggle = page.get_by_role("button", name="メニュー")
            links = page.locator("nav.nav a")
            assert await toggle.is_visible()
            assert await toggle.get_attribute("aria-expanded") == "false"
            assert not await links.first.is_visible()  # collapsed
            await toggle.click()
            assert await toggle.get_attribute("aria-expanded") == "true"
            assert await links.first.is_visible()
            assert (await links.first.inner_text()).strip() == "相談予約"
            await page.get_by_role("link", name="利用者", exact=True).click()
            await page.wait_for_url(base + "/admin/residents")
            assert not await page.locator("nav.nav a").first.is_visible()  # closed again

            # Tables are cards: each booking shows its status and counsellor with their labels.
            await page.goto(base + "/admin/consult/bookings")
            row = page.locator("table.table tbody tr:not(.section-row)").first
            box = await row.bounding_box()
            assert box is not None and box["width"] <= 390
            status = row.locator("td[data-label='状態']")
            counsellor = row.locator("td[data-label='担当']")
            assert await status.is_visible() and await counsellor.is_visible()
            label = await status.evaluate("el => getComputedStyle(el, '::before').content")
            assert "状態" in label

            # The week's slot cards use the full width.
            await page.goto(base + f"/admin/consult/slots?week={ids['week']}")
            slot = page.locator(".slot").first
            slot_box, day_box = (
                await slot.bounding_box(),
                await page.locator(".day").first.bounding_box(),
            )
            assert slot_box is not None and day_box is not None
            assert slot_box["width"] >= day_box["width"] - 40

            # On a tablet the navigation stays in view (no menu button).
            await page.set_viewport_size({"width": 820, "height": 1180})
            assert not await toggle.is_visible()
            assert await page.locator("nav.nav a").first.is_visible()
            assert problems == []

            if shots := os.environ.get("SHIMA_SCREENSHOTS"):
                await screenshots(page, base, Path(shots), ids)
        finally:
            await browser.close()


async def screenshots(page: Page, base: str, folder: Path, ids: dict[str, int | str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1280, 820, 390):
        await page.set_viewport_size({"width": width, "height": 900})
        for name, path in SHOTS:
            await page.goto(base + path.format(**ids))
            await page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        if width == 390:
            await page.goto(base + "/admin/")
            await page.get_by_role("button", name="メニュー").click()
            await page.screenshot(path=str(folder / "menu-open-390.png"))
