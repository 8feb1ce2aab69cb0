"""Surveys as staff build them: questions (kinds, required, shown only when an earlier answer
has a given value), versions and rounds. A survey's questions are frozen once any of its
rounds has an answer; a new version (a copy) can change them.

Editing (`update_survey`) is refused once frozen, checked at save time with the questions'
rows locked (an answer being saved at the same moment waits, or is seen). `new_version`
copies a survey as version + 1 (a double tap gets the copy already made). Rounds
(`create_round`, `update_round`, `close_round`, `delete_round`, `next_round_spec` for
「もう一度実施」) never overlap in time within a survey and its other versions, so residents
are offered one round at a time; a round's status (予定 / 受付中 / 終了) is `round_status`.

Residents' answering (start, resume, branching, skip, replace) is
shima.domain.survey_responses; the results pages' figures are shima.domain.survey_results."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from models.survey import (
    QuestionKind,
    QuestionRole,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyRound,
)
from shima.domain import profiles
from shima.timeutil import JST, fiscal_year_of, jst_datetime, now

CHOICES_MAX = 10  # quick replies: choices + 戻る, スキップ and 決定 stay within LINE's 13
# What the columns and LINE hold: a quick reply's label is at most 20 characters.
TITLE_MAX = 100
DESCRIPTION_MAX = 500
THANKS_MAX = 300
QUESTION_TEXT_MAX = 200
HELP_MAX = 200
CHOICE_LABEL_MAX = 20
QUESTIONS_MAX = 30
ROUND_TITLE_MAX = 100

FROZEN_MESSAGE = (
    "このアンケートにはすでに回答があるため、質問や文面は変更できません。"
    "変更するには「新しい版を作る」で新しい版を作成してください。"
)

# The kind a question with a role must keep (the profile and the goals read its answer so),
# and the codes its choices must come from.
ROLE_KINDS: dict[QuestionRole, QuestionKind] = {
    QuestionRole.WORK_SATISFACTION: QuestionKind.SCALE5,
    QuestionRole.LIFE_SATISFACTION: QuestionKind.SCALE5,
    QuestionRole.HAPPINESS: QuestionKind.SCALE5,
    QuestionRole.WB_HAPPINESS: QuestionKind.SCALE11,
    QuestionRole.WB_LIFE: QuestionKind.SCALE11,
    QuestionRole.FREELANCE_INCOME: QuestionKind.YESNO,
    QuestionRole.INCOME_BAND: QuestionKind.SINGLE,
    QuestionRole.CHILDREN: QuestionKind.YESNO,
    QuestionRole.SIDE_JOB: QuestionKind.YESNO,
    QuestionRole.RESIDENCY: QuestionKind.SINGLE,
    QuestionRole.MOVED_YEAR: QuestionKind.YEAR,
    QuestionRole.SKILLS: QuestionKind.MULTI,
    QuestionRole.DISTRICT: QuestionKind.SINGLE,
    QuestionRole.COMMENT: QuestionKind.TEXT,
}
ROLE_CODES: dict[QuestionRole, dict[str, str]] = {
    QuestionRole.INCOME_BAND: profiles.INCOME_BANDS,
    QuestionRole.RESIDENCY: profiles.RESIDENCY,
    QuestionRole.SKILLS: profiles.SKILLS,
    QuestionRole.DISTRICT: profiles.DISTRICTS,
}
ROLE_LABELS: dict[QuestionRole, str] = {
    QuestionRole.WORK_SATISFACTION: "仕事の満足度",
    QuestionRole.LIFE_SATISFACTION: "暮らしの満足度",
    QuestionRole.HAPPINESS: "総合的な幸せ（満足度の集計）",
    QuestionRole.WB_HAPPINESS: "Well-Being 幸福度",
    QuestionRole.WB_LIFE: "Well-Being 生活満足度",
    QuestionRole.FREELANCE_INCOME: "プロフィール：フリーランスの収入",
    QuestionRole.INCOME_BAND: "プロフィール：年収（目安）",
    QuestionRole.CHILDREN: "プロフィール：子育て",
    QuestionRole.SIDE_JOB: "プロフィール：副業",
    QuestionRole.RESIDENCY: "プロフィール：地元／移住",
    QuestionRole.MOVED_YEAR: "プロフィール：移住した年",
    QuestionRole.SKILLS: "プロフィール：職種・スキル",
    QuestionRole.DISTRICT: "プロフィール：地区",
    QuestionRole.COMMENT: "自由意見",
}
YEAR_PATTERN = re.compile(r"[0-9]{4}")


class SurveyError(ValueError):
    """A change the rules refuse; the message is Japanese, for the form back."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


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


