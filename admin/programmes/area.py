"""寺子屋・交流会's part of the admin, as its registry entry (shima.areas) uses it: routes,
the nav entry, audit labels, the dashboard's 今後の開催 part and its 事業の指標; and the
お知らせ admin (NEWS_ADMIN) of イベント・お知らせ.

The per-session pages (registrations, the waitlist, messages, attendance at the door) are
admin.programmes.roster and admin.programmes.attendance; their routes and audit labels are
added here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from admin.programmes import attendance, export, news, programmes, roster, sessions
from admin.programmes.programmes import AttendanceCount, attendance_counts, fill_rate
from admin.registry import AdminArea, Card, DashboardPart, NavItem
from admin.routing import route
from models.course import (
    Attendance,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from shima.timeutil import fiscal_year_of, jst_datetime, now, today_jst

DASHBOARD_UPCOMING = 8  # sessions in the dashboard's 今後の開催
DASHBOARD_PAST = 5  # recent sessions with their attendance rate
PAST_DAYS = 30

ACTION_LABELS = {
    "course.programme.create": "講座・イベントの作成",
    "course.programme.update": "講座・イベントの編集",
    "course.programme.archive": "講座・イベントのアーカイブ",
    "course.programme.unarchive": "講座・イベントのアーカイブ解除",
    "course.session.create": "開催回の作成",
    "course.session.update": "開催回の編集",
    "course.session.copy": "開催回のコピー",
    "course.session.publish": "開催回の公開",
    "course.session.cancel": "開催回の中止",
    "course.registration.export": "寺子屋・交流会の申込者の CSV 出力",
    "course.attendance.export": "寺子屋・交流会の出欠の CSV 出力",
}
TARGET_LABELS = {"programme": "講座・イベント", "session": "講座・イベントの回"}
TARGET_URLS = {"programme": "/admin/programmes/{id}", "session": "/admin/programmes/sessions/{id}"}
DETAIL_LABELS = {
    "title": "タイトル",
    "kind": "種別",
    "fields": "変更した項目",
    "programme": "講座・イベント",
    "when": "日時",
    "seats": "定員",
    "childcare": "託児の人数",
    "offers": "繰り上げ案内",
    "told": "お知らせした人数",
    "from_session": "コピー元の開催回",
    "by": "コピー先",
    "rows": "行数",
    "published": "公開",
    "session_status": "公開状態",
    "period_from": "期間（から）",
    "period_to": "期間（まで）",
}
DETAIL_VALUES = {
    "kind": {k.value: k.label for k in ProgrammeKind},
    "session_status": {s.value: s.label for s in SessionStatus},
    "by": {"week": "翌週", "month": "翌月"},
}

NEWS_LABELS = {
    "news.item.create": "お知らせの作成",
    "news.item.update": "お知らせの編集",
    "news.item.publish": "お知らせの公開",
    "news.item.unpublish": "お知らせの非公開",
    "news.item.delete": "お知らせの削除",
}


# ---------- Dashboard ----------


@dataclass(frozen=True)
class SessionLine:
    """A session as the dashboard lists it: counts only, no resident's data."""

    session: ProgrammeSession
    fill: int  # % of seats taken
    counts: AttendanceCount


async def _lines(found: list[ProgrammeSession]) -> list[SessionLine]:
    counts = await attendance_counts([s.id for s in found])
    return [SessionLine(s, fill_rate(s), counts.get(s.id, AttendanceCount())) for s in found]


async def dashboard_part(request: Request) -> DashboardPart:
    at = now()
    upcoming = (
        await ProgrammeSession.filter(status=SessionStatus.PUBLISHED, ends_at__gt=at)
        .select_related("programme")
        .order_by("starts_at", "id")
        .limit(DASHBOARD_UPCOMING)
    )
    past = (
        await ProgrammeSession.filter(
            status=SessionStatus.PUBLISHED,
            ends_at__lte=at,
            ends_at__gte=at - timedelta(days=PAST_DAYS),
        )
        .select_related("programme")
        .order_by("-starts_at", "-id")
        .limit(DASHBOARD_PAST)
    )
    return DashboardPart(
        "admin/programmes/_dashboard.html",
        {"upcoming": await _lines(upcoming), "past": await _lines(past), "past_days": PAST_DAYS},
    )


def fiscal_year_start(today: date) -> date:
    """April 1st of the current 年度."""
    return date(fiscal_year_of(today), 4, 1)


