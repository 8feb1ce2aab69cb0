"""The simulator in a real browser against `shima serve` in simulator mode (no LINE
credentials): follow, tap the rich menu, type a message, switch users — with no script
errors or CSP violations."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from playwright.async_api import Page, async_playwright, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`shima migrate` then `shima serve` in simulator mode, on a free port."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SHIMA_"))}
    env.update(
        DATABASE_URL=f"sqlite://{tmp_path / 'sim.sqlite3'}",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    shima = [sys.executable, "-m", "shima.cli"]
    subprocess.run([*shima, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True)
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([*shima, "serve"], env=env, cwd=tmp_path, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx2.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text())
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


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
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(server + "/simulator/")

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
