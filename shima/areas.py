"""The area registry: every area of the product declares itself here, once — its LINE flow and
keywords, its admin pages and nav entry, audit labels, dashboard part, demo data, scheduled
jobs, its part of マイページ and of a resident's export and erasure.

The app factory, the LINE router, the admin (nav, audit page, dashboard), the worker and
`shima seed-demo` read AREAS; nothing registers itself by being imported. An area whose
entry has no flow answers 準備中 in LINE. See docs/ARCHITECTURE.md, "Adding an area".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from admin import throttle
from admin.announce.area import ADMIN as ANNOUNCE_ADMIN
from admin.chat import demo as chat_demo
from admin.chat.area import ADMIN as CHAT_ADMIN
from admin.consult.area import ADMIN as CONSULT_ADMIN
from admin.goals.area import ADMIN as GOALS_ADMIN
from admin.market.area import ADMIN as MARKET_ADMIN
from admin.privacy.area import ADMIN as PRIVACY_ADMIN
from admin.programmes.area import ADMIN as PROGRAMMES_ADMIN
from admin.programmes.area import NEWS_ADMIN
from admin.registry import AdminArea, AdminAreas
from admin.surveys.area import ADMIN as SURVEYS_ADMIN
from line_app.flows import consult as consult_flow
from line_app.flows import course as course_flow
from line_app.flows import market as market_flow
from line_app.flows import news as news_flow
from line_app.flows import profile as profile_flow
from line_app.flows import settings as settings_flow
from line_app.flows import survey as survey_flow
from line_app.flows.menu import MenuItem
from line_app.notices import consult as consult_notices
from line_app.notices import course as course_notices
from line_app.notices import market as market_notices
from line_app.notices import privacy as privacy_notices
from line_app.notices import survey as survey_notices
from line_app.router import LineArea, Router
from shima.domain import (
    announce_demo,
    course_demo,
    data_requests,
    market_demo,
    retention,
    survey_demo,
)
from shima.domain import market as market_rules
from shima.domain import slots as consult_slots
from shima.domain.personal_data import BlockersHook, EraseHook, ExportHook, Part
from shima.domain.personal_data import announce as announce_data
from shima.domain.personal_data import chat as chat_data
from shima.domain.personal_data import consult as consult_data
from shima.domain.personal_data import course as course_data
from shima.domain.personal_data import market as market_data
from shima.domain.personal_data import platform as platform_data
from shima.domain.personal_data import survey as survey_data
from shima.settings import Settings


@dataclass(frozen=True)
class Job:
    """Work due by the clock, run by the worker's schedule loop inside one transaction;
    returns how many messages it queued."""

    name: str
    run: Callable[[Settings], Awaitable[int]]


@dataclass(frozen=True)
class Area:
    key: str  # the area's one name: package names, postback `flow=`, audit prefix
    title: str
    line: LineArea | None = None  # None: an admin-only area (チャット)
    admin: AdminArea | None = None
    # Creates what is missing (idempotent) and returns a short Japanese summary ("" if none).
    seed_demo: Callable[[], Awaitable[str]] | None = None
    jobs: tuple[Job, ...] = ()
    # Data rights (shima.domain.personal_data): the tables the area holds about a resident,
    # anonymising them, and what staff must cancel before an erasure (upcoming bookings…).
    export: ExportHook | None = None
    erase: EraseHook | None = None
    erase_blockers: BlockersHook | None = None


AREAS: tuple[Area, ...] = (
    Area(
        key="consult",
        title="相談予約",
        line=LineArea(
            MenuItem("consult", "相談予約", "相談予約", ("予約", "相談")),
            flow=consult_flow.ConsultFlow(),
            mypage=consult_flow.show_bookings,
            cancel_booking=consult_flow.cancel_booking,
        ),
        admin=CONSULT_ADMIN,
        seed_demo=consult_slots.seed_demo,
        jobs=(Job("consult.reminders", consult_notices.queue_due_reminders),),
        export=consult_data.export,
        erase=consult_data.erase,
        erase_blockers=consult_data.blockers,
    ),
    # 個別チャット: the admin's side; its LINE side (logging, the hand-over to the desk) is
    # line_app.chat, called by the router for messages no flow takes.
    Area(
        key="chat",
        title="チャット",
        admin=CHAT_ADMIN,
        seed_demo=chat_demo.seed_demo,
        export=chat_data.export,
        erase=chat_data.erase,
    ),
    Area(
        key="course",
        title="寺子屋・交流会",
        line=LineArea(
            MenuItem(
                "course",
                "寺子屋・交流会",
                "寺子屋・交流会の申込み",
                ("寺子屋", "交流会", "講座", "セミナー", "ワークショップ"),
            ),
            flow=course_flow.CourseFlow(),
            mypage=course_flow.show_mine,
            cancel_booking=course_flow.cancel_registrations,
        ),
        admin=PROGRAMMES_ADMIN,
        seed_demo=course_demo.seed_demo,
        jobs=(
            Job("course.offers", course_notices.run_offers),
            Job("course.reminders", course_notices.queue_due_reminders),
            Job("course.followups", course_notices.queue_due_followups),
        ),
        export=course_data.export,
        erase=course_data.erase,
        erase_blockers=course_data.blockers,
    ),
    Area(
        key="market",
        title="ハンドメイドマーケット",
        line=LineArea(
            MenuItem(
                "market",
                "マーケット出店",
                "ハンドメイドマーケットの出店申込み",
                ("マーケット", "ハンドメイド", "出店"),
            ),
            flow=market_flow.MarketFlow(),
            mypage=market_flow.show_mine,
        ),
        admin=MARKET_ADMIN,
        seed_demo=market_demo.seed_demo,
        jobs=(
            Job("market.offers", market_notices.run_offers),
            Job("market.photos.prune", market_rules.prune_photos),
        ),
        export=market_data.export,
        erase=market_data.erase,
        erase_blockers=market_data.blockers,
    ),
    # 満足度アンケート: answering in LINE (line_app.flows.survey), マイページ's part with
    # プロフィール, the one 「続きから」 reminder.
    Area(
        key="survey",
        title="アンケート",
        line=LineArea(
            MenuItem("survey", "アンケート", "満足度アンケート", ("アンケート", "満足度")),
            flow=survey_flow.SurveyFlow(),
            mypage=survey_flow.show_mine,
            flows={"profile": profile_flow.ProfileFlow()},  # マイページ → プロフィール
        ),
        admin=SURVEYS_ADMIN,
        seed_demo=survey_demo.seed_demo,
        jobs=(Job("survey.reminders", survey_notices.queue_due_reminders),),
        export=survey_data.export,  # the survey's answers, the profile and tags
        erase=survey_data.erase,
    ),
    Area(
        key="news",
        title="イベント・お知らせ",
        line=LineArea(
            MenuItem(
                "news", "お知らせ", "イベント・お知らせ", ("お知らせ", "イベント", "ニュース")
            ),
            flow=news_flow.NewsFlow(),
        ),
        admin=NEWS_ADMIN,
    ),
    # The plan's five goals, live (shima.domain.goals): admin only.
    Area(key="goals", title="計画の目標", admin=GOALS_ADMIN),
    # お知らせ配信: segment messages (shima.domain.segments, shima.domain.announcements; sent
    # in multicast batches by line_app.announcements); residents opt out from マイページ.
    Area(
        key="announce",
        title="お知らせ配信",
        line=LineArea(
            flows={"notify": settings_flow.NotifyFlow()},
            phrases=dict.fromkeys(settings_flow.NOTIFY_PHRASES, "flow=notify"),
        ),
        admin=ANNOUNCE_ADMIN,
        seed_demo=announce_demo.seed_demo,  # after survey_demo: it writes to its residents
        export=announce_data.export,
        erase=announce_data.erase,
    ),
    # 個人データ: residents' requests from マイページ, export and erasure
    # (shima.domain.personal_data), the retention purge.
    Area(
        key="privacy",
        title="個人データ",
        line=LineArea(
            mypage=settings_flow.show_settings,
            flows={"privacy": settings_flow.DataRequestFlow()},
            phrases=dict.fromkeys(settings_flow.SETTINGS_PHRASES, "flow=privacy&step=settings"),
        ),
        admin=PRIVACY_ADMIN,
        seed_demo=data_requests.seed_demo,
        jobs=(
            Job("privacy.retention", retention.purge),
            Job("privacy.scrub_notices", privacy_notices.scrub_notices),
        ),
    ),
)


def line_router(areas: Sequence[Area] = AREAS) -> Router:
    return Router([a.line for a in areas if a.line])


def admin_areas(areas: Sequence[Area] = AREAS) -> AdminAreas:
    return AdminAreas(
        [a.admin for a in areas if a.admin], planned=tuple(a.title for a in areas if not a.admin)
    )


# Housekeeping of the platform itself, run with the areas' jobs.
PLATFORM_JOBS: tuple[Job, ...] = (Job("staff.login_attempts.prune", throttle.prune),)


def jobs(areas: Sequence[Area] = AREAS) -> list[Job]:
    return [*PLATFORM_JOBS, *(job for a in areas for job in a.jobs)]


# The platform's own tables about a resident (resident row, webhook events, outbox, state,
# audit, data requests): after the areas' parts, with them in the export and the erasure.
PLATFORM_PERSONAL_DATA: Part = platform_data.PART


def personal_data(areas: Sequence[Area] = AREAS) -> tuple[Part, ...]:
    """Every part of a resident's data (app.state.personal_data, read by the admin)."""
    parts = [
        Part(a.key, a.export, a.erase, a.erase_blockers) for a in areas if a.export and a.erase
    ]
    return (*parts, PLATFORM_PERSONAL_DATA)


async def seed_demo(areas: Sequence[Area] = AREAS) -> list[str]:
    summaries = [await a.seed_demo() for a in areas if a.seed_demo]
    return [s for s in summaries if s]
