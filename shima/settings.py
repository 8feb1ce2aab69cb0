"""Settings from the environment and `.env` (starlette's Config)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from starlette.config import Config
from starlette.datastructures import CommaSeparatedStrings, Secret

# Templates and static files: a wheel carries them inside the package (setup.py copies the
# top-level templates/ and static/ folders there at build time); a source checkout or an
# editable install reads the top-level folders themselves, the one source of truth.
_PACKAGED = Path(__file__).resolve().parent / "_assets"
_ASSETS = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parent.parent
TEMPLATES_DIR = _ASSETS / "templates"
STATIC_DIR = _ASSETS / "static"
# Data the app writes (the default SQLite database, the demo login) lives under the working
# directory, never next to the code: the app is run from its own directory (Procfile, make run).
DATA_DIR = Path("data")
DEFAULT_SQLITE = f"sqlite://{DATA_DIR / 'shima.sqlite3'}"
# Pictures of the chat: "in" what residents sent (staff only), "out" what staff sent (public
# at an unguessable name, LINE fetches them). Written by line_app, erased by the domain.
CHAT_MEDIA_DIR = DATA_DIR / "chat"
FAKE_LINE_PATH = "/_fake_line"  # where the simulator's fake LINE platform is mounted
SIMULATOR_CHANNEL_SECRET = "simulator-channel-secret"
SIMULATOR_ACCESS_TOKEN = "simulator-access-token"


# Without a channel the app runs on this machine (make run, tests): local names only.
SIMULATOR_HOSTS = ("localhost", "127.0.0.1", "::1", "testserver")


class SettingsError(RuntimeError):
    """The configuration cannot be used (the app refuses to start)."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_SQLITE
    # Effective channel credentials (the simulator's throwaway ones in simulator mode).
    channel_secret: str = SIMULATOR_CHANNEL_SECRET
    channel_access_token: str = SIMULATOR_ACCESS_TOKEN
    # True when no real LINE channel is configured: /simulator and the fake LINE platform run.
    simulator: bool = True
    # Base URL for every Messaging API call (api and api-data); "" means LINE's own hosts.
    line_api_base_url: str = ""
    secret_key: str = "dev-only-secret-key"
    port: int = 8000
    # Run the inbox/outbox worker inside the web process (single-machine deployments).
    run_worker: bool = True
    # Seconds a claimed inbox/outbox row stays ours before another worker may take it over.
    lease_seconds: float = 30.0
    line_timeout_seconds: float = 10.0
    # Pushes keep being retried (capped backoff) this long after the first failure, so a long
    # LINE outage loses nothing; then the message is shown to staff as undelivered.
    send_give_up_hours: float = 24.0
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 300.0  # 5 minutes
    reply_token_ttl_seconds: float = 50.0  # LINE says "about one minute"; keep a margin
    poll_interval_seconds: float = 0.5
    max_webhook_bytes: int = 1024 * 1024  # 1 MiB
    webhook_body_timeout_seconds: float = 10.0  # a webhook body slower than this gets 408
    session_idle_minutes: int = 30
    # Consultation desk rules (issue: 相談予約).
    consult_max_upcoming: int = 2  # upcoming bookings one resident may hold
    consult_close_hours: float = 2.0  # booking closes this long before the start
    consult_days_ahead: int = 14
    reminder_hour_jst: int = 18  # the day before, at this hour (consultations and sessions)
    # 寺子屋・交流会 waitlist offers (shima.domain.course): a freed seat is held for the first
    # person waiting this many hours (the clock stops overnight, offer_quiet_*); from
    # course_open_offer_hours before the start it is offered to everyone waiting at once.
    course_offer_hours: float = 12.0
    course_open_offer_hours: float = 24.0
    offer_quiet_from_hour: int = 21  # JST: no offers are sent from this hour …
    offer_quiet_until_hour: int = 8  # … until this one, and deadlines do not run meanwhile
    course_checkin_minutes: int = 30  # チェックイン opens this long before the start
    # ハンドメイドマーケット (shima.domain.market): a booth freed after the results is held for
    # the first 補欠 this many daytime hours (the same overnight pause as course offers).
    market_offer_hours: float = 48.0
    # アンケート (shima.domain.survey_responses): a resident who started a survey and has not
    # answered for this many days is reminded once (「続きから」), while the round is open.
    survey_reminder_days: float = 3.0
    # お知らせ配信 (shima.domain.announcements): a send to more residents than this waits for
    # an admin's approval.
    announce_approval_over: int = 300
    # Stored webhook events and delivered outbox payloads older than this many days are
    # purged by the worker (shima.domain.retention).
    retention_days: int = 90
    # Public https address of this app (e.g. https://shima-line.example.jp), for the picture
    # URLs LINE fetches (the thumbnails in an artist's application summary). "" = https:// and
    # the first of allowed_hosts (the simulator: the page's own host, see public_base_url).
    public_url: str = ""
    # The desk (WorkStyle Lab Inno): told to residents in 準備中 answers and when the bot
    # passes a message to staff. desk_open/close are JST hours; desk_days are weekdays
    # (0 = Monday) when staff answer.
    desk_phone: str = "0997-52-1111"
    desk_open_hour: int = 9
    desk_close_hour: int = 17
    desk_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    secure_cookies: bool = False
    # Host names the app answers to (the Host header); see shima.middleware.
    allowed_hosts: tuple[str, ...] = SIMULATOR_HOSTS
    # Operating it (shima.health, shima.logs).
    # /healthz answers 503 when the oldest unhandled webhook event, or the most overdue
    # sendable message, is older than this: the worker looks stuck.
    health_max_event_age_seconds: float = 120.0
    log_format: str = "text"  # "text" or "json" (one JSON object per line)
    log_level: str = "INFO"

    @property
    def public_base_url(self) -> str:
        """Where LINE fetches the app's public pictures from (https, no trailing slash)."""
        if self.public_url:
            return self.public_url
        host = self.allowed_hosts[0] if self.allowed_hosts else "localhost"
        if self.simulator:
            host = f"{host}:{self.port}"  # the simulator page shows it over its own scheme
        return f"https://{host}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **kw: Any) -> Settings:
        return replace(self, **kw)


