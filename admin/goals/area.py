"""計画の目標's part of the admin, as its registry entry (shima.areas) uses it: routes, the
nav entry, audit labels and the dashboard's 計画の目標 part (the five values against their
targets, counts only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute

from admin.goals import views
from admin.registry import AdminArea, DashboardPart, NavItem
from admin.routing import route
from shima.domain import goals as rules

ACTION_LABELS = {
    "goals.people.view": "計画の目標の対象者の閲覧",
    "goals.report.export": "計画の目標の年度別レポートの CSV 出力",
    "goals.settings.update": "計画の期間・目標値の変更",
}
TARGET_LABELS = {"goal": "計画の目標", "plan": "計画の期間・目標値"}
TARGET_URLS = {"goal": "/admin/goals/{id}/people", "plan": "/admin/goals/settings"}
DETAIL_LABELS = {
    "rows": "行数",
    "page": "ページ",
    "starts_on": "計画期間の始まり",
    "ends_on": "計画期間の終わり",
    **{
        field: f"{kind.title}の目標値"
        for field, kind in zip(rules.TARGET_FIELDS, rules.GOALS, strict=True)
    },
}


async def dashboard_part(request: Request) -> DashboardPart:
    """計画の目標: the five current values against their targets (no residents' data)."""
    plan = await rules.plan()
    return DashboardPart(
        "admin/goals/_dashboard.html",
        {"plan": plan, "goals": await rules.board(plan, series=False)},
    )


def routes() -> list[BaseRoute]:
    return [
        route("/goals", views.board, ["GET"], "goals"),
        route("/goals/report", views.report, ["GET"], "goals_report"),
        route("/goals/report.csv", views.report_csv, ["GET"], "goals_report_csv"),
        route("/goals/settings", views.settings_page, ["GET", "POST"], "goals_settings"),
        route("/goals/{goal:id}/people", views.people, ["GET"], "goals_people"),
    ]


ADMIN = AdminArea(
    routes=routes,
    nav=(NavItem("goals", "計画の目標", "/admin/goals"),),
    audit_labels=ACTION_LABELS,
    target_labels=TARGET_LABELS,
    target_urls=TARGET_URLS,
    detail_labels=DETAIL_LABELS,
    dashboard=dashboard_part,
)
