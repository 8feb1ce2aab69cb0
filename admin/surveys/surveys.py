"""Surveys in the admin: the list (each survey's versions and rounds with their status and
response counts), the builder (new survey, edit while no one has answered), the survey's
page (questions, rounds, 新しい版を作る once frozen) and アーカイブ.

The rules are shima.domain.surveys; this module reads forms (admin.surveys.builder) and
calls them, each change audited in the same transaction. These pages show counts only, no
resident's answer: the answers are the results page's and the CSV's (admin.surveys.results,
admin.surveys.export), which are audited as views."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import Flash, flash
from admin.listing import page_of
from admin.pages import render
from admin.surveys import builder
from models.survey import (
    QuestionKind,
    QuestionRole,
    ResponseStatus,
    Survey,
    SurveyQuestion,
    SurveyResponse,
    SurveyRound,
)
from shima.domain import surveys as rules

SURVEYS_PATH = "/admin/surveys"
ACTIVE = "surveys"  # the nav entry (admin/surveys/area.py)

OUTCOMES: dict[str, Flash] = {
    "created": (
        "success",
        "アンケートを作成しました。「回を作る」で受付期間を決めると、その期間に LINE の"
        "「アンケート」から回答できます。",
    ),
    "updated": ("success", "アンケートを保存しました。"),
    "versioned": (
        "success",
        "新しい版を作りました。質問を直してから「回を作る」で受付期間を決めてください。"
        "前の版とその結果はそのまま残ります。",
    ),
    "version_exists": (
        "warning",
        "この版からはすでに新しい版が作られています。その版を開きました。",
    ),
    "frozen": ("warning", rules.FROZEN_MESSAGE),
    "archived": ("success", "アーカイブしました。一覧には「アーカイブも表示」で表示されます。"),
    "restored": ("success", "アーカイブから戻しました。"),
    "round_created": ("success", "回を作りました。受付期間のあいだ、LINE で回答できます。"),
    "round_updated": ("success", "回を保存しました。"),
    "round_closed": ("success", "回を締め切りました。LINE からの回答はもう受け付けません。"),
    "round_already_closed": ("warning", "この回はすでに終了しています。"),
    "round_deleted": ("success", "回を削除しました。"),
}


# ---------- Counts ----------


@dataclass(frozen=True)
class RoundCounts:
    responses: int = 0
    completed: int = 0

    @property
    def completion_rate(self) -> int | None:
        return round(100 * self.completed / self.responses) if self.responses else None


async def round_counts(round_ids: Sequence[int]) -> dict[int, RoundCounts]:
    """Responses and completed ones per round (one grouped query)."""
    if not round_ids:
        return {}
    rows = (
        await SurveyResponse.filter(round_id__in=list(round_ids))
        .annotate(n=Count("id"))
        .group_by("round_id", "status")
        .values("round_id", "status", "n")
    )
    found: dict[int, Counter[str]] = {i: Counter() for i in round_ids}
    for row in rows:
        found[int(row["round_id"])][str(row["status"])] += int(row["n"])
    return {
        i: RoundCounts(sum(c.values()), c.get(ResponseStatus.COMPLETED.value, 0))
        for i, c in found.items()
    }


@dataclass(frozen=True)
class RoundLine:
    round: SurveyRound
    status: rules.RoundStatus
    counts: RoundCounts


async def round_lines(survey_ids: Sequence[int]) -> dict[int, list[RoundLine]]:
    """Each survey's rounds, latest first, with their status and counts."""
    rounds = await SurveyRound.filter(survey_id__in=list(survey_ids)).order_by("-opens_at", "-id")
    counts = await round_counts([r.id for r in rounds])
    found: dict[int, list[RoundLine]] = {i: [] for i in survey_ids}
    for r in rounds:
        found[r.survey_id].append(  # type: ignore[attr-defined]
            RoundLine(r, rules.round_status(r), counts.get(r.id, RoundCounts()))
        )
    return found


# ---------- Helpers ----------


def to_survey(survey_id: int, outcome: str = "") -> Response:
    query = f"?{urlencode({'done': outcome})}" if outcome else ""
    return RedirectResponse(f"{SURVEYS_PATH}/{survey_id}{query}", status_code=303)