class BadSurvey(SurveyError):
    """Everything wrong with a survey's form at once (`problems`, Japanese)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(problems[0] if problems else "")
        self.problems = list(problems)


def check_questions(questions: Sequence[QuestionSpec]) -> None:
    """SurveyError (the first problem) unless every question is well formed: see
    `question_problems`."""
    problems = question_problems(questions)
    if problems:
        raise SurveyError(problems[0])


def question_problems(questions: Sequence[QuestionSpec]) -> list[str]:
    """What is wrong with the questions, one message per question at most: a text (within
    its length), choices for (only) single and multi — within CHOICES_MAX, distinct, short
    enough for LINE's buttons; a condition names an earlier question (not a free text) and
    values it can have; a question with a role keeps its kind (and coded choices), each role
    once."""
    if not questions:
        return ["質問を1つ以上追加してください。"]
    problems = []
    if len(questions) > QUESTIONS_MAX:
        problems.append(f"質問は{QUESTIONS_MAX}問までです（いま{len(questions)}問です）。")
    roles: set[QuestionRole] = set()
    for n, q in enumerate(questions, start=1):
        problem = _question_problem(n, q, questions, roles)
        if problem:
            problems.append(problem)
        if q.role != QuestionRole.NONE:
            roles.add(q.role)
    return problems


def _question_problem(
    n: int, q: QuestionSpec, questions: Sequence[QuestionSpec], roles: set[QuestionRole]
) -> str:
    if not q.text.strip():
        return f"質問{n}の文を入力してください。"
    if len(q.text.strip()) > QUESTION_TEXT_MAX:
        return f"質問{n}の文は{QUESTION_TEXT_MAX}文字以内で入力してください。"
    if len(q.help.strip()) > HELP_MAX:
        return f"質問{n}の補足は{HELP_MAX}文字以内で入力してください。"
    if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
        if len(q.choices) < 2:
            return f"質問{n}の選択肢を2つ以上入力してください。"
        if len(q.choices) > CHOICES_MAX:
            return f"質問{n}の選択肢は{CHOICES_MAX}個までです。"
        values = [v for v, _ in q.choices]
        if len(set(values)) != len(values):
            return f"質問{n}の選択肢が重複しています。"
        if any(not label.strip() or len(label) > CHOICE_LABEL_MAX for _, label in q.choices):
            return (
                f"質問{n}の選択肢は1つ{CHOICE_LABEL_MAX}文字以内にしてください"
                "（LINE のボタンに表示できる長さです）。"
            )
    elif q.choices:
        return f"質問{n}（{q.kind.label}）には選択肢を設定できません。"
    if q.role != QuestionRole.NONE:
        if q.role in roles:
            return f"質問{n}の役割（{ROLE_LABELS[q.role]}）は、ほかの質問と重複しています。"
        if ROLE_KINDS[q.role] != q.kind:
            return (
                f"質問{n}は「{ROLE_LABELS[q.role]}」の集計に使うため、種類は"
                f"「{ROLE_KINDS[q.role].label}」のままにしてください。"
            )
        codes = ROLE_CODES.get(q.role)
        if codes is not None and any(v not in codes for v, _ in q.choices):
            return (
                f"質問{n}は「{ROLE_LABELS[q.role]}」の集計に使うため、選択肢は"
                f"{'・'.join(codes.values())} の中から選んでください。"
            )
    if q.show_if_position is not None:
        if not 1 <= q.show_if_position < n:
            return f"質問{n}の表示条件には、それより前の質問を選んでください。"
        if not q.show_if_values:
            return f"質問{n}の表示条件の回答を選んでください。"
        source = questions[q.show_if_position - 1]
        if source.kind == QuestionKind.TEXT:
            return f"質問{n}の表示条件に、自由記述の質問は使えません。"
        allowed = condition_values(source)
        if allowed is None and any(not YEAR_PATTERN.fullmatch(v) for v in q.show_if_values):
            return f"質問{n}の表示条件の回答は、西暦の年（例: 2024）で入力してください。"
        if allowed is not None and any(v not in allowed for v in q.show_if_values):
            return f"質問{n}の表示条件の回答が、条件の質問の選択肢にありません。"
    return ""


def text_problems(spec: SurveySpec) -> list[str]:
    """The survey's own texts: a title, and each within its column."""
    problems = []
    if not spec.title.strip():
        problems.append("アンケートのタイトルを入力してください。")
    for value, label, limit in (
        (spec.title, "タイトル", TITLE_MAX),
        (spec.description, "はじめの説明", DESCRIPTION_MAX),
        (spec.thanks, "お礼のメッセージ", THANKS_MAX),
    ):
        if len(value.strip()) > limit:
            problems.append(f"{label}は{limit:,}文字以内で入力してください。")
    return problems


