"""`shima backup`: a consistent copy of the SQLite database while the app keeps running.

sqlite3's online backup API copies a snapshot (WAL: the app's writers are not blocked, and
the copy holds everything committed when it started, nothing half-written). Copying the
file with `cp` instead can tear a page or miss what is still in the -wal file.
PostgreSQL has its own tool: we point to pg_dump rather than reimplement it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from shima.settings import DATA_DIR
from shima.timeutil import JST, now

PG_DUMP_HINT = (
    "PostgreSQL のバックアップは pg_dump で取ってください。例:\n"
    '  pg_dump --format=custom --file=shima-$(date +%Y%m%d-%H%M%S).dump "$DATABASE_URL"\n'
    "戻すとき:\n"
    '  pg_restore --clean --if-exists --no-owner --dbname="$DATABASE_URL" shima-….dump'
)


class BackupError(RuntimeError):
    """The backup cannot be made (a Japanese message for the operator)."""


def default_path() -> Path:
    """data/backup-YYYYmmdd-HHMMSS.sqlite3 (island time, as staff read it)."""
    return DATA_DIR / f"backup-{now().astimezone(JST):%Y%m%d-%H%M%S}.sqlite3"


def backup(database_url: str, path: str | Path = "") -> Path:
    """Copy the database at `database_url` to `path`; returns where it wrote."""
    if not database_url.startswith("sqlite://"):
        raise BackupError(PG_DUMP_HINT)
    source = Path(database_url.removeprefix("sqlite://"))
    if str(source) == ":memory:":
        raise BackupError("メモリ上のデータベースはバックアップできません。")
    if not source.is_file():
        raise BackupError(f"データベースのファイルがありません: {source}")
    target = Path(path) if path else default_path()
    if target.exists():
        raise BackupError(f"書き出し先がすでにあります（上書きしません）: {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    # Read-only: a backup must never change (or create) the live database.
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # one step: one consistent snapshot
            # A single self-contained file (the copy inherits WAL mode from the source).
            dst.execute("PRAGMA journal_mode=DELETE")
            ok = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"バックアップの検査に失敗しました: {ok}")
    partial.chmod(0o600)  # residents' personal data: readable by the app's user only
    partial.rename(target)  # never a half-written file under the final name
    return target
