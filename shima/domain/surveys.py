"""Surveys as staff build them: questions (kinds, required, shown only when an earlier answer
has a given value), versions and rounds. A survey's questions are frozen once any of its
rounds has an answer; a new version (a copy) can change them.

Residents' answering (start, resume, branching, skip, replace) is
shima.domain.survey_responses; the results pages' figures are shima.domain.survey_results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from models.survey import (
    QuestionKind,
    QuestionRole,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
)

CHOICES_MAX = 10  # quick replies: choices + 戻る, スキップ and 決定 stay within LINE's 13


class SurveyError(ValueError):
    """A change the rules refuse; the message is Japanese, for the form back."""


@dataclass(frozen=True)
class QuestionSpec:
    kind: QuestionKind
    text: str
    help: str = ""
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    role: QuestionRole = QuestionRole.NONE
    # Shown only when the answer to the question at this 1-based position (earlier) is one
    # of `show_if_values`.
    show_if_position: int | None = None
    show_if_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class SurveySpec:
    title: str
    description: str = ""
    thanks: str = ""
    questions: tuple[QuestionSpec, ...] = field(default_factory=tuple)
    is_standard: bool = False


def check_questions(questions: Sequence[QuestionSpec]) -> None:
    """SurveyError unless every question is well formed: choices for (only) single and multi,
    within CHOICES_MAX, distinct values; a condition names an earlier question and values it
    can have."""
    if not questions:
        raise SurveyError("質問を1つ以上追加してください。")
    for n, q in enumerate(questions, start=1):
        if not q.text.strip():
            raise SurveyError(f"質問{n}の文を入力してください。")
        if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
            if len(q.choices) < 2:
                raise SurveyError(f"質問{n}の選択肢を2つ以上入力してください。")
            if len(q.choices) > CHOICES_MAX:
                raise SurveyError(f"質問{n}の選択肢は{CHOICES_MAX}個までです。")
            values = [v for v, _ in q.choices]
            if len(set(values)) != len(values):
                raise SurveyError(f"質問{n}の選択肢が重複しています。")
        elif q.choices:
            raise SurveyError(f"質問{n}（{q.kind.label}）には選択肢を設定できません。")
        if q.show_if_position is not None:
            if not 1 <= q.show_if_position < n:
                raise SurveyError(f"質問{n}の表示条件には、それより前の質問を選んでください。")
            if not q.show_if_values:
                raise SurveyError(f"質問{n}の表示条件の回答を選んでください。")
            allowed = condition_values(questions[q.show_if_position - 1])
            if allowed is not None and any(v not in allowed for v in q.show_if_values):
                raise SurveyError(f"質問{n}の表示条件の回答が、条件の質問の選択肢にありません。")


def condition_values(q: QuestionSpec) -> list[str] | None:
    """The answer values a later question's condition may name (None: any, e.g. a year)."""
    if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
        return [v for v, _ in q.choices]
    if q.kind == QuestionKind.YESNO:
        return ["yes", "no"]
    if q.kind == QuestionKind.SCALE5:
        return [str(n) for n in range(1, 6)]
    if q.kind == QuestionKind.SCALE11:
        return [str(n) for n in range(11)]
    return None


async def create_survey(spec: SurveySpec, based_on: Survey | None = None) -> Survey:
    """A new survey (or a new version of `based_on`) with its questions."""
    check_questions(spec.questions)
    async with in_transaction():
        survey = await Survey.create(
            title=spec.title,
            description=spec.description,
            thanks=spec.thanks,
            is_standard=spec.is_standard,
            version=based_on.version + 1 if based_on else 1,
            based_on=based_on,
        )
        await _write_questions(survey, spec.questions)
    return survey


async def _write_questions(survey: Survey, questions: Sequence[QuestionSpec]) -> None:
    made: list[SurveyQuestion] = []
    for n, q in enumerate(questions, start=1):
        made.append(
            await SurveyQuestion.create(
                survey=survey,
                position=n,
                kind=q.kind,
                text=q.text.strip(),
                help=q.help.strip(),
                required=q.required,
                choices=[{"value": v, "label": label} for v, label in q.choices],
                show_if=made[q.show_if_position - 1] if q.show_if_position else None,
                show_if_values=list(q.show_if_values),
                role=q.role,
            )
        )


async def is_frozen(survey_id: int) -> bool:
    """Whether any round of the survey has an answer (its questions can no longer change)."""
    return await SurveyAnswer.filter(question__survey_id=survey_id).exists()


async def spec_of(survey: Survey) -> SurveySpec:
    """The survey as a spec (to copy into a new version, or to fill the builder's form)."""
    questions = await SurveyQuestion.filter(survey_id=survey.id).order_by("position")
    position = {q.id: q.position for q in questions}
    return SurveySpec(
        title=survey.title,
        description=survey.description,
        thanks=survey.thanks,
        is_standard=survey.is_standard,
        questions=tuple(
            QuestionSpec(
                kind=QuestionKind(q.kind),
                text=q.text,
                help=q.help,
                required=q.required,
                choices=tuple((c["value"], c["label"]) for c in q.choices or []),
                role=QuestionRole(q.role),
                show_if_position=position.get(q.show_if_id) if q.show_if_id else None,  # type: ignore[attr-defined]
                show_if_values=tuple(q.show_if_values or []),
            )
            for q in questions
        ),
    )