def survey_problems(spec: SurveySpec) -> list[str]:
    return text_problems(spec) + question_problems(spec.questions)


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
    """A new survey (or a new version of `based_on`) with its questions; BadSurvey lists
    what is wrong."""
    problems = survey_problems(spec)
    if problems:
        raise BadSurvey(problems)
    async with in_transaction():
        survey = await Survey.create(
            title=spec.title.strip(),
            description=spec.description.strip(),
            thanks=spec.thanks.strip(),
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


# ---------- Editing, versions, archive ----------


async def _locked_survey(survey_id: int) -> Survey:
    survey = await Survey.filter(id=survey_id).select_for_update().first()
    if survey is None:
        raise SurveyError("アンケートが見つかりません。")
    return survey


async def update_survey(survey_id: int, spec: SurveySpec) -> Survey:
    """Change a survey's texts and questions, only while no round of it has an answer.

    Checked here, at save time: the survey's question rows are locked FOR UPDATE first, so
    an answer being saved at this moment (its foreign key takes a share lock on the
    question) either committed before — and is seen — or waits until this change is done.
    Questions are rewritten in place by position (ids kept, so a resident's 「続きから」
    still points at a question); those past the new end are removed. The survey stays
    standard or not as it was."""
    problems = survey_problems(spec)
    if problems:
        raise BadSurvey(problems)
    async with in_transaction():
        survey = await _locked_survey(survey_id)
        existing = (
            await SurveyQuestion.filter(survey_id=survey_id)
            .order_by("position")
            .select_for_update()
        )
        if await is_frozen(survey_id):
            raise SurveyError(FROZEN_MESSAGE)
        if survey.is_standard and not any(q.role == QuestionRole.HAPPINESS for q in spec.questions):
            raise BadSurvey(
                [
                    "標準アンケートの「総合的な幸せ」の質問は削除できません"
                    "（満足度の目標の集計に使います）。"
                ]
            )
        survey.title = spec.title.strip()
        survey.description = spec.description.strip()
        survey.thanks = spec.thanks.strip()
        await survey.save(update_fields=["title", "description", "thanks"])
        by_position = {q.position: q for q in existing}
        rows: list[SurveyQuestion] = []
        for n, q in enumerate(spec.questions, start=1):
            values: dict[str, Any] = {
                "kind": q.kind,
                "text": q.text.strip(),
                "help": q.help.strip(),
                "required": q.required,
                "choices": [{"value": v, "label": label} for v, label in q.choices],
                "show_if": rows[q.show_if_position - 1] if q.show_if_position else None,
                "show_if_values": list(q.show_if_values),
                "role": q.role,
            }
            row = by_position.get(n)
            if row is None:
                row = await SurveyQuestion.create(survey_id=survey_id, position=n, **values)
            else:
                row.update_from_dict(values)
                await row.save()
            rows.append(row)
        await SurveyQuestion.filter(survey_id=survey_id, position__gt=len(spec.questions)).delete()
    return survey


async def new_version(survey_id: int) -> tuple[Survey, bool]:
    """A copy of the survey as its next version (`based_on` it, version + 1), whose
    questions can change; returns (the version, whether it was made now). A survey that
    already has a next version gets that one back (a double tap makes one copy)."""
    async with in_transaction():
        survey = await _locked_survey(survey_id)
        existing = await Survey.filter(based_on_id=survey_id).order_by("-id").first()
        if existing is not None:
            return existing, False
        copy = await create_survey(await spec_of(survey), based_on=survey)
    return copy, True


async def next_version_of(survey_id: int) -> Survey | None:
    return await Survey.filter(based_on_id=survey_id).order_by("-id").first()


async def set_archived(survey_id: int, archived: bool) -> tuple[Survey, bool]:
    """Archive (hide from the list and from new rounds) or restore a survey; returns (the
    survey, whether it changed). Refused while a round of it is open or scheduled."""
    async with in_transaction():
        survey = await _locked_survey(survey_id)
        if survey.is_archived == archived:
            return survey, False
        if archived:
            rounds = await SurveyRound.filter(survey_id=survey_id)
            if any(round_status(r) != RoundStatus.CLOSED for r in rounds):
                raise SurveyError(
                    "受付中または予定の回があるため、アーカイブできません。"
                    "先にその回を締め切るか、削除してください。"
                )
        survey.is_archived = archived
        await survey.save(update_fields=["is_archived"])
    return survey, True


# ---------- Rounds ----------


class RoundStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"scheduled": "予定", "open": "受付中", "closed": "終了"}[self.value]