def load_settings(env_file: str | Path | None = None) -> Settings:
    """Read settings from the environment (and `.env` in the working directory)."""
    path = Path(env_file) if env_file else Path(".env")
    config = Config(path if path.is_file() else None)
    secret = str(config("LINE_CHANNEL_SECRET", cast=Secret, default=""))
    token = str(config("LINE_CHANNEL_ACCESS_TOKEN", cast=Secret, default=""))
    secret_key = str(config("SECRET_KEY", cast=Secret, default=""))
    port = config("PORT", cast=int, default=8000)
    base = str(config("LINE_API_BASE_URL", default="")).rstrip("/")
    simulator = not (secret and token)
    if not simulator and not secret_key:
        raise SettingsError(
            "SECRET_KEY が設定されていません。LINE チャネルを接続するときは必ず設定してください。"
        )
    allowed_hosts = tuple(
        h.strip().lower()
        for h in config("SHIMA_ALLOWED_HOSTS", cast=CommaSeparatedStrings, default="")
        if h.strip()
    )
    if not simulator and not allowed_hosts:
        raise SettingsError(
            "SHIMA_ALLOWED_HOSTS が設定されていません。LINE チャネルを接続するときは、"
            "この管理画面と Webhook を公開するホスト名（例: shima-line.example.jp）を"
            "カンマ区切りで設定してください。"
        )
    if simulator:
        # No channel: a throwaway one, and the fake LINE platform mounted inside this app.
        secret, token = SIMULATOR_CHANNEL_SECRET, SIMULATOR_ACCESS_TOKEN
        secret_key = secret_key or secrets.token_urlsafe(32)
        base = base or f"http://127.0.0.1:{port}{FAKE_LINE_PATH}"
    return Settings(
        database_url=str(config("DATABASE_URL", default=DEFAULT_SQLITE)),
        channel_secret=secret,
        channel_access_token=token,
        simulator=simulator,
        line_api_base_url=base,
        secret_key=secret_key,
        port=port,
        run_worker=config("SHIMA_RUN_WORKER", cast=bool, default=True),
        lease_seconds=config("SHIMA_LEASE_SECONDS", cast=float, default=30.0),
        send_give_up_hours=config("SHIMA_SEND_GIVE_UP_HOURS", cast=float, default=24.0),
        webhook_body_timeout_seconds=config(
            "SHIMA_WEBHOOK_BODY_TIMEOUT_SECONDS", cast=float, default=10.0
        ),
        consult_max_upcoming=config("SHIMA_CONSULT_MAX_UPCOMING", cast=int, default=2),
        consult_close_hours=config("SHIMA_CONSULT_CLOSE_HOURS", cast=float, default=2.0),
        reminder_hour_jst=config("SHIMA_REMINDER_HOUR", cast=int, default=18),
        course_offer_hours=config("SHIMA_COURSE_OFFER_HOURS", cast=float, default=12.0),
        course_open_offer_hours=config("SHIMA_COURSE_OPEN_OFFER_HOURS", cast=float, default=24.0),
        market_offer_hours=config("SHIMA_MARKET_OFFER_HOURS", cast=float, default=48.0),
        survey_reminder_days=config("SHIMA_SURVEY_REMINDER_DAYS", cast=float, default=3.0),
        announce_approval_over=config("SHIMA_ANNOUNCE_APPROVAL_OVER", cast=int, default=300),
        retention_days=config("SHIMA_RETENTION_DAYS", cast=int, default=90),
        public_url=str(config("SHIMA_PUBLIC_URL", default="")).strip().rstrip("/"),
        desk_phone=str(config("SHIMA_DESK_PHONE", default="0997-52-1111")),
        desk_open_hour=config("SHIMA_DESK_OPEN_HOUR", cast=int, default=9),
        desk_close_hour=config("SHIMA_DESK_CLOSE_HOUR", cast=int, default=17),
        desk_days=tuple(
            int(d)
            for d in config("SHIMA_DESK_DAYS", cast=CommaSeparatedStrings, default="0,1,2,3,4")
        ),
        secure_cookies=config("SHIMA_SECURE_COOKIES", cast=bool, default=not simulator),
        allowed_hosts=allowed_hosts or SIMULATOR_HOSTS,
        health_max_event_age_seconds=config(
            "SHIMA_HEALTH_MAX_EVENT_AGE_SECONDS", cast=float, default=120.0
        ),
        log_format=_choice(config, "SHIMA_LOG_FORMAT", LOG_FORMATS, "text"),
        log_level=_choice(config, "SHIMA_LOG_LEVEL", LOG_LEVELS, "INFO"),
    )


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _choice(config: Config, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(config(name, default=default)).strip()
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise SettingsError(f"{name} は {' / '.join(allowed)} のいずれかにしてください（{value!r}）。")


WEEKDAYS_JA = "月火水木金土日"


def desk_hours_text(settings: Settings) -> str:
    """The desk's hours as residents read them, e.g. 「平日（月〜金）9:00〜17:00」."""
    days = sorted(set(settings.desk_days))
    if days == [0, 1, 2, 3, 4]:
        label = "平日（月〜金）"
    else:
        label = "・".join(WEEKDAYS_JA[d] for d in days if 0 <= d <= 6) + "曜"
    return f"{label}{settings.desk_open_hour}:00〜{settings.desk_close_hour}:00"
