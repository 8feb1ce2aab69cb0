"""A survey round's results page in a real browser (Debian's chromium): the standard survey
with thirty respondents; every question's distribution is an SVG chart that is drawn and
visible, the satisfaction figures are on top, and the page fits 1280, 820 and 390 px without
scrolling sideways. The builder's 「質問欄を増やす」 adds a row in the page (its script runs
under the CSP), and a row's 表示する条件 lists the questions typed above it, unsaved. No
script error or CSP violation on the way."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, async_playwright, expect

from line_app.fake_line import serve_on_loopback
from models.staff import StaffUser
from models.survey import SurveyQuestion
from shima.app import create_app
from shima.domain import profiles
from shima.domain.survey_standard import standard_survey
from shima.settings import Settings
from tests.admin.conftest import PASSWORD, STAFF_EMAIL
from tests.browser import CHROMIUM, CHROMIUM_ARGS, watch_for_problems
from tests.shima.domain.survey_fixtures import SKIP, open_round, resident, respond

NO_SIDEWAYS = "document.documentElement.scrollWidth <= innerWidth"
SKILLS = list(profiles.SKILLS)
RESIDENCY = list(profiles.RESIDENCY)
BANDS = list(profiles.INCOME_BANDS)


async def answered_standard_round() -> int:
    """Thirty respondents of the standard survey (answers spread over every value)."""
    survey = await standard_survey()
    q = list(await SurveyQuestion.filter(survey_id=survey.id).order_by("position"))
    round_ = await open_round(survey, "2026年度")
    for n in range(30):
        residency = RESIDENCY[n % 3]
        who = await resident(
            f"回答者{n}",
            raising_children=n % 2 == 0,
            side_job=n % 3 == 0,
            residency=residency,
            skills=[SKILLS[n % len(SKILLS)], SKILLS[(n + 3) % len(SKILLS)]],
        )
        income = n % 4 != 0
        answers: dict[SurveyQuestion, object] = {
            q[0]: 1 + n % 5,
            q[1]: 1 + (n * 2) % 5,
            q[2]: (3, 4, 5, 4, 2)[n % 5],
            q[3]: n % 11,
            q[4]: (n * 3) % 11,
            q[5]: income,
        }
        if income:
            answers[q[6]] = BANDS[n % len(BANDS)] if n % 7 else SKIP
        answers.update({q[7]: n % 2 == 0, q[8]: n % 3 == 0, q[9]: residency})
        if residency == "migrant":
            answers[q[10]] = 2015 + n % 10
        answers[q[11]] = [SKILLS[n % len(SKILLS)], SKILLS[(n + 3) % len(SKILLS)]]
        answers[q[12]] = f"島での暮らしについてのご意見その{n}。" * (1 + n % 3) if n % 4 else SKIP
        await respond(round_, who, answers, completed=n % 6 != 5)
    return round_.id


async def sign_in(page: Page, base_url: str, next_path: str) -> None:
    await page.goto(f"{base_url}/admin/login?next={next_path}")
    await page.fill("#email", STAFF_EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}{next_path}")


@pytest.mark.browser
async def test_the_results_page_draws_its_charts_and_fits_every_width(
    settings: Settings, staff_user: StaffUser
) -> None:
    round_id = await answered_standard_round()
    results = f"/admin/surveys/rounds/{round_id}"
    app = create_app(settings, init_db=False)
    async with serve_on_loopback(app) as base_url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="ja-JP"
            )
            page = await context.new_page()
            problems = await watch_for_problems(page)
            await sign_in(page, base_url, results)
            await expect(page.locator(".results-cards")).to_contain_text("満足度（4–5の割合）")
            charts = page.locator("svg.chart")
            await expect(charts).to_have_count(12)  # every question but the free comment
            for width, height in ((1280, 900), (820, 1180), (390, 844)):
                await page.set_viewport_size({"width": width, "height": height})
                await page.goto(base_url + results)
                assert await page.evaluate(NO_SIDEWAYS), f"results at {width}px"
                for i in range(await charts.count()):
                    chart = charts.nth(i)
                    await chart.scroll_into_view_if_needed()
                    await expect(chart).to_be_visible()
                    box = await chart.bounding_box()
                    assert box is not None and 200 <= box["width"] <= min(width, 640), (i, box)
                    assert box["height"] >= 60 * box["width"] / 640  # two bars or more
                    bars = chart.locator("rect.chart-bar")
                    assert await bars.count() >= 2
                # The happiness question's 4 and 5 are drawn in the accent colour.
                strong = page.locator("svg.chart rect.chart-bar-strong")
                await expect(strong).to_have_count(2)
                fill = await strong.first.evaluate("el => getComputedStyle(el).fill")
                assert fill == "rgb(11, 122, 153)"
                await page.screenshot(path=f"/tmp/admin-survey-results-{width}.png", full_page=True)

            # The builder: 「質問欄を増やす」 adds a row in the page, no round trip.
            await page.set_viewport_size({"width": 1280, "height": 900})
            await page.goto(base_url + "/admin/surveys/new")
            rows = page.locator("[data-question-row]")
            before = await rows.count()
            await page.get_by_role("button", name="質問欄を増やす").click()
            await expect(rows).to_have_count(before + 1)
            assert page.url == base_url + "/admin/surveys/new"
            await expect(rows.last.locator("[data-question-number]")).to_have_text(
                f"質問{before + 1}"
            )
            # A condition can name a question typed above it before anything is saved.
            await page.fill("#q1-text", "島に移住しましたか？")
            await page.select_option("#q1-kind", "yesno")
            await page.focus("#q2-if")
            await expect(page.locator("#q2-if option")).to_have_text(
                ["いつも表示", "質問1：島に移住しましたか？の回答が…"]
            )
            await page.select_option("#q2-if", index=1)
            await page.fill("#q1-text", "移住しましたか？")  # renamed: still chosen
            await page.focus("#q2-if")
            await expect(page.locator("#q2-if option:checked")).to_have_text(
                "質問1：移住しましたか？の回答が…"
            )
            await page.select_option("#q1-kind", "text")  # free text: not a condition
            await expect(page.locator("#q3-if option")).to_have_count(1)
            await page.screenshot(path="/tmp/admin-survey-new-1280.png", full_page=True)
            for width in (820, 390):
                await page.set_viewport_size({"width": width, "height": 900})
                for path in ("/admin/surveys", "/admin/surveys/new"):
                    await page.goto(base_url + path)
                    assert await page.evaluate(NO_SIDEWAYS), f"{path} at {width}px"
            assert problems == []
        finally:
            await browser.close()
