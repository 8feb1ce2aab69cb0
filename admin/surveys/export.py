"""A round's responses as CSV (admin.csv_export: Excel-safe, UTF-8 with BOM, formula cells
neutralised): one row per response — its id, the resident's LINE name, status and dates
(JST), then one column per question with the answer in words (choices by their label,
はい / いいえ, （スキップ） for a skipped one). Read in batches as values, streamed.
Audited as `survey.response.export`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from admin import audit
from admin.auth import staff_required
from admin.csv_export import csv_response
from admin.surveys.rounds import round_or_404
from models.survey import QuestionKind, ResponseStatus, SurveyAnswer, SurveyQuestion, SurveyResponse
from shima.timeutil import format_jst

BATCH = 500
DATES = ("started_at", "answered_at", "completed_at")
HEADER = ("回答ID", "利用者（LINEの表示名）", "状態", "回答開始", "最後の回答", "回答完了")
SKIPPED = "（スキップ）"


def question_header(q: SurveyQuestion) -> str:
    return f"Q{q.position} {q.text}"


def answer_cell(q: SurveyQuestion, row: dict[str, Any] | None) -> object:
    """An answer as staff read it ("" when not answered)."""
    if row is None:
        return ""
    if row["skipped"]:
        return SKIPPED
    kind = QuestionKind(q.kind)
    labels = {c["value"]: c["label"] for c in q.choices or []}
    if kind == QuestionKind.YESNO:
        return {1: "はい", 0: "いいえ"}.get(row["number"], "")
    if kind in (QuestionKind.SCALE5, QuestionKind.SCALE11, QuestionKind.YEAR):
        return row["number"]
    if kind == QuestionKind.SINGLE:
        return labels.get(row["text"], row["text"])
    if kind == QuestionKind.MULTI:
        return "、".join(labels.get(v, v) for v in row["values"] or [])
    return row["text"]


def _when(value: datetime | None) -> str:
    return format_jst(value)


async def rows_of(
    round_id: int, questions: Sequence[SurveyQuestion]
) -> AsyncIterator[list[object]]:
    last = 0
    while True:
        responses = (
            await SurveyResponse.filter(round_id=round_id, id__gt=last)
            .order_by("id")
            .limit(BATCH)
            .values(
                "id",
                "resident__display_name",
                "status",
                "started_at",
                "answered_at",
                "completed_at",
            )
        )
        if not responses:
            return
        ids = [int(r["id"]) for r in responses]
        answers: dict[tuple[int, int], dict[str, Any]] = {
            (int(a["response_id"]), int(a["question_id"])): a
            for a in await SurveyAnswer.filter(response_id__in=ids).values(
                "response_id", "question_id", "number", "text", "values", "skipped"
            )
        }
        for r in responses:
            yield [
                r["id"],
                r["resident__display_name"] or "",
                ResponseStatus(r["status"]).label,
                _when(r["started_at"]),
                _when(r["answered_at"]),
                _when(r["completed_at"]),
                *(answer_cell(q, answers.get((int(r["id"]), q.id))) for q in questions),
            ]
        last = ids[-1]


@staff_required
async def responses_csv(request: Request) -> Response:
    round_ = await round_or_404(request)
    if isinstance(round_, Response):
        return round_
    survey_id = round_.survey_id  # type: ignore[attr-defined]
    questions = list(await SurveyQuestion.filter(survey_id=survey_id).order_by("position"))
    count = await SurveyResponse.filter(round_id=round_.id).count()
    await audit.record(
        request,
        "survey.response.export",
        "survey_round",
        round_.id,
        {"survey": survey_id, "rows": count},
    )
    survey_title = (await round_.survey).title
    return csv_response(
        f"アンケート_{survey_title}_{round_.title}.csv",
        [*HEADER, *(question_header(q) for q in questions)],
        rows_of(round_.id, questions),
        fallback=f"survey_round_{round_.id}.csv",
    )
