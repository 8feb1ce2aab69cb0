"""`shima` — the command line: migrate, seed-demo, create-staff, richmenu deploy, serve, worker,
backup."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise import Tortoise

from shima import backup, db, logs
from shima.db import tortoise_config
from shima.settings import DATA_DIR, Settings, SettingsError, load_settings

DEMO_STAFF_EMAIL = "demo@shima-freelance.example"
DEMO_LOGIN_FILE = DATA_DIR / "demo-login.txt"


async def _with_db(settings: Settings, body: Callable[[], Awaitable[Any]]) -> Any:
    await db.init(settings.database_url)
    try:
        return await body()
    finally:
        await Tortoise.close_connections()


async def migrate(settings: Settings) -> None:
    """Apply the migrations in models/migrations (idempotent)."""
    from tortoise.migrations.api import migrate as apply

    await apply(config=tortoise_config(settings.database_url))
    await Tortoise.close_connections()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(migrate(settings))
    print("データベースを最新の状態にしました。")
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from shima import areas

    summary = asyncio.run(_with_db(settings, areas.seed_demo))
    print("デモデータを用意しました: " + (", ".join(summary) or "追加なし（用意済み）"))
    return 0


def cmd_create_staff(settings: Settings, args: argparse.Namespace) -> int:
    from admin.passwords import create_staff

    password = os.environ.get("SHIMA_PASSWORD") or ""
    if not password:
        if not sys.stdin.isatty():
            print(
                "パスワードを SHIMA_PASSWORD に設定するか、端末から実行してください。",
                file=sys.stderr,
            )
            return 2
        password = getpass.getpass("パスワード（10文字以上）: ")
        if password != getpass.getpass("もう一度: "):
            print("パスワードが一致しません。", file=sys.stderr)
            return 2

    async def create() -> None:
        await create_staff(args.email, password, role=args.role, display_name=args.name or "")

    try:
        asyncio.run(_with_db(settings, create))
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"スタッフ {args.email}（{args.role}）を作成しました。")
    return 0


def cmd_demo_staff(settings: Settings, args: argparse.Namespace) -> int:
    """The demo login `make run` prints (simulator mode only: never on a real channel)."""
    if not settings.simulator:
        print(
            "LINE チャネル接続中はデモ用アカウントを作りません。"
            "shima create-staff を使ってください。"
        )
        return 0
    from admin.passwords import create_staff
    from models.staff import StaffUser

    async def ensure() -> str:
        if await StaffUser.exists(email=DEMO_STAFF_EMAIL) and DEMO_LOGIN_FILE.is_file():
            return DEMO_LOGIN_FILE.read_text().strip()
        await StaffUser.filter(email=DEMO_STAFF_EMAIL).delete()
        password = secrets.token_urlsafe(12)
        await create_staff(DEMO_STAFF_EMAIL, password, role="admin", display_name="デモ職員")
        DEMO_LOGIN_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEMO_LOGIN_FILE.write_text(password)
        DEMO_LOGIN_FILE.chmod(0o600)
        return password

    password = asyncio.run(_with_db(settings, ensure))
    base = f"http://127.0.0.1:{settings.port}"
    print(
        "\n"
        "──────────────────────────────────────────────\n"
        f" 管理画面    {base}/admin/\n"
        f"   メール    {DEMO_STAFF_EMAIL}\n"
        f"   パスワード {password}\n"
        f" シミュレーター {base}/simulator\n"
        "──────────────────────────────────────────────\n"
    )
    return 0


def cmd_richmenu(settings: Settings, args: argparse.Namespace) -> int:
    from line_app import richmenu

    if args.action == "render":
        richmenu.render_image()
        print(f"リッチメニュー画像を書き出しました: {richmenu.IMAGE_PATH}")
        return 0
    rich_menu_id = asyncio.run(richmenu.deploy_from_settings(settings))
    print(f"リッチメニューを公開しました（{rich_menu_id}）。以前のメニューは削除しました。")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    port = args.port or settings.port
    if settings.simulator:
        print(f"シミュレーターモードで起動します: http://127.0.0.1:{port}/simulator")
    uvicorn.run(
        "shima.app:create_app",
        factory=True,
        host=args.host,
        port=port,
        log_level=settings.log_level.lower(),
        # The same handlers as everything else: JSON lines if asked, no personal data.
        log_config=logs.config(settings.log_format, settings.log_level),
        # One line per request costs CPU at webhook rates and says nothing staff need;
        # SHIMA_ACCESS_LOG=1 turns it back on.
        access_log=os.environ.get("SHIMA_ACCESS_LOG", "") == "1",
        proxy_headers=True,
        timeout_graceful_shutdown=15,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from line_app.client import LineClient
    from shima.worker import Worker

    async def run() -> None:
        await db.init(settings.database_url)
        line = LineClient(settings)
        worker = Worker(settings, line)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker.start()
        print(f"ワーカーを起動しました（{worker.id}）。")
        await stop.wait()
        await worker.stop()
        await line.close()
        await Tortoise.close_connections()

    asyncio.run(run())
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    try:
        target = backup.backup(settings.database_url, args.path)
    except backup.BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"バックアップを書き出しました: {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shima", description="島フリーランス LINE")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="マイグレーションを適用する").set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="デモデータを用意する（何度実行しても同じ）").set_defaults(
        func=cmd_seed_demo
    )
    staff = sub.add_parser("create-staff", help="スタッフのアカウントを作る")
    staff.add_argument("email")
    staff.add_argument("--role", choices=["admin", "staff"], default="staff")
    staff.add_argument("--name", default="", help="表示名")
    staff.set_defaults(func=cmd_create_staff)
    sub.add_parser(
        "demo-staff", help="デモ用の管理者アカウント（シミュレーター時のみ）"
    ).set_defaults(func=cmd_demo_staff)
    rich = sub.add_parser("richmenu", help="リッチメニュー")
    rich.add_argument("action", choices=["deploy", "render"])
    rich.set_defaults(func=cmd_richmenu)
    serve = sub.add_parser("serve", help="Web アプリ（とワーカー）を起動する")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="ワーカーだけを起動する").set_defaults(func=cmd_worker)
    back = sub.add_parser("backup", help="SQLite データベースのバックアップを取る")
    back.add_argument(
        "path", nargs="?", default="", help="書き出し先（既定: data/backup-日時.sqlite3）"
    )
    back.set_defaults(func=cmd_backup)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    logs.configure(settings.log_format, settings.log_level)
    return int(args.func(settings, args))


if __name__ == "__main__":
    sys.exit(main())
