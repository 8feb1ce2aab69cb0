"""Residents answering surveys — the one place for the answering rules, used by the LINE flow
(line_app.flows.survey), the reminder job (line_app.notices.survey) and, for which answers
count, the admin's results and export.

- A round is open from `opens_at` until `closes_at` (`opens_at <= now < closes_at`) while its
  survey is not archived (`is_open`, `open_rounds`; `next_round`: the next one scheduled).
  Every change is checked against the clock when it is made: an answer arriving after the
  close is refused with `RoundClosed`, whatever buttons were on the screen.
- One response per round and resident (`start`: gets or creates it; two starts at once give
  one row — the unique pair refuses the second, which then reads the first).
- Questions are asked in order; one with `show_if` is asked only when the earlier answer
  matches `show_if_values` (`matches`: yes/no as "yes"/"no", single its value, multi any
  picked, scale and year the number as a string; a skipped answer matches nothing). After
  every change the answers of questions that are no longer shown are deleted (`_prune`), so
  what is stored is always what counts: the results and goals read answers as they are.
- `answer` validates per kind (`clean`), saves at once and moves `current` on (the resident
  may stop any time and continue days later from `current`); `skip` only for optional
  questions; `back` to the previous question shown; the last one completes the response.
  `rewind` goes back to the first question keeping the answers (「最初から」); `restart`
  (「回答し直す」, after a confirmation in the flow) starts a new attempt of a completed
  response: attempt + 1, the earlier answers deleted.
- Every step names the response, its attempt and the question it answers: a button of another
  attempt or of a question that is no longer the current one raises `Stale` (carrying the
  step the response is at) and changes nothing, so a double tap saves one answer.
- Answers to questions with a profile role fill the resident's profile
  (`shima.domain.profiles.update(..., by=BY_SURVEY)`, latest wins, with the date) in the same
  transaction.
- `claim_due_reminders`: in-progress responses whose last answer is `survey_reminder_days`
  old and whose round is still open, each claimed once ever (compare-and-set on
  `reminder_queued_at`).

Answer values (the team's convention): yes/no → number 1/0; scale and year → number; single →
`text` = the choice value; multi → `values`; text → `text`; skipped → `skipped` only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

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
from shima.domain import profiles
from shima.settings import Settings
from shima.timeutil import format_date_ja, now, to_jst

TEXT_MAX = 1000
EARLIEST_YEAR = 1950
YES, NO = "yes", "no"
YES_WORDS = frozenset({YES, "はい", "1"})
NO_WORDS = frozenset({NO, "いいえ", "0"})

# The profile field each role fills (shima.domain.profiles.FIELDS).
PROFILE_FIELDS: dict[QuestionRole, str] = {
    QuestionRole.FREELANCE_INCOME: "freelance_income",
    QuestionRole.CHILDREN: "raising_children",
    QuestionRole.SIDE_JOB: "side_job",
    QuestionRole.INCOME_BAND: "income_band",
    QuestionRole.RESIDENCY: "residency",
    QuestionRole.MOVED_YEAR: "moved_year",
    QuestionRole.SKILLS: "skills",
    QuestionRole.DISTRICT: "district",
}


# -- errors: `message` is what the resident is told ---------------------------------------


class ResponseError(Exception):
    message = "アンケートの回答を受け付けられませんでした。"

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class NotFound(ResponseError):
    """No such response, or not the resident's own (a forged or foreign button)."""

    message = "このアンケートの回答が見つかりませんでした。"


class RoundClosed(ResponseError):
    """The round is not open now (closed, not opened yet, or its survey archived)."""

    def __init__(self, round_: SurveyRound) -> None:
        self.round = round_
        if now() < round_.opens_at:
            text = f"このアンケートの回答は{_day(round_.opens_at)}からです。"
        else:
            text = (
                f"このアンケートの回答期間は{_day(round_.closes_at)}で終了しました。"
                "ご協力ありがとうございました。"
            )
        super().__init__(text)


class Stale(ResponseError):
    """A button of another attempt, or of a question that is not the current one: nothing
    changed; `step` is where the response is now."""

    message = "この質問には、すでにお答えいただいています。"

    def __init__(self, step: Step) -> None:
        self.step = step
        super().__init__(
            "このアンケートは、すでに回答済みです。" if step.completed else self.message
        )


