"""The `shima` CLI as a deployment runs it (subprocesses on a temporary SQLite file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def shima(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`shima ARGS` in `tmp_path` with none of this shell's settings; `env` adds some
    (DATABASE_URL defaults to a SQLite file in `tmp_path`)."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LINE_", "DATABASE_URL", "SECRET_KEY", "SHIMA_"))
    }
    environ["DATABASE_URL"] = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "shima.cli", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def test_migrate_seed_and_create_staff(tmp_path: Path) -> None:
    assert shima(tmp_path, "migrate").returncode == 0
    assert shima(tmp_path, "migrate").returncode == 0  # idempotent (release phase)
    first = shima(tmp_path, "seed-demo")
    assert first.returncode == 0 and "相談枠" in first.stdout
    again = shima(tmp_path, "seed-demo")
    assert again.returncode == 0 and "追加なし" in again.stdout  # idempotent

    made = shima(
        tmp_path,
        "create-staff",
        "Staff@Example.jp",
        "--role",
        "admin",
        SHIMA_PASSWORD="correct horse battery",
    )
    assert made.returncode == 0, made.stderr
    duplicate = shima(
        tmp_path, "create-staff", "staff@example.jp", SHIMA_PASSWORD="correct horse battery"
    )
    assert duplicate.returncode == 1
    short = shima(tmp_path, "create-staff", "other@example.jp", SHIMA_PASSWORD="short")
    assert short.returncode == 1
    # No password and no terminal: refuse rather than hang.
    assert shima(tmp_path, "create-staff", "x@example.jp").returncode == 2


def test_real_channel_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    result = shima(tmp_path, "migrate", LINE_CHANNEL_SECRET="s", LINE_CHANNEL_ACCESS_TOKEN="t")
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
