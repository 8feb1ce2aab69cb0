"""アンケート's part of the admin, as its registry entry (shima.areas) uses it: routes, the
nav entry, audit labels, the dashboard's 受付中のアンケート part and its 事業の指標.

Surveys and the builder are admin.surveys.surveys (+ builder), rounds admin.surveys.rounds,
the results page admin.surveys.results and the CSV admin.surveys.export."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.routing import BaseRoute

from admin.registry import AdminArea, Card, DashboardPart, NavItem
from admin.routing import route
from admin.surveys import export, results, rounds, surveys
from admin.surveys.surveys import RoundCounts, round_counts
from models.survey import Survey, SurveyRound
from shima.timeutil import now

DASHBOARD_ROUNDS = 5

AUDIT_LABELS = {
    "survey.survey.create": "アンケートの作成",
    "survey.survey.update": "アンケートの編集",
    "survey.survey.new_version": "アンケートの新しい版の作成",
    "survey.survey.archive": "アンケートのアーカイブ",
    "survey.survey.restore": "アンケートのアーカイブ解除",
    "survey.round.create": "アンケートの回の作成",
    "survey.round.update": "アンケートの回の編集",
    "survey.round.close": "アンケートの回の締切",
    "survey.round.delete": "アンケートの回の削除",
    "survey.results.view": "アンケート結果の閲覧",
    "survey.response.export": "アンケート回答の CSV 出力",
}
TARGET_LABELS = {"survey": "アンケート", "survey_round": "アンケートの回"}
TARGET_URLS = {"survey": "/admin/surveys/{id}", "survey_round": "/admin/surveys/rounds/{id}"}
DETAIL_LABELS = {
    "survey_title": "アンケート名",
    "version": "版",
    "questions": "質問数",
    "based_on": "元の版（ID）",
    "round_title": "回の名前",
    "period": "受付期間",
    "survey": "アンケート（ID）",
    "responses": "回答数",
    "rows": "行数",
    "round_fields": "変更した項目",
}
DETAIL_VALUES = {"round_fields": dict(rounds.FIELD_LABELS)}


# ---------- Dashboard ----------


@dataclass(frozen=True)
class OpenRound:
    survey: Survey
    round: SurveyRound
    counts: RoundCounts


async def open_rounds() -> list[OpenRound]:
    at = now()
    found = (
        await SurveyRound.filter(opens_at__lte=at, closes_at__gt=at, survey__is_archived=False)
        .order_by("closes_at", "id")
        .limit(DASHBOARD_ROUNDS)
        .prefetch_related("survey")
    )
    counts = await round_counts([r.id for r in found])
    return [OpenRound(r.survey, r, counts[r.id]) for r in found]


async def dashboard_part(request: Request) -> DashboardPart | None:
    """受付中のアンケート: each open round with its responses and completion (counts only);
    nothing when no round is open."""
    lines = await open_rounds()
    if not lines:
        return None
    return DashboardPart(
        "admin/surveys/_dashboard.html", {"lines": lines, "period": rounds.period_text}
    )


async def kpis() -> list[Card]:
    """受付中のアンケート: how many rounds take answers now (their counts are the part's)."""
    at = now()
    open_now = await SurveyRound.filter(
        opens_at__lte=at, closes_at__gt=at, survey__is_archived=False
    ).count()
    return [Card("受付中のアンケート", open_now, "件", "/admin/surveys", "アンケートへ")]


# ---------- Routes ----------


def routes() -> list[BaseRoute]:
    one = "/surveys/{survey_id:id}"
    round_ = "/surveys/rounds/{round_id:id}"
    return [
        route("/surveys", surveys.survey_list, ["GET"], "surveys"),
        route("/surveys/new", surveys.survey_new, ["GET", "POST"], "survey_new"),
        route(one, surveys.survey_detail_page, ["GET"], "survey"),
        route(f"{one}/edit", surveys.survey_edit, ["GET", "POST"], "survey_edit"),
        route(f"{one}/version", surveys.survey_new_version, ["POST"], "survey_version"),
        route(f"{one}/archive", surveys.survey_archive, ["POST"], "survey_archive"),
        route(f"{one}/restore", surveys.survey_restore, ["POST"], "survey_restore"),
        route(f"{one}/rounds/new", rounds.round_new, ["GET", "POST"], "survey_round_new"),
        route(round_, results.round_results_page, ["GET"], "survey_round"),
        route(f"{round_}/edit", rounds.round_edit, ["GET", "POST"], "survey_round_edit"),
        route(f"{round_}/close", rounds.round_close, ["POST"], "survey_round_close"),
        route(f"{round_}/delete", rounds.round_delete, ["POST"], "survey_round_delete"),
        route(f"{round_}/responses.csv", export.responses_csv, ["GET"], "survey_round_export"),
    ]


ADMIN = AdminArea(
    routes=routes,
    nav=(NavItem("surveys", "アンケート", "/admin/surveys"),),
    audit_labels=AUDIT_LABELS,
    target_labels=TARGET_LABELS,
    target_urls=TARGET_URLS,
    detail_labels=DETAIL_LABELS,
    detail_values=DETAIL_VALUES,
    dashboard=dashboard_part,
    kpis=kpis,
)