class BadAnswer(ResponseError):
    """The answer does not fit the question (the message says what is expected)."""


class NotSkippable(ResponseError):
    message = "この質問は回答が必要です（スキップできません）。"


def _day(at: datetime) -> str:
    local = to_jst(at)
    return f"{local.year}年{format_date_ja(local)}"


# -- rounds -------------------------------------------------------------------------------


def is_open(round_: SurveyRound, survey: Survey | None = None, at: datetime | None = None) -> bool:
    """Whether residents may answer the round now (`survey`: the round's, when loaded)."""
    at = at or now()
    survey = survey or round_.survey
    return round_.opens_at <= at < round_.closes_at and not survey.is_archived


async def open_rounds(at: datetime | None = None) -> list[SurveyRound]:
    """The rounds open now (survey loaded), the one that opened first first."""
    at = at or now()
    return list(
        await SurveyRound.filter(opens_at__lte=at, closes_at__gt=at, survey__is_archived=False)
        .select_related("survey")
        .order_by("opens_at", "id")
    )


async def next_round(at: datetime | None = None) -> SurveyRound | None:
    """The next round scheduled to open (survey loaded), if any."""
    at = at or now()
    return (
        await SurveyRound.filter(opens_at__gt=at, survey__is_archived=False)
        .select_related("survey")
        .order_by("opens_at", "id")
        .first()
    )


async def questions_of(survey_id: int) -> list[SurveyQuestion]:
    return list(await SurveyQuestion.filter(survey_id=survey_id).order_by("position"))


async def responses_of(resident: Resident, round_ids: Sequence[int]) -> dict[int, SurveyResponse]:
    """The resident's responses to these rounds, by round id."""
    if not round_ids:
        return {}
    rows = await SurveyResponse.filter(resident_id=resident.id, round_id__in=list(round_ids))
    return {int(r.round_id): r for r in rows}  # type: ignore[attr-defined]


# -- which questions are asked ------------------------------------------------------------


def matches(source: SurveyQuestion, answer: SurveyAnswer | None, values: Sequence[str]) -> bool:
    """Whether `answer` (to `source`) is one of the condition's `values`."""
    if answer is None or answer.skipped:
        return False
    kind = QuestionKind(source.kind)
    if kind == QuestionKind.YESNO:
        if answer.number is None:
            return False
        return (YES if answer.number == 1 else NO) in values
    if kind == QuestionKind.MULTI:
        return any(v in values for v in answer.values or [])
    if kind in (QuestionKind.SINGLE, QuestionKind.TEXT):
        return answer.text in values
    return answer.number is not None and str(answer.number) in values


def visible(
    questions: Sequence[SurveyQuestion], answers: Mapping[int, SurveyAnswer]
) -> list[SurveyQuestion]:
    """The questions asked given these answers (question id → answer), in order. A question
    whose condition's question is not shown is not shown either."""
    by_id = {q.id: q for q in questions}
    shown: set[int] = set()
    result = []
    for q in sorted(questions, key=lambda q: q.position):
        source_id = q.show_if_id  # type: ignore[attr-defined]
        if source_id is not None:
            source = by_id.get(source_id)
            if source is None or source.id not in shown:
                continue
            if not matches(source, answers.get(source.id), q.show_if_values or []):
                continue
        shown.add(q.id)
        result.append(q)
    return result


def next_question(
    questions: Sequence[SurveyQuestion],
    answers: Mapping[int, SurveyAnswer],
    after: SurveyQuestion | None = None,
) -> SurveyQuestion | None:
    """The first question shown after `after` (from the start when None); None: no more."""
    position = after.position if after is not None else 0
    return next((q for q in visible(questions, answers) if q.position > position), None)


def previous_question(
    questions: Sequence[SurveyQuestion],
    answers: Mapping[int, SurveyAnswer],
    before: SurveyQuestion,
) -> SurveyQuestion | None:
    """The last question shown before `before` (what 戻る goes to); None on the first."""
    earlier = [q for q in visible(questions, answers) if q.position < before.position]
    return earlier[-1] if earlier else None


# -- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cleaned:
    number: int | None = None
    text: str = ""
    values: tuple[str, ...] = ()
    skipped: bool = False


