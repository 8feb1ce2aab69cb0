"""お知らせ配信's part of the admin, as its registry entry (shima.areas) uses it: routes, the
nav entry, audit labels and the dashboard's part (sends waiting for approval, scheduled or
going out, with their counts).

The history is admin.announce.history, composing admin.announce.compose (+ audience, images),
an announcement's page and its steps admin.announce.page, the picture LINE fetches
admin.announce.public."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute

from admin.announce import common, compose, history, page, public
from admin.announce.common import status_text
from admin.programmes.programmes import closes_upload
from admin.registry import AdminArea, DashboardPart, NavItem
from admin.routing import route
from models.announcements import Announcement, AnnouncementStatus
from shima.domain.announcements import STATUS_LABELS

DASHBOARD_ROWS = 5
UNDERWAY = (
    AnnouncementStatus.AWAITING_APPROVAL,
    AnnouncementStatus.SCHEDULED,
    AnnouncementStatus.SENDING,
)

ACTION_LABELS = {
    common.CREATE: "お知らせの作成",
    common.UPDATE: "お知らせの編集",
    common.SEND: "お知らせの配信の手続き",
    common.APPROVE: "お知らせの配信の承認",
    common.CANCEL: "お知らせの配信の取り消し",
    common.DELETE: "お知らせの下書きの削除",
}
TARGET_LABELS = {"announcement": "お知らせ配信"}
TARGET_URLS = {"announcement": "/admin/announcements/{id}"}
DETAIL_LABELS = {
    "title": "タイトル",
    "messages": "通数",
    "image": "画像",
    "audience": "配信先の条件",
    "send_status": "状態",
    "was_status": "それまでの状態",
    "recipients": "配信先の人数",
    "send_at": "配信日時",
    "copied_from": "複製元（ID）",
}
# The audience's condition names (Segment.to_json keys) and statuses as staff read them.
CONDITIONS = {
    "tags": "タグ",
    "skills": "職種・スキル",
    "raising_children": "子育て中",
    "side_job": "副業",
    "migrant": "地元／移住",
    "districts": "お住まいの地区",
    "programme_id": "講座",
    "session_id": "開催回",
    "programme_who": "申込者／出席者",
    "market_id": "マーケット",
    "market_statuses": "申込みの状態",
    "round_id": "アンケートの回",
    "round_who": "回答済み／未回答",
}
DETAIL_VALUES = {
    "send_status": {s.value: label for s, label in STATUS_LABELS.items()},
    "was_status": {s.value: label for s, label in STATUS_LABELS.items()},
    "audience": CONDITIONS,
}


# ---------- Dashboard ----------


async def dashboard_part(request: Request) -> DashboardPart | None:
    """お知らせ配信: sends awaiting approval, scheduled or going out (titles, times and
    counts; staff's own words only); nothing when there are none."""
    rows = list(
        await Announcement.filter(status__in=list(UNDERWAY))
        .order_by("send_at", "id")
        .limit(DASHBOARD_ROWS)
        .only("id", "title", "status", "send_at", "recipients", "delivered", "failed", "skipped")
    )
    if not rows:
        return None
    return DashboardPart(
        "admin/announce/_dashboard.html",
        {"rows": rows, "status_text": status_text, "more": await _underway() > len(rows)},
    )


async def _underway() -> int:
    return await Announcement.filter(status__in=list(UNDERWAY)).count()


# ---------- Routes ----------


def routes() -> list[BaseRoute]:
    one = "/announcements/{announcement_id:id}"
    return [
        route("/announcements", history.announcement_list, ["GET"], "announcements"),
        route(
            "/announcements/new",
            closes_upload(compose.announcement_new),
            ["GET", "POST"],
            "announcement_new",
            max_body=compose.FORM_BYTES,
        ),
        route("/announcements/count", compose.announcement_count, ["GET"], "announcement_count"),
        # LINE fetches the pictures without a session (admin.routing.PUBLIC).
        route(
            "/announcements/public/{name}",
            public.announcement_image,
            ["GET"],
            "announcement_image_public",
        ),
        route(one, page.announcement_detail, ["GET"], "announcement"),
        route(
            f"{one}/edit",
            closes_upload(compose.announcement_edit),
            ["GET", "POST"],
            "announcement_edit",
            max_body=compose.FORM_BYTES,
        ),
        route(f"{one}/send", page.announcement_send, ["POST"], "announcement_send"),
        route(f"{one}/approve", page.announcement_approve, ["POST"], "announcement_approve"),
        route(f"{one}/cancel", page.announcement_cancel, ["POST"], "announcement_cancel"),
        route(f"{one}/copy", page.announcement_copy, ["POST"], "announcement_copy"),
        route(f"{one}/delete", page.announcement_delete, ["POST"], "announcement_delete"),
    ]


ADMIN = AdminArea(
    routes=routes,
    nav=(NavItem("announce", "お知らせ配信", common.PATH),),
    audit_labels=ACTION_LABELS,
    target_labels=TARGET_LABELS,
    target_urls=TARGET_URLS,
    detail_labels=DETAIL_LABELS,
    detail_values=DETAIL_VALUES,
    dashboard=dashboard_part,
)
