"""A round's results page: the headline figures (回答数, 完了率, 満足度 with its respondents,
the Well-Being averages), each question's distribution as a server-rendered SVG chart
(admin.charts) with the same figures as a table, the free comments (no names), and the
breakdowns by profile attribute with small groups hidden (shima.domain.survey_results).

Residents' answers are personal data: every view of this page is audited
(`survey.results.view`)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from admin import audit
from admin.auth import staff_required
from admin.charts import Bar, bars
from admin.forms import flash
from admin.pages import render
from admin.surveys.rounds import period_text, round_or_404
from admin.surveys.surveys import ACTIVE, OUTCOMES
from models.survey import QuestionKind, QuestionRole, Survey
from shima.domain import survey_results
from shima.domain import surveys as rules
from shima.domain.survey_results import QuestionResult, RoundResults


@dataclass(frozen=True)
class QuestionView:
    result: QuestionResult
    kind: str
    chart: Markup | None


def _label_width(labels: list[str]) -> int:
    """Room for the longest label at the chart's font size (wide characters count double)."""
    widest = max(
        (
            sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label)
            for label in labels
        ),
        default=1,
    )
    return max(48, min(300, widest * 7 + 16))


def share_text(share: float | None) -> str:
    return "—" if share is None else f"{share:g}%"


def chart(q: QuestionResult) -> Markup | None:
    """The distribution as bars; the happiness question's 4 and 5 drawn strong. None before
    the first answer (the page says so rather than drawing bars of nothing)."""
    if not q.counts or not q.answered:
        return None
    happiness = q.role == QuestionRole.HAPPINESS
    items = [
        Bar(
            c.label,
            c.count,
            note=f"{c.count}人（{share_text(c.share)}）",
            strong=happiness and c.value in ("4", "5"),
        )
        for c in q.counts
    ]
    title = f"質問{q.position}「{q.text}」の回答の分布（{q.answered}人が回答）"
    return bars(items, title=title, label_width=_label_width([c.label for c in q.counts]))


def question_views(result: RoundResults) -> list[QuestionView]:
    return [QuestionView(q, QuestionKind(q.kind).label, chart(q)) for q in result.questions]


@staff_required
async def round_results_page(request: Request) -> Response:
    round_ = await round_or_404(request)
    if isinstance(round_, Response):
        return round_
    survey = await Survey.get(id=round_.survey_id)  # type: ignore[attr-defined]
    result = await survey_results.round_results(round_)
    await audit.record(
        request,
        "survey.results.view",
        "survey_round",
        round_.id,
        {"survey": survey.id, "responses": result.responses},
    )
    return render(
        request,
        "admin/surveys/results.html",
        {
            "survey": survey,
            "round": round_,
            "status": rules.round_status(round_),
            "period": period_text(round_),
            "result": result,
            "questions": question_views(result),
            "share_text": share_text,
            "min_group": survey_results.MIN_GROUP,
            "comments_shown": survey_results.COMMENTS_SHOWN,
            "outcome": flash(request, OUTCOMES),
        },
        active=ACTIVE,
    )