async def survey_or_404(request: Request) -> Survey | Response:
    survey = await Survey.get_or_none(id=request.path_params["survey_id"])
    if survey is None:
        return error_page(request, 404, title="アンケートが見つかりません")
    return survey


async def questions_of(survey_id: int) -> list[SurveyQuestion]:
    return list(await SurveyQuestion.filter(survey_id=survey_id).order_by("position"))


def survey_detail(survey: Survey, questions: int | None = None) -> dict[str, Any]:
    """What the audit log keeps of a survey (staff's own words, no resident's)."""
    detail: dict[str, Any] = {"survey_title": survey.title, "version": survey.version}
    if questions is not None:
        detail["questions"] = questions
    return detail


@dataclass(frozen=True)
class QuestionLine:
    """A question as the survey page lists it."""

    q: SurveyQuestion
    kind: str
    choices: list[str]
    condition: str
    role: str


def question_lines(questions: Sequence[SurveyQuestion]) -> list[QuestionLine]:
    by_id = {q.id: q for q in questions}
    lines = []
    for q in questions:
        source = by_id.get(q.show_if_id) if q.show_if_id else None  # type: ignore[attr-defined]
        condition = ""
        if source is not None:
            words = builder.condition_words(source, q.show_if_values or [])
            condition = f"質問{source.position}が「{words}」のときだけ"
        lines.append(
            QuestionLine(
                q,
                QuestionKind(q.kind).label,
                [c["label"] for c in q.choices or []],
                condition,
                rules.ROLE_LABELS.get(QuestionRole(q.role), "") if q.role else "",
            )
        )
    return lines


# ---------- The list ----------


@staff_required
async def survey_list(request: Request) -> Response:
    """Surveys, newest first (archived ones on request), each with its rounds."""
    show_archived = request.query_params.get("archived") == "1"
    found = Survey.all() if show_archived else Survey.filter(is_archived=False)
    page, rows = await page_of(request, found, "-id")
    lines = await round_lines([s.id for s in rows])
    newer = {
        int(s["based_on_id"]): int(s["id"])
        for s in await Survey.filter(based_on_id__in=[s.id for s in rows]).values(
            "id", "based_on_id"
        )
    }
    return render(
        request,
        "admin/surveys/surveys.html",
        {
            "surveys": rows,
            "lines": lines,
            "newer": newer,
            "page": page,
            "show_archived": show_archived,
            "archived_count": await Survey.filter(is_archived=True).count(),
            "outcome": flash(request, OUTCOMES),
        },
        active=ACTIVE,
    )


# ---------- The survey's page ----------


