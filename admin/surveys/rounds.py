"""A survey's rounds in the admin: make one (also 「もう一度実施」, prefilled a year after the
last), edit its name and dates within the rules, 締め切る now, and delete one nobody has
answered. The rules (no overlap, no reopening) are shima.domain.surveys'; each change is
audited in the same transaction. Times are typed and shown in JST."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import form_text, parse_date, parse_time, short_text, too_long, typed_text
from admin.pages import render
from admin.surveys.surveys import ACTIVE, SURVEYS_PATH, survey_or_404, survey_page, to_survey
from models.survey import Survey, SurveyResponse, SurveyRound
from shima.domain import surveys as rules
from shima.timeutil import JST, jst_datetime

TEXT_LIMITS = {"title": ("回の名前", rules.ROUND_TITLE_MAX)}
FIELD_LABELS = {"title": "回の名前", "opens_at": "開始", "closes_at": "締切"}


def period_text(round_: SurveyRound) -> str:
    return f"{_local(round_.opens_at):%Y/%m/%d %H:%M}〜{_local(round_.closes_at):%Y/%m/%d %H:%M}"


def round_detail(round_: SurveyRound) -> dict[str, Any]:
    """What the audit log keeps of a round."""
    return {
        "round_title": round_.title,
        "period": period_text(round_),
        "survey": round_.survey_id,  # type: ignore[attr-defined]
    }


def to_round_results(round_id: int, outcome: str = "") -> Response:
    query = f"?{urlencode({'done': outcome})}" if outcome else ""
    return RedirectResponse(f"{SURVEYS_PATH}/rounds/{round_id}{query}", status_code=303)


async def round_or_404(request: Request) -> SurveyRound | Response:
    found = await SurveyRound.get_or_none(id=request.path_params["round_id"])
    if found is None:
        return error_page(request, 404, title="アンケートの回が見つかりません")
    return found


def _local(value: datetime) -> datetime:
    return value.astimezone(JST)


def _datetime_local(text: str) -> datetime | None:
    """A typed `YYYY-MM-DDTHH:MM` (JST)."""
    day = parse_date(text[:10])
    at = parse_time(text[11:16]) if len(text) >= 16 and text[10] in "T " else None
    return jst_datetime(day, at) if day is not None and at is not None else None


def spec_values(spec: rules.RoundSpec) -> dict[str, str]:
    return {
        "title": spec.title,
        "opens_at": f"{_local(spec.opens_at):%Y-%m-%dT%H:%M}",
        "closes_at": f"{_local(spec.closes_at):%Y-%m-%dT%H:%M}",
    }


def typed_values(form: FormData) -> dict[str, str]:
    return {name: typed_text(form, name) for name in ("title", "opens_at", "closes_at")}


def parse_round_form(form: FormData) -> tuple[rules.RoundSpec | None, list[str]]:
    errors = too_long(form, TEXT_LIMITS)
    opens = _datetime_local(short_text(form, "opens_at", 19))
    closes = _datetime_local(short_text(form, "closes_at", 19))
    if opens is None:
        errors.append("開始の日時を入力してください。")
    if closes is None:
        errors.append("締切の日時を入力してください。")
    if errors or opens is None or closes is None:
        return None, errors
    return rules.RoundSpec(form_text(form, "title", rules.ROUND_TITLE_MAX), opens, closes), []


async def form_page(
    request: Request,
    survey: Survey,
    round_: SurveyRound | None,
    values: Mapping[str, str],
    errors: Sequence[str] = (),
) -> Response:
    has_rounds = await SurveyRound.filter(survey_id=survey.id).exists()
    status = rules.round_status(round_) if round_ is not None else None
    answered = await SurveyResponse.filter(round_id=round_.id).count() if round_ is not None else 0
    return render(
        request,
        "admin/surveys/round_form.html",
        {
            "survey": survey,
            "round": round_,
            "status": status,
            "answered": answered,
            "again": round_ is None and has_rounds,
            "values": values,
            "errors": list(errors),
            "limit": rules.ROUND_TITLE_MAX,
        },
        status_code=400 if errors else 200,
        active=ACTIVE,
    )


@staff_required
async def round_new(request: Request) -> Response:
    """回を作る / もう一度実施: prefilled with the next round's suggestion."""
    survey = await survey_or_404(request)
    if isinstance(survey, Response):
        return survey
    if request.method == "GET":
        if survey.is_archived:
            return await survey_page(
                request,
                survey,
                errors=["アーカイブ済みのアンケートには、新しい回を作れません。"],
                status_code=409,
            )
        suggested = await rules.next_round_spec(survey.id)
        return await form_page(request, survey, None, spec_values(suggested))
    form = await request.form()
    spec, errors = parse_round_form(form)
    if spec is None:
        return await form_page(request, survey, None, typed_values(form), errors)
    try:
        async with in_transaction():
            made = await rules.create_round(survey.id, spec)
            await audit.record(
                request, "survey.round.create", "survey_round", made.id, round_detail(made)
            )
    except rules.BadRound as exc:
        return await form_page(request, survey, None, typed_values(form), exc.problems)
    return to_survey(survey.id, "round_created")


@staff_required
async def round_edit(request: Request) -> Response:
    round_ = await round_or_404(request)
    if isinstance(round_, Response):
        return round_
    survey = await Survey.get(id=round_.survey_id)  # type: ignore[attr-defined]
    if request.method == "GET":
        stored = rules.RoundSpec(round_.title, round_.opens_at, round_.closes_at)
        return await form_page(request, survey, round_, spec_values(stored))
    form = await request.form()
    spec, errors = parse_round_form(form)
    if spec is None:
        return await form_page(request, survey, round_, typed_values(form), errors)
    try:
        async with in_transaction():
            saved, changed = await rules.update_round(round_.id, spec)
            if changed:
                await audit.record(
                    request,
                    "survey.round.update",
                    "survey_round",
                    saved.id,
                    {**round_detail(saved), "round_fields": changed},
                )
    except rules.BadRound as exc:
        return await form_page(request, survey, round_, typed_values(form), exc.problems)
    return to_survey(survey.id, "round_updated")


@staff_required
async def round_close(request: Request) -> Response:
    """締め切る: the open round ends now (a double tap: already closed)."""
    round_ = await round_or_404(request)
    if isinstance(round_, Response):
        return round_
    survey = await Survey.get(id=round_.survey_id)  # type: ignore[attr-defined]
    try:
        async with in_transaction():
            saved, closed = await rules.close_round(round_.id)
            if closed:
                await audit.record(
                    request, "survey.round.close", "survey_round", saved.id, round_detail(saved)
                )
    except rules.SurveyError as exc:
        return await survey_page(request, survey, errors=[exc.message], status_code=409)
    return to_survey(survey.id, "round_closed" if closed else "round_already_closed")


@staff_required
async def round_delete(request: Request) -> Response:
    """Delete a round nobody has answered (a double tap: already gone, said once more)."""
    round_ = await SurveyRound.get_or_none(id=request.path_params["round_id"])
    if round_ is None:
        return RedirectResponse(f"{SURVEYS_PATH}?done=round_deleted", status_code=303)
    survey = await Survey.get(id=round_.survey_id)  # type: ignore[attr-defined]
    try:
        async with in_transaction():
            gone = await rules.delete_round(round_.id)
            if gone is not None:
                await audit.record(
                    request, "survey.round.delete", "survey_round", round_.id, round_detail(gone)
                )
    except rules.SurveyError as exc:
        return await survey_page(request, survey, errors=[exc.message], status_code=409)
    return to_survey(survey.id, "round_deleted")