@dataclass(frozen=True)
class RoundSpec:
    title: str
    opens_at: datetime
    closes_at: datetime


class BadRound(SurveyError):
    """Everything wrong with a round's form (`problems`, Japanese)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(problems[0] if problems else "")
        self.problems = list(problems)


def round_status(round_: SurveyRound, at: datetime | None = None) -> RoundStatus:
    """予定 before it opens, 受付中 from its opening until its close, then 終了."""
    at = at or now()
    if at < round_.opens_at:
        return RoundStatus.SCHEDULED
    if at < round_.closes_at:
        return RoundStatus.OPEN
    return RoundStatus.CLOSED


async def open_round(survey_id: int, at: datetime | None = None) -> SurveyRound | None:
    """The survey's round taking answers now, if any (there is at most one per family)."""
    at = at or now()
    return (
        await SurveyRound.filter(survey_id=survey_id, opens_at__lte=at, closes_at__gt=at)
        .order_by("-opens_at")
        .first()
    )


async def family_ids(survey_id: int) -> list[int]:
    """The ids of the survey and all its versions (those it is based on, those based on
    it, and theirs): the rounds of one family never overlap."""
    parents = dict(await Survey.all().values_list("id", "based_on_id"))

    def root(i: int) -> int:
        seen = set()
        while parents.get(i) and i not in seen:
            seen.add(i)
            i = int(parents[i])
        return i

    mine = root(survey_id)
    return sorted(i for i in parents if root(int(i)) == mine)


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _overlaps(a_open: datetime, a_close: datetime, b_open: datetime, b_close: datetime) -> bool:
    return a_open < b_close and b_open < a_close


def _when(value: datetime) -> str:
    return f"{value.astimezone(JST):%Y/%m/%d %H:%M}"


