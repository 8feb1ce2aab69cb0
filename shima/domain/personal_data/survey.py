"""アンケート's part of a resident's data (the area of the survey and of プロフィール): their
responses and answers, their profile and the tags staff gave them.

Erasure keeps what the figures count — every response and every scale, yes/no, choice and
year answer (the results and goal 4), the profile fields the plan's goals read (residency and
moved year, children, side job, freelance income, skills, and the dates they were recorded:
goals 2 and 3) and the コミュニティリーダー tag (goal 5) — and empties the rest: written
answers, the occupation in their own words, the district and the income band, and any other
tag (staff's own words about them). Nothing here waits for staff."""

from __future__ import annotations

from models.profiles import ResidentProfile, ResidentTag
from models.residents import Resident
from models.survey import QuestionKind, SurveyAnswer, SurveyResponse
from shima.domain import profiles
from shima.domain.personal_data import Erasure, ExportTable
from shima.domain.personal_data.cells import row
from shima.domain.survey_responses import answer_text
from shima.timeutil import format_jst

# Profile fields no goal reads (shima.domain.goals): erased. The others stay.
ERASED_FIELDS = ("occupation", "district", "income_band")

RESPONSE_COLUMNS = (
    "回答番号",
    "アンケート",
    "回",
    "状態",
    "回答を始めた日時",
    "最後に回答した日時",
    "回答し終えた日時",
    "「続きから」のお知らせを送った日時",
)
ANSWER_COLUMNS = ("回答番号", "アンケート", "質問の番号", "質問", "回答", "回答した日時")
PROFILE_COLUMNS = tuple(
    column for label in profiles.FIELDS.values() for column in (label, f"{label}（記録）")
) + ("更新日時",)
TAG_COLUMNS = ("タグ", "付けた日時")


async def _responses(resident: Resident) -> list[ExportTable]:
    responses = (
        await SurveyResponse.filter(resident_id=resident.id)
        .select_related("round__survey")
        .order_by("id")
    )
    response_rows = [
        row(
            RESPONSE_COLUMNS,
            (
                r.id,
                str(r.round.survey),
                r.round.title,
                r.status.label,
                format_jst(r.started_at),
                format_jst(r.answered_at),
                format_jst(r.completed_at),
                format_jst(r.reminder_queued_at),
            ),
        )
        for r in responses
    ]
    answers = (
        await SurveyAnswer.filter(response__resident_id=resident.id)
        .select_related("question", "response__round__survey")
        .order_by("response_id", "question__position")
    )
    answer_rows = [
        row(
            ANSWER_COLUMNS,
            (
                a.response.id,
                str(a.response.round.survey),
                a.question.position,
                a.question.text,
                answer_text(a.question, a),
                format_jst(a.answered_at),
            ),
        )
        for a in answers
    ]
    return [
        ExportTable(
            SurveyResponse,
            "アンケートの回答",
            response_rows,
            columns=RESPONSE_COLUMNS,
            about="アンケートごとの回答の状況",
        ),
        ExportTable(
            SurveyAnswer,
            "アンケートの回答内容",
            answer_rows,
            columns=ANSWER_COLUMNS,
            about="質問ごとの回答",
        ),
    ]


async def _profile(resident: Resident) -> ExportTable:
    found = await ResidentProfile.filter(resident_id=resident.id)
    rows = []
    for profile in found:
        values: list[str | int | None] = []
        for shown in profiles.describe(profile):
            recorded = f"{shown.on} {shown.by}".strip() if shown.on else ""
            values += [shown.text, recorded]
        rows.append(row(PROFILE_COLUMNS, (*values, format_jst(profile.updated_at))))
    return ExportTable(
        ResidentProfile,
        "プロフィール",
        rows,
        columns=PROFILE_COLUMNS,
        about="プロフィールの各項目（「記録」はいつ、どこで記録したか）",
    )


async def _tags(resident: Resident) -> ExportTable:
    tags = await ResidentTag.filter(resident_id=resident.id).order_by("created_at", "id")
    return ExportTable(
        ResidentTag,
        "タグ",
        [row(TAG_COLUMNS, (t.tag, format_jst(t.created_at))) for t in tags],
        columns=TAG_COLUMNS,
        about="スタッフが付けたタグ（コミュニティリーダー、講師など）",
    )


async def export(resident: Resident) -> list[ExportTable]:
    return [*await _responses(resident), await _profile(resident), await _tags(resident)]


async def erase(e: Erasure) -> None:
    written = await SurveyAnswer.filter(
        response__resident_id=e.resident.id, question__kind=QuestionKind.TEXT
    ).values_list("id", flat=True)
    if written:
        await SurveyAnswer.filter(id__in=list(written)).update(text="")
    await _erase_profile(e.resident.id)
    await ResidentTag.filter(resident_id=e.resident.id).exclude(tag=profiles.LEADER_TAG).delete()


async def _erase_profile(resident_id: int) -> None:
    # A queryset update: the profile's updated_at stays (goals date a profile by it when its
    # fields carry no recorded date), and so do the dates of the fields the goals read.
    found = await ResidentProfile.filter(resident_id=resident_id).values_list("id", "filled")
    for profile_id, filled in found:
        kept = {k: v for k, v in (filled or {}).items() if k not in ERASED_FIELDS}
        await ResidentProfile.filter(id=profile_id).update(
            occupation="", district="", income_band="", filled=kept
        )