async def survey_page(
    request: Request,
    survey: Survey,
    *,
    errors: Sequence[str] = (),
    status_code: int = 200,
) -> Response:
    questions = await questions_of(survey.id)
    lines = (await round_lines([survey.id]))[survey.id]
    frozen = await rules.is_frozen(survey.id)
    newer = await rules.next_version_of(survey.id)
    outcome = flash(request, OUTCOMES)
    return render(
        request,
        "admin/surveys/survey.html",
        {
            "survey": survey,
            "questions": question_lines(questions),
            "rounds": lines,
            "frozen": frozen,
            "newer": newer,
            # Why the questions cannot change, said once: not when 「編集」 was just refused
            # with the same words.
            "frozen_note": frozen and not newer and outcome != OUTCOMES["frozen"],
            "based_on": await Survey.get_or_none(id=survey.based_on_id)  # type: ignore[attr-defined]
            if survey.based_on_id  # type: ignore[attr-defined]
            else None,
            "open_or_scheduled": any(line.status != rules.RoundStatus.CLOSED for line in lines),
            "errors": list(errors),
            "outcome": outcome,
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def survey_detail_page(request: Request) -> Response:
    survey = await survey_or_404(request)
    if isinstance(survey, Response):
        return survey
    return await survey_page(request, survey)


# ---------- The builder ----------


async def form_page(
    request: Request,
    survey: Survey | None,
    values: builder.Values,
    errors: Sequence[str] = (),
    *,
    status_code: int | None = None,
) -> Response:
    return render(
        request,
        "admin/surveys/survey_form.html",
        {
            "survey": survey,
            "errors": list(errors),
            **builder.template_context(values),
        },
        status_code=status_code or (400 if errors else 200),
        active=ACTIVE,
    )


def _more_rows(values: builder.Values) -> builder.Values:
    return builder.with_blanks(values, builder.ADD_ROWS + builder.EMPTY_ROWS)


@staff_required
async def survey_new(request: Request) -> Response:
    if request.method == "GET":
        first = builder.Values(rows=[builder.Row("n1", kind=QuestionKind.SCALE5.value)])
        return await form_page(request, None, builder.with_blanks(first, 2))
    form = await request.form()
    if form.get("action") == "add":
        values, _ = builder.typed_values(form, {})
        return await form_page(request, None, _more_rows(values))
    spec, values, errors = builder.parse(form, {})
    if spec is None:
        return await form_page(request, None, builder.with_blanks(values), errors)
    try:
        async with in_transaction():
            survey = await rules.create_survey(spec)
            await audit.record(
                request,
                "survey.survey.create",
                "survey",
                survey.id,
                survey_detail(survey, len(spec.questions)),
            )
    except rules.BadSurvey as exc:
        return await form_page(request, None, builder.with_blanks(values), exc.problems)
    return to_survey(survey.id, "created")


@staff_required
async def survey_edit(request: Request) -> Response:
    """Edit texts and questions while no round has an answer (checked again when saved)."""
    survey = await survey_or_404(request)
    if isinstance(survey, Response):
        return survey
    questions = await questions_of(survey.id)
    if request.method == "GET":
        if await rules.is_frozen(survey.id):
            return to_survey(survey.id, "frozen")
        return await form_page(request, survey, builder.values_of(survey, questions))
    kept = {q.id: q for q in questions}
    form = await request.form()
    if form.get("action") == "add":
        values, _ = builder.typed_values(form, kept)
        return await form_page(request, survey, _more_rows(values))
    spec, values, errors = builder.parse(form, kept, is_standard=survey.is_standard)
    if spec is None:
        return await form_page(request, survey, builder.with_blanks(values), errors)
    try:
        async with in_transaction():
            saved = await rules.update_survey(survey.id, spec)
            await audit.record(
                request,
                "survey.survey.update",
                "survey",
                survey.id,
                survey_detail(saved, len(spec.questions)),
            )
    except rules.BadSurvey as exc:
        return await form_page(request, survey, builder.with_blanks(values), exc.problems)
    except rules.SurveyError as exc:  # frozen since the form was opened
        return await form_page(
            request, survey, builder.with_blanks(values), [exc.message], status_code=409
        )
    return to_survey(survey.id, "updated")


@staff_required
async def survey_new_version(request: Request) -> Response:
    """新しい版を作る: a copy to change (a double tap opens the copy already made)."""
    survey = await survey_or_404(request)
    if isinstance(survey, Response):
        return survey
    async with in_transaction():
        copy, made = await rules.new_version(survey.id)
        if made:
            await audit.record(
                request,
                "survey.survey.new_version",
                "survey",
                copy.id,
                {**survey_detail(copy), "based_on": survey.id},
            )
    return to_survey(copy.id, "versioned" if made else "version_exists")


async def _archive(request: Request, archived: bool) -> Response:
    survey = await survey_or_404(request)
    if isinstance(survey, Response):
        return survey
    try:
        async with in_transaction():
            saved, changed = await rules.set_archived(survey.id, archived)
            if changed:
                action = "survey.survey.archive" if archived else "survey.survey.restore"
                await audit.record(request, action, "survey", survey.id, survey_detail(saved))
    except rules.SurveyError as exc:
        return await survey_page(request, survey, errors=[exc.message], status_code=409)
    return to_survey(survey.id, "archived" if archived else "restored")


@staff_required
async def survey_archive(request: Request) -> Response:
    return await _archive(request, True)


@staff_required
async def survey_restore(request: Request) -> Response:
    return await _archive(request, False)
