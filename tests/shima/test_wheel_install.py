"""The wheel, installed as a deployment would install it: built from the source, `pip install`ed
into a fresh venv without extras, then the Procfile's `release:` and `web:` run from an app
directory that is not the repository, on a fresh PostgreSQL database, with a real channel
configured against the fake LINE platform. Needs the package index for the dependencies."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from line_app.fake_line import FakeLinePlatform
from tests.browser import free_port
from tests.conftest import BACKEND
from tests.line_app import events
from tests.shima import live

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BACKEND != "postgres", reason="the deployment test runs on PostgreSQL"),
]

# What a checkout holds besides the source: never part of the build.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "data", "tmp", "build", "dist", "__pycache__", "*.egg-info", ".*_cache"
)


def run(cmd: list[str], log: Path, timeout: float, cwd: Path | None = None) -> None:
    with log.open("ab") as out:
        done = subprocess.run(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    assert done.returncode == 0, f"{cmd[:4]} exited {done.returncode}:\n{tail}"


def build_and_install(tmp: Path) -> Path:
    """Build the wheel from a copy of the source (so the checkout gets no build/ or
    egg-info), install it into a new venv; returns the venv's bin directory."""
    source, dist, venv, log = tmp / "src", tmp / "dist", tmp / "venv", tmp / "pip.log"
    shutil.copytree(live.ROOT, source, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(source)], log, 300)
    [wheel] = dist.glob("*.whl")
    run([sys.executable, "-m", "venv", str(venv)], log, 120)
    # The pip cache (shared with `make setup`) keeps the dependency downloads to the first run.
    # --no-compile: byte-compiling every dependency is half the install time, and Python
    # compiles what it imports anyway; what gets installed is the same.
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
    run([*pip, str(wheel)], log, 600)
    return venv / "bin"


async def test_the_wheel_installs_migrates_serves_and_answers(
    fake_line: FakeLinePlatform, tmp_path: Path
) -> None:
    bin_dir = build_and_install(tmp_path)
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import shima, sys; print(shima.__file__)"],
        cwd=app_dir,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert where.startswith(str(tmp_path / "venv")), where  # the wheel, not the checkout

    commands = live.procfile()
    port = free_port()
    async with live.fresh_database() as database_url:
        env = live.channel_env(bin_dir, database_url, fake_line.base_url, PORT=str(port))
        with live.processes(app_dir, tmp_path) as procs:
            await procs.run(commands["release"], env, "release.log", timeout=120)
            web = procs.start(commands["web"], env, "web.log")
            await live.wait_healthy(procs, web, port, "web.log", timeout=60)
            async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                login = await client.get("/admin/login")
                assert login.status_code == 200, procs.tail("web.log")
                stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', login.text)
                assert stylesheets
                for href in stylesheets:
                    css = await client.get(href)
                    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
                    assert css.content.strip()

                token = fake_line.issue_reply_token("U" + "a" * 32)
                response = await events.post(
                    client, live.SECRET, events.follow("U" + "a" * 32, token)
                )
                assert response.status_code == 200
                [welcome] = await fake_line.wait_for_deliveries(1, timeout=20)
                assert welcome.via == "reply" and welcome.user_id == "U" + "a" * 32
                assert live.shown_text(welcome.messages)
