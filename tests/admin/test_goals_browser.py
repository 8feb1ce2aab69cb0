"""計画の目標 in chromium against `shima serve`, at 1280 px (a desk) and 390 px (a phone):
the five tiles are visible with their values, charts and progress bars, the dashboard's five
cards too, nothing scrolls sideways and the CSP is never violated. With
SHIMA_SCREENSHOTS=<dir> the pages are saved at 1280/820/390 px."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright
from tortoise import Tortoise

from shima import db as shima_db
from tests.admin.test_phone_width_browser import EMAIL, PASSWORD, sideways, sign_in
from tests.browser import CHROMIUM, CHROMIUM_ARGS, shima_server, watch_for_problems
from tests.shima.domain.goal_fixtures import (
    earning_data,
    leader_data,
    migrant_data,
    satisfaction_data,
    skillup_data,
)

VALUES = ["4人", "3人", "3人", "50%", "3人"]  # counted by hand: tests/shima/domain/goal_fixtures
SHOTS = (
    ("goals", "/admin/goals"),
    ("goals-people", "/admin/goals/1/people"),
    ("goals-report", "/admin/goals/report"),
    ("goals-settings", "/admin/goals/settings"),
    ("goals-dashboard", "/admin/"),
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    setup = (["migrate"], ["create-staff", EMAIL, "--role", "admin", "--name", "管理 太郎"])
    with shima_server(tmp_path, setup, SHIMA_PASSWORD=PASSWORD) as base:
        yield base, f"sqlite://{tmp_path / 'served.sqlite3'}"


async def add_goal_data(database_url: str) -> None:
    await shima_db.init(database_url)
    try:
        await skillup_data()
        await migrant_data()
        await earning_data()
        await satisfaction_data()
        await leader_data()
    finally:
        await Tortoise.close_connections()


async def texts(page: Page, selector: str) -> list[str]:
    return [" ".join(t.split()) for t in await page.locator(selector).all_inner_texts()]


@pytest.mark.browser
@pytest.mark.slow
async def test_the_goal_tiles_at_desk_and_phone_widths(served: tuple[str, str]) -> None:
    base, database_url = served
    await add_goal_data(database_url)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width in (1280, 390):
                page = await sign_in(browser, base, width)
                problems = await watch_for_problems(page)
                await page.goto(base + "/admin/goals")
                tiles = page.locator(".goal-tile")
                assert await tiles.count() == 5
                for n in range(5):
                    tile = tiles.nth(n)
                    await tile.scroll_into_view_if_needed()
                    assert await tile.is_visible()
                    assert await tile.locator(".goal-value").is_visible()
                    assert await tile.locator("svg.chart").is_visible()
                    assert await tile.locator("svg.goal-progress").is_visible()
                    box = await tile.bounding_box()
                    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
                assert await texts(page, ".goal-tile .goal-value") == VALUES
                assert await sideways(page) == 0, f"{width}px: /admin/goals scrolls sideways"
                if width == 1280:  # the chart beside the numbers
                    first = tiles.first
                    summary = await first.locator(".goal-summary").bounding_box()
                    chart = await first.locator(".goal-chart").bounding_box()
                    assert summary is not None and chart is not None
                    assert chart["x"] > summary["x"] + summary["width"] - 1
                else:  # stacked: the chart under the numbers, as wide as the tile allows
                    first = tiles.first
                    summary = await first.locator(".goal-summary").bounding_box()
                    chart = await first.locator(".goal-chart").bounding_box()
                    assert summary is not None and chart is not None
                    assert chart["y"] >= summary["y"] + summary["height"] - 1
                    assert chart["width"] >= 300

                await page.goto(base + "/admin/")
                cards = page.locator(".goal-card")
                assert await cards.count() == 5
                for n in range(5):
                    await cards.nth(n).scroll_into_view_if_needed()
                    assert await cards.nth(n).is_visible()
                assert await texts(page, ".goal-card .goal-value") == VALUES
                assert await sideways(page) == 0, f"{width}px: the dashboard scrolls sideways"
                await cards.first.click()
                await page.wait_for_url(base + "/admin/goals#goal-1")
                assert problems == [], width
                if (shots := os.environ.get("SHIMA_SCREENSHOTS")) and width == 1280:
                    await screenshots(page, base, Path(shots))
                await page.context.close()
        finally:
            await browser.close()


async def screenshots(page: Page, base: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1280, 820, 390):
        await page.set_viewport_size({"width": width, "height": 900})
        for name, path in SHOTS:
            await page.goto(base + path)
            await page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