def _digits(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def choice_values(question: SurveyQuestion) -> list[str]:
    return [str(c.get("value", "")) for c in question.choices or []]


def clean(question: SurveyQuestion, value: str | Sequence[str]) -> Cleaned:
    """The stored form of an answer to `question`, or BadAnswer (Japanese, saying what is
    expected). Multi takes a list of choice values; the others a string."""
    kind = QuestionKind(question.kind)
    if kind == QuestionKind.MULTI:
        picked = [value] if isinstance(value, str) else list(value)
        known = choice_values(question)
        if any(v not in known for v in picked):
            raise BadAnswer("選択肢の中から選んでください。")
        if not picked:
            if question.required:
                raise BadAnswer("1つ以上選んでから「決定」を押してください。")
            return Cleaned(skipped=True)
        return Cleaned(values=tuple(v for v in known if v in picked))  # the choices' order
    if not isinstance(value, str):
        raise BadAnswer("選択肢の中から選んでください。")
    if kind in (QuestionKind.SCALE5, QuestionKind.SCALE11):
        low, high = (1, 5) if kind == QuestionKind.SCALE5 else (0, 10)
        typed = _digits(value)
        if not (typed.isascii() and typed.isdigit() and low <= int(typed) <= high):
            raise BadAnswer(f"{low}〜{high}の数字で答えてください。")
        return Cleaned(number=int(typed))
    if kind == QuestionKind.YESNO:
        typed = _digits(value).lower()
        if typed in YES_WORDS:
            return Cleaned(number=1)
        if typed in NO_WORDS:
            return Cleaned(number=0)
        raise BadAnswer("「はい」か「いいえ」で答えてください。")
    if kind == QuestionKind.SINGLE:
        if value not in choice_values(question):
            raise BadAnswer("選択肢の中から選んでください。")
        return Cleaned(text=value)
    if kind == QuestionKind.YEAR:
        return Cleaned(number=clean_year(value))
    # text
    words = unicodedata.normalize("NFKC", value).strip()
    if len(words) > TEXT_MAX:
        raise BadAnswer(
            f"{TEXT_MAX}文字以内でお願いします（いま{len(words)}文字です）。"
            "お手数ですが、短くまとめてもう一度お送りください。"
        )
    if not words:
        if question.required:
            raise BadAnswer("ご回答を入力してください。")
        return Cleaned(skipped=True)
    return Cleaned(text=words)


_YEAR = re.compile(r"(?:西暦)?([0-9]{4})年?")
_ERA_YEAR = re.compile(r"(令和|平成|昭和|[rhs])(元|[0-9]{1,2})年?")
# 和暦: the year before each era's first (令和元年 = 2019).
ERAS = {"令和": 2018, "r": 2018, "平成": 1988, "h": 1988, "昭和": 1925, "s": 1925}
_KANJI_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")


def read_year(value: str) -> int | None:
    """The 西暦 year named by `value` — 「2024」「２０２４」「2024年」「二〇二四」, or 和暦
    「令和6年」「平成30年」「令和元年」「R6」 — or None when it names no year (the range is
    the caller's)."""
    typed = unicodedata.normalize("NFKC", value).lower()
    typed = "".join(typed.split()).translate(_KANJI_DIGITS)
    found = _YEAR.fullmatch(typed)
    if found is not None:
        return int(found.group(1))
    era = _ERA_YEAR.fullmatch(typed)
    if era is None:
        return None
    number = 1 if era.group(2) == "元" else int(era.group(2))
    return ERAS[era.group(1)] + number if number else None


def clean_year(value: str) -> int:
    """A year (西暦, or 和暦 turned into it: `read_year`), from 1950 to this year (JST)."""
    year = read_year(value)
    this_year = to_jst(now()).year
    if year is None:
        raise BadAnswer("西暦（例: 2024）か和暦（例: 令和6年）で入力してください。")
    if not EARLIEST_YEAR <= year <= this_year:
        raise BadAnswer(f"{EARLIEST_YEAR}年から{this_year}年までの年を入力してください。")
    return year


def answer_text(question: SurveyQuestion, answer: SurveyAnswer | None) -> str:
    """An answer as residents and staff read it (「スキップ」 when skipped, "" when none)."""
    if answer is None:
        return ""
    if answer.skipped:
        return "スキップ"
    kind = QuestionKind(question.kind)
    labels = {str(c.get("value")): str(c.get("label")) for c in question.choices or []}
    if kind == QuestionKind.YESNO:
        return "はい" if answer.number == 1 else "いいえ"
    if kind == QuestionKind.SINGLE:
        return labels.get(answer.text, answer.text)
    if kind == QuestionKind.MULTI:
        return "、".join(labels.get(v, v) for v in answer.values or [])
    if kind == QuestionKind.YEAR:
        return f"{answer.number}年" if answer.number is not None else ""
    if kind == QuestionKind.TEXT:
        return answer.text
    return str(answer.number) if answer.number is not None else ""


def _profile_value(question: SurveyQuestion, answer: Cleaned) -> Any:
    kind = QuestionKind(question.kind)
    if kind == QuestionKind.YESNO:
        return answer.number == 1
    if kind == QuestionKind.MULTI:
        return list(answer.values)
    if kind in (QuestionKind.YEAR, QuestionKind.SCALE5, QuestionKind.SCALE11):
        return answer.number
    return answer.text


# -- where a response is ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """Where a response is: the question to ask now (None: completed), with its earlier
    answer (after 戻る or 最初から) and whether there is a question to go back to."""

    response: SurveyResponse
    round: SurveyRound
    survey: Survey
    questions: list[SurveyQuestion]
    question: SurveyQuestion | None
    answer: SurveyAnswer | None
    has_previous: bool

    @property
    def completed(self) -> bool:
        return self.response.status == ResponseStatus.COMPLETED

    @property
    def total(self) -> int:
        return len(self.questions)

    @property
    def number(self) -> int:
        """The question's place in the survey (1-based; 「3/13」)."""
        return self.question.position if self.question is not None else self.total


async def _answers(response_id: int) -> dict[int, SurveyAnswer]:
    rows = await SurveyAnswer.filter(response_id=response_id)
    return {int(a.question_id): a for a in rows}  # type: ignore[attr-defined]


async def _round(round_id: int) -> SurveyRound:
    return await SurveyRound.get(id=round_id).select_related("survey")


async def step_of(response: SurveyResponse) -> Step:
    """The response's step now (its round, survey and questions loaded)."""
    round_ = await _round(response.round_id)  # type: ignore[attr-defined]
    questions = await questions_of(round_.survey_id)  # type: ignore[attr-defined]
    answers = await _answers(response.id)
    question = None
    if response.status != ResponseStatus.COMPLETED:
        current_id = response.current_id  # type: ignore[attr-defined]
        shown = visible(questions, answers)
        question = next((q for q in shown if q.id == current_id), None)
        if question is None:  # never set (or its question gone): the first one unanswered
            question = next((q for q in shown if q.id not in answers), None)
    previous = previous_question(questions, answers, question) if question is not None else None
    return Step(
        response=response,
        round=round_,
        survey=round_.survey,
        questions=questions,
        question=question,
        answer=answers.get(question.id) if question is not None else None,
        has_previous=previous is not None,
    )


async def response_for(resident: Resident, response_id: int | None) -> SurveyResponse:
    """The resident's own response (NotFound for another's id or none)."""
    found = (
        await SurveyResponse.get_or_none(id=response_id, resident_id=resident.id)
        if response_id
        else None
    )
    if found is None:
        raise NotFound
    return found


async def _locked(resident: Resident, response_id: int | None) -> SurveyResponse:
    """The resident's response, its row locked until the transaction ends (PostgreSQL;
    SQLite runs one writer): two taps of one button take turns, the second sees the first."""
    found = (
        await SurveyResponse.filter(id=response_id, resident_id=resident.id)
        .select_for_update()
        .first()
        if response_id
        else None
    )
    if found is None:
        raise NotFound
    return found


async def _open_round(response: SurveyResponse) -> SurveyRound:
    round_ = await _round(response.round_id)  # type: ignore[attr-defined]
    if not is_open(round_):
        raise RoundClosed(round_)
    return round_


async def _checked(
    resident: Resident, response_id: int | None, attempt: int | None, question_id: int | None
) -> SurveyResponse:
    """The locked response, if the round is open and the button is for its current attempt
    and question; else RoundClosed / Stale / NotFound."""
    response = await _locked(resident, response_id)
    await _open_round(response)
    if (
        attempt != response.attempt
        or response.status == ResponseStatus.COMPLETED
        or question_id is None
        or question_id != response.current_id  # type: ignore[attr-defined]
    ):
        raise Stale(await step_of(response))
    return response


# -- starting -----------------------------------------------------------------------------


async def start(resident: Resident, round_id: int) -> tuple[Step, bool]:
    """The resident's response to the round (created at the first question if new; True
    then). A completed or in-progress one is returned as it is. RoundClosed when the round
    is not open (an existing response is still returned by `existing`)."""
    round_ = await SurveyRound.get_or_none(id=round_id).select_related("survey")
    if round_ is None:
        raise NotFound("このアンケートは見つかりませんでした。")
    found = await SurveyResponse.get_or_none(round_id=round_id, resident_id=resident.id)
    if found is not None:
        return await step_of(found), False
    if not is_open(round_):
        raise RoundClosed(round_)
    questions = await questions_of(round_.survey_id)  # type: ignore[attr-defined]
    first = next_question(questions, {})
    at = now()
    try:
        async with in_transaction():  # a savepoint: the unique pair may refuse the row
            response = await SurveyResponse.create(
                round_id=round_id,
                resident_id=resident.id,
                current=first,
                started_at=at,
                answered_at=at,
                status=ResponseStatus.COMPLETED if first is None else ResponseStatus.IN_PROGRESS,
                completed_at=at if first is None else None,
            )
    except IntegrityError:  # started at the same moment (a double tap on two workers)
        response = await SurveyResponse.get(round_id=round_id, resident_id=resident.id)
        return await step_of(response), False
    return await step_of(response), True


async def existing(resident: Resident, round_id: int) -> SurveyResponse | None:
    return await SurveyResponse.get_or_none(round_id=round_id, resident_id=resident.id)


async def rewind(resident: Resident, response_id: int | None, attempt: int | None) -> Step:
    """「最初から」: back to the first question of an in-progress response; the answers stay
    (each is asked again, with the earlier answer shown)."""
    async with in_transaction():
        response = await _locked(resident, response_id)
        await _open_round(response)
        if attempt != response.attempt or response.status == ResponseStatus.COMPLETED:
            raise Stale(await step_of(response))
        questions = await questions_of(await _survey_id(response))
        response.current = next_question(questions, {})  # the first is never conditional
        response.answered_at = now()
        await response.save(update_fields=["current_id", "answered_at"])
        return await step_of(response)


async def restart(resident: Resident, response_id: int | None, attempt: int | None) -> Step:
    """「回答し直す」 (confirmed): a completed response starts again as a new attempt; the
    earlier answers are deleted (replaced by the new ones as they are given). A button of an
    earlier attempt, or of a response not completed, raises Stale."""
    async with in_transaction():
        response = await _locked(resident, response_id)
        await _open_round(response)
        if attempt != response.attempt or response.status != ResponseStatus.COMPLETED:
            raise Stale(await step_of(response))
        questions = await questions_of(await _survey_id(response))
        await SurveyAnswer.filter(response_id=response.id).delete()
        at = now()
        response.attempt += 1
        response.status = ResponseStatus.IN_PROGRESS
        response.current = next_question(questions, {})
        response.started_at = at
        response.answered_at = at
        response.completed_at = None
        await response.save(
            update_fields=[
                "attempt",
                "status",
                "current_id",
                "started_at",
                "answered_at",
                "completed_at",
            ]
        )
        return await step_of(response)


async def _survey_id(response: SurveyResponse) -> int:
    round_ = await SurveyRound.get(id=response.round_id)  # type: ignore[attr-defined]
    return int(round_.survey_id)  # type: ignore[attr-defined]


# -- answering ----------------------------------------------------------------------------


async def answer(
    resident: Resident,
    response_id: int | None,
    attempt: int | None,
    question_id: int | None,
    value: str | Sequence[str],
) -> Step:
    """Save the answer to the current question (validated: BadAnswer) and move on; the last
    one completes the response. Stale for any other question or attempt, RoundClosed after
    the close."""
    async with in_transaction():
        response = await _checked(resident, response_id, attempt, question_id)
        question = await SurveyQuestion.get(id=question_id)
        cleaned = clean(question, value)
        if cleaned.skipped and question.required:
            raise NotSkippable
        await _save(resident, response, question, cleaned)
        return await step_of(response)


async def skip(
    resident: Resident, response_id: int | None, attempt: int | None, question_id: int | None
) -> Step:
    """スキップ: only an optional question (NotSkippable otherwise); recorded as skipped."""
    async with in_transaction():
        response = await _checked(resident, response_id, attempt, question_id)
        question = await SurveyQuestion.get(id=question_id)
        if question.required:
            raise NotSkippable
        await _save(resident, response, question, Cleaned(skipped=True))
        return await step_of(response)


async def back(
    resident: Resident, response_id: int | None, attempt: int | None, question_id: int | None
) -> Step:
    """戻る: to the previous question shown (its answer kept, to be given again or kept).
    Stale on the first question."""
    async with in_transaction():
        response = await _checked(resident, response_id, attempt, question_id)
        question = await SurveyQuestion.get(id=question_id)
        questions = await questions_of(question.survey_id)  # type: ignore[attr-defined]
        previous = previous_question(questions, await _answers(response.id), question)
        if previous is None:
            raise Stale(await step_of(response))
        response.current = previous
        response.answered_at = now()
        await response.save(update_fields=["current_id", "answered_at"])
        return await step_of(response)


async def _save(
    resident: Resident, response: SurveyResponse, question: SurveyQuestion, cleaned: Cleaned
) -> None:
    at = now()
    fields = {
        "number": cleaned.number,
        "text": cleaned.text,
        "values": list(cleaned.values),
        "skipped": cleaned.skipped,
        "answered_at": at,
    }
    saved = await SurveyAnswer.filter(response_id=response.id, question_id=question.id).update(
        **fields
    )
    if not saved:
        await SurveyAnswer.create(
            response_id=response.id,
            question_id=question.id,
            number=cleaned.number,
            text=cleaned.text,
            values=list(cleaned.values),
            skipped=cleaned.skipped,
            answered_at=at,
        )
    questions = await questions_of(question.survey_id)  # type: ignore[attr-defined]
    answers = await _prune(response.id, questions)
    following = next_question(questions, answers, question)
    response.current = following
    response.answered_at = at
    if following is None:
        response.status = ResponseStatus.COMPLETED
        response.completed_at = at
    await response.save(update_fields=["current_id", "answered_at", "status", "completed_at"])
    field = PROFILE_FIELDS.get(QuestionRole(question.role))
    if field is not None and not cleaned.skipped:
        try:
            await profiles.update(
                resident.id, {field: _profile_value(question, cleaned)}, by=profiles.BY_SURVEY
            )
        except profiles.ProfileError:
            pass  # a staff-built question whose values are not the profile's codes


async def _prune(response_id: int, questions: Sequence[SurveyQuestion]) -> dict[int, SurveyAnswer]:
    """Delete the answers of questions no longer shown (an earlier answer changed after
    戻る); returns the answers that count."""
    answers = await _answers(response_id)
    shown = {q.id for q in visible(questions, answers)}
    hidden = [qid for qid in answers if qid not in shown]
    if hidden:
        await SurveyAnswer.filter(response_id=response_id, question_id__in=hidden).delete()
    return {qid: a for qid, a in answers.items() if qid in shown}


# -- the reminder -------------------------------------------------------------------------


async def claim_due_reminders(settings: Settings, limit: int = 200) -> list[SurveyResponse]:
    """In-progress responses whose last answer is `survey_reminder_days` old, in a round
    still open, of residents who follow the account — each claimed once ever
    (compare-and-set on `reminder_queued_at`). Round, survey and resident loaded; call inside
    the transaction that queues the reminders."""
    at = now()
    cutoff = at - timedelta(days=settings.survey_reminder_days)
    candidates = (
        await SurveyResponse.filter(
            status=ResponseStatus.IN_PROGRESS,
            reminder_queued_at__isnull=True,
            answered_at__lte=cutoff,
            round__opens_at__lte=at,
            round__closes_at__gt=at,
            round__survey__is_archived=False,
            resident__is_following=True,
        )
        .select_related("round", "round__survey", "resident")
        .order_by("id")
        .limit(limit)
    )
    claimed = []
    for response in candidates:
        won = await SurveyResponse.filter(
            id=response.id,
            status=ResponseStatus.IN_PROGRESS,
            reminder_queued_at__isnull=True,
        ).update(reminder_queued_at=at)
        if won == 1:
            claimed.append(response)
    return claimed
