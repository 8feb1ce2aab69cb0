"""What the browser tests share: Debian's chromium and `shima serve` run as a deployment
runs it (a subprocess on a free port, simulator mode, its own SQLite file)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx2
from playwright.async_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Runs before the page's own scripts, as the browser's extension of the page (CSP does not
# apply to it): a violation then fails a test as a console error does.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


async def watch_for_problems(page: Page) -> list[str]:
    """The page's script errors, console errors and CSP violations, as they happen."""
    problems: list[str] = []
    await page.add_init_script(_REPORT_CSP_VIOLATIONS)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def shima_server(
    tmp_path: Path, setup: Sequence[Sequence[str]] = (("migrate",),), **env_extra: str
) -> Iterator[str]:
    """Run the `shima` setup commands, then `shima serve`; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SHIMA_"))}
    env.update(
        DATABASE_URL=f"sqlite://{tmp_path / 'served.sqlite3'}",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    shima = [sys.executable, "-m", "shima.cli"]
    for step in setup:
        subprocess.run(
            [*shima, *step],
            env={**env, **env_extra},
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
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
                raise RuntimeError(log_path.read_text())
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
