"""`shima backup`: a consistent SQLite copy while another connection keeps writing; a
pointer to pg_dump for PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import pytest

from shima import backup
from tests.shima.test_cli import shima


def live_database(path: Path) -> None:
    """A WAL database like the app's, big enough that a copy takes a moment."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE bookings (id INTEGER PRIMARY KEY, note TEXT)")
    conn.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, booking_id INTEGER)")
    with conn:
        for i in range(2000):
            conn.execute("INSERT INTO bookings (note) VALUES (?)", ("x" * 2000,))
            conn.execute("INSERT INTO audit (booking_id) VALUES (?)", (i + 1,))
    conn.close()


def test_backup_while_another_connection_writes(tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    live_database(source)
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        # The app: each change and its audit row in one transaction.
        conn = sqlite3.connect(source, timeout=5)
        while not stop.is_set():
            with conn:
                cur = conn.execute("INSERT INTO bookings (note) VALUES (?)", ("y" * 2000,))
                conn.execute("INSERT INTO audit (booking_id) VALUES (?)", (cur.lastrowid,))
            written[0] += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    copies = []
    during = 0
    try:
        for n in range(5):
            before = written[0]
            copy = backup.backup(f"sqlite://{source}", tmp_path / f"copy-{n}.sqlite3")
            copies.append((copy, 2000 + before))  # committed before the backup started
            during += written[0] - before
    finally:
        stop.set()
        thread.join()
    assert during > 0  # the app kept writing while the copies were made

    for copy, at_least in copies:
        assert copy.stat().st_mode & 0o777 == 0o600  # personal data
        assert sorted(p.name for p in tmp_path.glob(copy.name + "*")) == [copy.name]
        conn = sqlite3.connect(copy)
        bookings = conn.execute("SELECT count(*) FROM bookings").fetchone()[0]
        audit = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        orphans = conn.execute(
            "SELECT count(*) FROM bookings b LEFT JOIN audit a ON a.booking_id = b.id"
            " WHERE a.id IS NULL"
        ).fetchone()[0]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        conn.close()
        assert bookings >= at_least
        assert bookings == audit and orphans == 0  # a snapshot, never half a transaction


def test_refuses_to_overwrite_and_reports_a_missing_database(tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    live_database(source)
    target = tmp_path / "copy.sqlite3"
    target.write_text("an older backup")
    with pytest.raises(backup.BackupError, match="上書きしません"):
        backup.backup(f"sqlite://{source}", target)
    assert target.read_text() == "an older backup"
    with pytest.raises(backup.BackupError, match="ファイルがありません"):
        backup.backup(f"sqlite://{tmp_path / 'nothing.sqlite3'}", tmp_path / "x.sqlite3")
    assert not (tmp_path / "nothing.sqlite3").exists()  # never created by a backup


def test_cli_backup_default_path_after_migrate(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'data' / 'shima.sqlite3'}"
    assert shima(tmp_path, "migrate", DATABASE_URL=url).returncode == 0
    result = shima(tmp_path, "backup", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    match = re.search(r"(data/backup-\d{8}-\d{6}\.sqlite3)", result.stdout)
    assert match, result.stdout
    conn = sqlite3.connect(tmp_path / match.group(1))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"residents", "inbox_events", "outbox_messages"} <= tables


def test_cli_backup_on_postgres_points_to_pg_dump(tmp_path: Path) -> None:
    result = shima(tmp_path, "backup", DATABASE_URL="postgres://shima@db.example/shima")
    assert result.returncode != 0
    assert "pg_dump" in result.stderr and "pg_restore" in result.stderr
    assert "PostgreSQL のバックアップは" in result.stderr
    assert not (tmp_path / "data").exists()