async def round_problems(
    survey: Survey, spec: RoundSpec, round_: SurveyRound | None = None
) -> list[str]:
    """What the rules refuse for a new round of `survey` (or `round_` edited to `spec`):

    - a title within ROUND_TITLE_MAX; the close after the opening, and not in the past
      (a round that could take no answer; to end one now there is 締め切る);
    - no overlap with another round of the survey or of its other versions (residents are
      offered one round at a time);
    - edits never reopen or move what has happened: an ended round keeps its dates (only
      its title changes; run the survey again as a new round instead), an open round keeps
      its opening (its close may move, to a future time);
    - an archived survey gets no new round."""
    at = now()
    problems = []
    title = spec.title.strip()
    if not title:
        problems.append("回の名前（例: 2026年度）を入力してください。")
    elif len(title) > ROUND_TITLE_MAX:
        problems.append(f"回の名前は{ROUND_TITLE_MAX}文字以内で入力してください。")
    if round_ is None and survey.is_archived:
        problems.append("アーカイブ済みのアンケートには、新しい回を作れません。")
    status = round_status(round_, at) if round_ is not None else None
    same_open = round_ is not None and _minute(spec.opens_at) == _minute(round_.opens_at)
    same_close = round_ is not None and _minute(spec.closes_at) == _minute(round_.closes_at)
    if status == RoundStatus.CLOSED:
        if not (same_open and same_close):
            problems.append(
                "終了した回の期間は変更できません（集計が変わるため）。もう一度行う場合は"
                "「もう一度実施」で新しい回を作ってください。"
            )
        return problems
    if status == RoundStatus.OPEN and not same_open:
        problems.append("受付中の回の開始日時は変更できません。")
    if spec.closes_at <= spec.opens_at:
        problems.append("締切は開始より後の日時にしてください。")
    elif spec.closes_at <= at and not same_close:
        problems.append(
            "締切が過去の日時になっています。いま受付を終えるには「締め切る」を使ってください。"
            if status == RoundStatus.OPEN
            else "締切が過去の日時になっています。これからの日時にしてください。"
        )
    others = SurveyRound.filter(survey_id__in=await family_ids(survey.id))
    if round_ is not None:
        others = others.exclude(id=round_.id)
    for other in await others.order_by("opens_at"):
        if _overlaps(spec.opens_at, spec.closes_at, other.opens_at, other.closes_at):
            problems.append(
                f"「{other.title}」（{_when(other.opens_at)}〜{_when(other.closes_at)}）と期間が"
                "重なっています。1つのアンケートの回は、同時に1つだけ受け付けられます。"
            )
    return problems


def _kept(spec: RoundSpec, round_: SurveyRound) -> RoundSpec:
    """The spec with the round's own stored times where the form sent them unchanged
    (forms carry minutes; a round closed with 締め切る has seconds)."""
    return RoundSpec(
        spec.title,
        round_.opens_at if _minute(spec.opens_at) == _minute(round_.opens_at) else spec.opens_at,
        round_.closes_at
        if _minute(spec.closes_at) == _minute(round_.closes_at)
        else spec.closes_at,
    )


async def create_round(survey_id: int, spec: RoundSpec) -> SurveyRound:
    """A new round of the survey (also 「もう一度実施」); BadRound lists what is wrong. The
    family's first survey row is locked, so two rounds made at once cannot overlap."""
    async with in_transaction():
        await _lock_family(survey_id)
        survey = await Survey.get_or_none(id=survey_id)
        if survey is None:
            raise SurveyError("アンケートが見つかりません。")
        problems = await round_problems(survey, spec)
        if problems:
            raise BadRound(problems)
        return await SurveyRound.create(
            survey_id=survey_id,
            title=spec.title.strip(),
            opens_at=spec.opens_at,
            closes_at=spec.closes_at,
        )


async def _lock_family(survey_id: int) -> None:
    """Lock the family's first survey row: round changes of one family go one at a time."""
    family = await family_ids(survey_id) or [survey_id]
    await Survey.filter(id=min(family)).select_for_update().first()


async def _locked_round(round_id: int) -> SurveyRound:
    found = await SurveyRound.filter(id=round_id).select_for_update().first()
    if found is None:
        raise SurveyError("回が見つかりません。")
    return found


