"""Survey fixtures for the building, results and admin tests: surveys, rounds, and
responses written directly as rows, with the team's answer conventions (yes/no → number 1/0;
scale and year → number; single → `text` = the choice value; multi → `values`; text →
`text`; skipped → `skipped` only)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from models.profiles import ResidentProfile
from models.residents import Resident
from models.survey import (
    QuestionKind,
    QuestionRole,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyRound,
)
from shima.domain.surveys import QuestionSpec, SurveySpec, create_survey
from shima.timeutil import now

SKIP = object()  # an optional question passed with スキップ

# A small survey with every kind: the HAPPINESS question is optional so it can be skipped.
KINDS_SPEC = SurveySpec(
    title="島の暮らしアンケート",
    description="所要時間は3分ほどです。",
    thanks="ありがとうございました。",
    questions=(
        QuestionSpec(
            QuestionKind.SCALE5,
            "いまの幸せはどのくらいですか？",
            required=False,
            role=QuestionRole.HAPPINESS,
        ),
        QuestionSpec(
            QuestionKind.SCALE11, "現在、どの程度幸せですか？", role=QuestionRole.WB_HAPPINESS
        ),
        QuestionSpec(QuestionKind.SCALE11, "生活に満足していますか？", role=QuestionRole.WB_LIFE),
        QuestionSpec(QuestionKind.YESNO, "子育て中ですか？"),
        QuestionSpec(
            QuestionKind.SINGLE,
            "よく使う場所は？",
            choices=(("Inno", "Inno"), ("自宅", "自宅"), ("カフェ", "カフェ")),
        ),
        QuestionSpec(
            QuestionKind.MULTI,
            "興味のある講座は？",
            choices=(("SNS", "SNS"), ("写真", "写真"), ("経理", "経理")),
        ),
        QuestionSpec(QuestionKind.YEAR, "移住した年は？"),
        QuestionSpec(QuestionKind.TEXT, "ご意見をどうぞ", required=False),
    ),
)


async def kinds_survey() -> tuple[Survey, list[SurveyQuestion]]:
    survey = await create_survey(KINDS_SPEC)
    return survey, await questions(survey)


async def questions(survey: Survey) -> list[SurveyQuestion]:
    return list(await SurveyQuestion.filter(survey_id=survey.id).order_by("position"))


async def open_round(survey: Survey, title: str = "2026年度", days: int = 30) -> SurveyRound:
    at = now()
    return await SurveyRound.create(
        survey=survey,
        title=title,
        opens_at=at - timedelta(days=1),
        closes_at=at + timedelta(days=days),
    )


async def resident(name: str = "奄美 花子", **profile: Any) -> Resident:
    """A resident; with `profile` fields, their profile row too."""
    who = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name)
    if profile:
        await ResidentProfile.create(resident=who, **profile)
    return who


async def respond(
    round_: SurveyRound,
    who: Resident,
    answers: Mapping[SurveyQuestion, object],
    *,
    completed: bool = True,
    at: datetime | None = None,
) -> SurveyResponse:
    """A response with one answer row per item: int → number (bool → 1/0), str → text (a
    single choice's value or free text), list → values, SKIP → skipped."""
    at = at or now()
    response = await SurveyResponse.create(
        round=round_,
        resident=who,
        status=ResponseStatus.COMPLETED if completed else ResponseStatus.IN_PROGRESS,
        started_at=at - timedelta(minutes=5),
        answered_at=at,
        completed_at=at if completed else None,
    )
    for n, (question, value) in enumerate(answers.items()):
        await SurveyAnswer.create(
            response=response,
            question=question,
            answered_at=at - timedelta(minutes=5) + timedelta(seconds=n),
            **answer_fields(value),
        )
    return response


def answer_fields(value: object) -> dict[str, Any]:
    if value is SKIP:
        return {"skipped": True}
    if isinstance(value, bool):
        return {"number": 1 if value else 0}
    if isinstance(value, int):
        return {"number": value}
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, Sequence):
        return {"values": list(value)}
    raise TypeError(value)