async def kpis() -> list[Card]:
    """事業の指標 of 寺子屋・交流会: counts only."""
    at = now()
    today = today_jst()
    month = jst_datetime(today.replace(day=1))
    upcoming = await ProgrammeSession.filter(
        status=SessionStatus.PUBLISHED, starts_at__gt=at
    ).count()
    registered = await Registration.filter(
        status=RegistrationStatus.REGISTERED, resident_id__isnull=False, registered_at__gte=month
    ).count()
    present = Registration.filter(
        status=RegistrationStatus.REGISTERED, attendance=Attendance.PRESENT
    )
    this_month = await present.filter(session__starts_at__gte=month).count()
    year = jst_datetime(fiscal_year_start(today))
    in_year = present.filter(session__starts_at__gte=year)
    people = (
        len(
            await in_year.filter(resident_id__isnull=False)
            .distinct()
            .values_list("resident_id", flat=True)
        )
        + await in_year.filter(resident_id__isnull=True).count()
    )
    since, until = today.replace(day=1).isoformat(), today.isoformat()
    csv = f"/admin/programmes/attendance.csv?from={since}&to={until}"
    return [
        Card("今後の開催（公開中）", upcoming, "回", "/admin/programmes", "講座・イベントへ"),
        Card("今月の申込み", registered, "件"),
        Card("今月の出席", this_month, "人", csv, "出欠 CSV"),
        Card("今年度の受講者（実人数）", people, "人"),
    ]


# ---------- Routes ----------


def routes() -> list[BaseRoute]:
    session = "/programmes/sessions/{session_id:id}"
    return [
        route("/programmes", programmes.programme_list, ["GET"], "programmes"),
        # The programme form carries its picture: a larger body than other admin forms.
        route(
            "/programmes/new",
            programmes.programme_new,
            ["GET", "POST"],
            "programme_new",
            max_body=programmes.IMAGE_FORM_BYTES,
        ),
        route(
            "/programmes/attendance.csv",
            export.period_attendance_csv,
            ["GET"],
            "programmes_attendance_csv",
        ),
        route(
            "/programmes/{programme_id:id}",
            programmes.programme_detail,
            ["GET"],
            "programme",
        ),
        route(
            "/programmes/{programme_id:id}/edit",
            programmes.programme_edit,
            ["GET", "POST"],
            "programme_edit",
            max_body=programmes.IMAGE_FORM_BYTES,
        ),
        route(
            "/programmes/{programme_id:id}/archive",
            programmes.programme_archive,
            ["POST"],
            "programme_archive",
        ),
        route(
            "/programmes/{programme_id:id}/sessions/new",
            sessions.session_new,
            ["GET", "POST"],
            "programme_session_new",
        ),
        route(session, sessions.session_detail_page, ["GET"], "programme_session"),
        route(f"{session}/edit", sessions.session_edit, ["GET", "POST"], "programme_session_edit"),
        route(
            f"{session}/publish", sessions.session_publish, ["POST"], "programme_session_publish"
        ),
        route(f"{session}/copy", sessions.session_copy, ["POST"], "programme_session_copy"),
        route(
            f"{session}/cancel",
            sessions.session_cancel,
            ["GET", "POST"],
            "programme_session_cancel",
        ),
        route(
            f"{session}/registrations.csv",
            export.registrations_csv,
            ["GET"],
            "programme_session_registrations_csv",
        ),
        route(
            f"{session}/attendance.csv",
            export.attendance_csv,
            ["GET"],
            "programme_session_attendance_csv",
        ),
        *roster.routes(),
        *attendance.routes(),
    ]


def news_routes() -> list[BaseRoute]:
    return [
        route("/news", news.news_list, ["GET"], "news"),
        route("/news/new", news.news_new, ["GET", "POST"], "news_new"),
        route("/news/{news_id:id}/edit", news.news_edit, ["GET", "POST"], "news_edit"),
        route("/news/{news_id:id}/publish", news.news_publish, ["POST"], "news_publish"),
        route("/news/{news_id:id}/delete", news.news_delete, ["GET", "POST"], "news_delete"),
    ]


def _merged(name: str, own: Mapping[str, Any]) -> dict[str, Any]:
    """`own` with the roster's and attendance's dict of the same name (when they have one)."""
    merged = dict(own)
    for part in (roster, attendance):
        for key, value in getattr(part, name, {}).items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = {**merged[key], **value}
            else:
                merged.setdefault(key, value)
    return merged


ADMIN = AdminArea(
    routes=routes,
    nav=(NavItem("programmes", "寺子屋・交流会", "/admin/programmes"),),
    audit_labels={**ACTION_LABELS, **roster.AUDIT_LABELS, **attendance.AUDIT_LABELS},
    target_labels=_merged("TARGET_LABELS", TARGET_LABELS),
    target_urls=_merged("TARGET_URLS", TARGET_URLS),
    detail_labels=_merged("DETAIL_LABELS", DETAIL_LABELS),
    detail_values=_merged("DETAIL_VALUES", DETAIL_VALUES),
    dashboard=dashboard_part,
    kpis=kpis,
)
NEWS_ADMIN = AdminArea(
    routes=news_routes,
    nav=(NavItem("news", "お知らせ", "/admin/news"),),
    audit_labels=NEWS_LABELS,
    target_labels={"news_item": "お知らせ"},
    target_urls={"news_item": "/admin/news/{id}/edit"},
)