async def update_round(round_id: int, spec: RoundSpec) -> tuple[SurveyRound, list[str]]:
    """Change a round's title and dates within round_problems' rules; returns (the round,
    the names of what changed: title, opens_at, closes_at)."""
    async with in_transaction():
        found = await SurveyRound.get_or_none(id=round_id)
        if found is None:
            raise SurveyError("回が見つかりません。")
        await _lock_family(found.survey_id)  # type: ignore[attr-defined]
        round_ = await _locked_round(round_id)
        survey = await Survey.get(id=round_.survey_id)  # type: ignore[attr-defined]
        problems = await round_problems(survey, spec, round_)
        if problems:
            raise BadRound(problems)
        spec = _kept(spec, round_)
        changed = [
            name
            for name, value in (
                ("title", spec.title.strip()),
                ("opens_at", spec.opens_at),
                ("closes_at", spec.closes_at),
            )
            if getattr(round_, name) != value
        ]
        if changed:
            round_.title = spec.title.strip()
            round_.opens_at = spec.opens_at
            round_.closes_at = spec.closes_at
            await round_.save(update_fields=changed)
    return round_, changed


async def close_round(round_id: int) -> tuple[SurveyRound, bool]:
    """締め切る: an open round closes now; returns (the round, whether it closed now). An
    ended round is answered as it is (a double tap); a round not open yet is refused (change
    its dates or delete it)."""
    async with in_transaction():
        round_ = await _locked_round(round_id)
        status = round_status(round_)
        if status == RoundStatus.CLOSED:
            return round_, False
        if status == RoundStatus.SCHEDULED:
            raise SurveyError(
                "この回はまだ受付が始まっていません。期間を変更するか、回を削除してください。"
            )
        round_.closes_at = now()
        await round_.save(update_fields=["closes_at"])
    return round_, True


async def delete_round(round_id: int) -> SurveyRound | None:
    """Remove a round no one has answered (e.g. one scheduled by mistake); returns it, or
    None if it was already gone. A round with responses is kept (its results)."""
    async with in_transaction():
        round_ = await SurveyRound.filter(id=round_id).select_for_update().first()
        if round_ is None:
            return None
        if await SurveyResponse.filter(round_id=round_id).exists():
            raise SurveyError("回答がある回は削除できません（結果が残ります）。")
        await round_.delete()
    return round_


def _next_year(value: datetime) -> datetime:
    local = value.astimezone(JST)
    try:
        return local.replace(year=local.year + 1)
    except ValueError:  # 29 February
        return local + timedelta(days=365)


def _next_title(title: str) -> str:
    """「2026年度」→「2027年度」: the last 4-digit year in the title, one up."""
    found = list(re.finditer(r"(?<![0-9])(20[0-9]{2})(?![0-9])", title))
    if not found:
        return title
    last = found[-1]
    return title[: last.start()] + str(int(last.group(1)) + 1) + title[last.end() :]


def _fiscal_title(day: date) -> str:
    return f"{fiscal_year_of(day)}年度"


async def next_round_spec(survey_id: int) -> RoundSpec:
    """The form's values for the survey's next round (「もう一度実施」): the family's latest
    round a year later with the year in its title moved on (when that would still be in
    the past: from today for as long as the last one ran); with no round yet, from today for
    a month, titled with the 年度."""
    today = now().astimezone(JST).date()
    latest = (
        await SurveyRound.filter(survey_id__in=await family_ids(survey_id))
        .order_by("-closes_at", "-id")
        .first()
    )
    if latest is None:
        opens = jst_datetime(today)
        return RoundSpec(
            _fiscal_title(today), opens, jst_datetime(today + timedelta(days=30), time(23, 59))
        )
    opens, closes = _next_year(latest.opens_at), _next_year(latest.closes_at)
    if closes <= now():
        days = max(7, (latest.closes_at - latest.opens_at).days)
        opens = jst_datetime(today)
        closes = jst_datetime(today + timedelta(days=days), time(23, 59))
    if opens < latest.closes_at:  # still overlapping the latest (it runs over a year)
        opens = latest.closes_at.astimezone(JST)
    return RoundSpec(_next_title(latest.title), opens, closes)
