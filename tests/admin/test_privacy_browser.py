"""The erasure's confirmation in chromium against `shima serve`, at a desk (1280 px) and on a
phone (390 px): from the list of requests to the resident's page, 「データを削除（匿名化）」,
what is anonymised and what stays, a wrong name refused with the form back, the right name →
the page saying what was done; nothing scrolls sideways and the CSP is never violated."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from tortoise import Tortoise

from shima import db as shima_db
from tests.admin.test_phone_width_browser import EMAIL, PASSWORD, sideways, sign_in
from tests.browser import CHROMIUM, CHROMIUM_ARGS, shima_server, watch_for_problems

NAMES = {
    1280: "奄美 花子",
    390: "とても長いお名前の利用者さん（奄美市名瀬在住・フリーランスのデザイナー）",
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    setup = (["migrate"], ["create-staff", EMAIL, "--role", "admin", "--name", "管理 太郎"])
    with shima_server(tmp_path, setup, SHIMA_PASSWORD=PASSWORD) as base:
        yield base, f"sqlite://{tmp_path / 'served.sqlite3'}"


async def add_requests(database_url: str) -> dict[int, int]:
    """A resident per width, each with an open erasure request; returns width → id."""
    from models.privacy import DataRequest, RequestKind
    from models.residents import Resident
    from shima.timeutil import now

    await shima_db.init(database_url)
    try:
        ids = {}
        for width, name in NAMES.items():
            who = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name)
            await DataRequest.create(
                resident_id=who.id, kind=RequestKind.ERASURE, requested_at=now()
            )
            ids[width] = who.id
        return ids
    finally:
        await Tortoise.close_connections()


async def erased(database_url: str, resident_id: int) -> bool:
    from models.residents import Resident

    await shima_db.init(database_url)
    try:
        return (await Resident.get(id=resident_id)).erased_at is not None
    finally:
        await Tortoise.close_connections()


@pytest.mark.browser
@pytest.mark.slow
async def test_the_erasure_confirmation_at_desk_and_phone_widths(
    served: tuple[str, str],
) -> None:
    base, database_url = served
    ids = await add_requests(database_url)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width, name in NAMES.items():
                page = await sign_in(browser, base, width)
                problems = await watch_for_problems(page)
                await page.goto(base + "/admin/data-requests")
                assert await sideways(page) == 0
                await page.locator(f'a[href="/admin/residents/{ids[width]}/data"]').first.click()
                await page.wait_for_url(f"{base}/admin/residents/{ids[width]}/data")
                await page.get_by_role("link", name="データを削除（匿名化）").click()
                await page.wait_for_url(f"{base}/admin/residents/{ids[width]}/data/erase")
                assert await page.get_by_role("heading", name="匿名化するもの").is_visible()
                assert await page.get_by_role("heading", name="残るもの").is_visible()
                assert await sideways(page) == 0, width

                field = page.get_by_label(f"利用者のお名前「{name}」を入力してください")
                await field.fill("別の人")
                await page.get_by_role("button", name="削除（匿名化）する").click()
                await page.wait_for_load_state()
                assert await page.get_by_text("一致しません").is_visible()
                assert await field.input_value() == "別の人"  # the form back as typed
                assert await sideways(page) == 0, width
                assert not await erased(database_url, ids[width])

                await field.fill(name)
                await page.get_by_role("button", name="削除（匿名化）する").click()
                await page.wait_for_url(f"{base}/admin/residents/{ids[width]}/data?done=erased")
                assert await page.get_by_role("heading", name="削除（匿名化）しました").is_visible()
                assert await sideways(page) == 0, width
                assert await erased(database_url, ids[width])
                # The refused name is a 400 page (the form back), which chromium logs.
                assert [p for p in problems if "status of 400" not in p] == [], width
                await page.context.close()
        finally:
            await browser.close()
