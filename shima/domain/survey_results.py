"""The figures of one survey round, as the admin's results page shows them: responses,
completion, each question's distribution, the satisfaction rate, the Well-Being averages,
free comments, and breakdowns by profile attribute that never show a group small enough to
single someone out.

Definitions:
- 回答数: the round's responses (started, completed or not); 完了率: completed / 回答数.
- A question's answers: every non-skipped answer in the round, completed or not.
- 満足度: of those who answered the HAPPINESS question (1–5), the share answering 4 or 5
  (SATISFIED); skipped answers are not counted, incomplete responses are. The one place of
  this rule: `happiness_answers` (which answers count), `rate_of` / `satisfied_sql` (which
  values), `satisfaction_rate` (a round's rate) — the plan's goal 4 (shima.domain.goals)
  calls them; `round_results` applies `rate_of` to the round's tally, which holds the same
  answers (a test keeps the two equal).
- Well-Being: the mean of the WB_HAPPINESS and WB_LIFE answers (0–10), one decimal.
- Breakdowns (子育て, 副業, 移住, each skill): the respondents' current profiles
  (models.profiles.ResidentProfile). A group's people are the respondents in it who answered
  at least one of those three questions. A group of fewer than MIN_GROUP is shown only as
  HIDDEN_TEXT, never its figures. Where the groups split everyone (子育て, 副業, 移住 with
  their 未回答), the hidden groups together must also hold 0 or at least MIN_GROUP people —
  else a hidden group's figures could be worked out from the whole round's and the shown
  groups' — so the smallest shown groups are hidden too (SECONDARY_TEXT), as official
  statistics do (二次秘匿). Inside a shown group, a figure answered by fewer than MIN_GROUP is
  left out as well.

Counted by the database (grouped queries; the breakdowns' answers pivoted to one row per
respondent) and read as the driver's rows, never a model object per answer: a round of
5,000 responses × 13 answers with 10,000 residents takes ~0.1 s (bench/goals_dashboard.py)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.functions import Count

from models.survey import (
    QuestionKind,
    QuestionRole,
    ResponseStatus,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyRound,
)
from shima.db import fetch_rows, raw_bool, raw_json
from shima.domain import profiles

MIN_GROUP = 5
HIDDEN_TEXT = "5人未満のため非表示"
SECONDARY_TEXT = "ほかの区分から計算できてしまうため非表示"
COMMENTS_SHOWN = 100  # the newest; all of them are in the CSV
SATISFIED = (4, 5)  # the HAPPINESS answers (of 1–5) that count as satisfied
YES_NO: tuple[tuple[str, str, int], ...] = (("yes", "はい", 1), ("no", "いいえ", 0))


def percent(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal (None when whole is 0)."""
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class ValueCount:
    """One answer value's count: `share` is of the question's answers (percent)."""

    value: str
    label: str
    count: int
    share: float | None


@dataclass(frozen=True)
class Comment:
    text: str
    answered_at: datetime


@dataclass(frozen=True)
class QuestionResult:
    id: int
    position: int
    kind: QuestionKind
    text: str
    role: QuestionRole
    required: bool
    answered: int  # non-skipped answers (for multi: people who picked at least one)
    skipped: int
    counts: tuple[ValueCount, ...] = ()  # every value (scales: 0 counts too); text: none
    comments: tuple[Comment, ...] = ()  # text: the newest COMMENTS_SHOWN, newest first
    mean: float | None = None  # scales: the average, one decimal

    @property
    def more_comments(self) -> int:
        return max(0, self.answered - len(self.comments))


@dataclass(frozen=True)
class Rate:
    """The satisfaction rate: of `answered`, `satisfied` answered 4 or 5."""

    answered: int
    satisfied: int

    @property
    def percent(self) -> float | None:
        return percent(self.satisfied, self.answered)


@dataclass(frozen=True)
class Mean:
    answered: int
    total: int

    @property
    def value(self) -> float | None:
        return round(self.total / self.answered, 1) if self.answered else None


@dataclass(frozen=True)
class Group:
    """A breakdown's group. Hidden: only `label` and `hidden` (the reason) are set."""

    label: str
    hidden: str = ""
    people: int | None = None
    satisfaction: Rate | None = None  # None: hidden, no such question, or under MIN_GROUP
    wb_happiness: Mean | None = None
    wb_life: Mean | None = None


@dataclass(frozen=True)
class Breakdown:
    key: str
    title: str
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class RoundResults:
    round_id: int
    responses: int
    completed: int
    questions: tuple[QuestionResult, ...]
    satisfaction: Rate | None  # None: the survey has no HAPPINESS question
    wb_happiness: Mean | None  # None: no such question
    wb_life: Mean | None
    breakdowns: tuple[Breakdown, ...] = field(default_factory=tuple)

    @property
    def completion_rate(self) -> float | None:
        return percent(self.completed, self.responses)

    def question(self, role: QuestionRole) -> QuestionResult | None:
        return next((q for q in self.questions if q.role == role), None)


# ---------- Counting ----------


def _answers(round_id: int) -> Any:
    return SurveyAnswer.filter(response__round_id=round_id)


@dataclass
class _Tally:
    """The round's answers counted by the database: numbers (scales, yes/no, years) and the
    skips of every question in one grouped query over all the round's answers; single
    choices' values and multi choices' picks (grouped by the picked list) per question, which
    the (response, question) index finds without reading the other answers."""

    numbers: dict[int, Counter[int]] = field(default_factory=dict)
    texts: dict[int, Counter[str]] = field(default_factory=dict)
    picks: dict[int, Counter[str]] = field(default_factory=dict)
    pickers: Counter[int] = field(default_factory=Counter)
    skipped: Counter[int] = field(default_factory=Counter)
    given: Counter[int] = field(default_factory=Counter)  # non-skipped answers, any kind


async def _tally(
    round_id: int, question_ids: Sequence[int], of_kind: Mapping[QuestionKind, Sequence[int]]
) -> _Tally:
    tally = _Tally()
    for i in question_ids:
        tally.numbers[i], tally.texts[i], tally.picks[i] = Counter(), Counter(), Counter()
    numbers = (
        _answers(round_id)
        .annotate(n=Count("id"))
        .group_by("question_id", "skipped", "number")
        .values("question_id", "skipped", "number", "n")
    )
    for row in await fetch_rows(numbers):
        question_id, number, n = int(row["question_id"]), row["number"], int(row["n"])
        if raw_bool(row["skipped"]):
            tally.skipped[question_id] += n
            continue
        tally.given[question_id] += n
        if number is not None and question_id in tally.numbers:
            tally.numbers[question_id][int(number)] += n
    for question_id in of_kind.get(QuestionKind.SINGLE, ()):
        chosen = (
            _answers(round_id)
            .filter(question_id=question_id, skipped=False)
            .annotate(n=Count("id"))
            .group_by("text")
            .values("text", "n")
        )
        for row in await fetch_rows(chosen):
            if row["text"]:
                tally.texts[question_id][str(row["text"])] += int(row["n"])
    for question_id in of_kind.get(QuestionKind.MULTI, ()):
        picked_lists = (
            _answers(round_id)
            .filter(question_id=question_id, skipped=False)
            .annotate(n=Count("id"))
            .group_by("values")
            .values("values", "n")
        )
        for row in await fetch_rows(picked_lists):
            picked = set(raw_json(row["values"]) or [])
            if picked:
                tally.picks[question_id].update(dict.fromkeys(picked, int(row["n"])))
                tally.pickers[question_id] += int(row["n"])
    return tally


async def _comments(round_id: int, question_id: int) -> tuple[Comment, ...]:
    """The newest COMMENTS_SHOWN written answers, newest first."""
    rows = (
        await _answers(round_id)
        .filter(question_id=question_id, skipped=False)
        .exclude(text="")
        .order_by("-answered_at", "-id")
        .limit(COMMENTS_SHOWN)
        .values_list("text", "answered_at")
    )
    return tuple(Comment(str(text), at) for text, at in rows)


def _counted(items: Iterable[tuple[str, str, int]], whole: int) -> tuple[ValueCount, ...]:
    return tuple(ValueCount(value, label, n, percent(n, whole)) for value, label, n in items)


def _mean(counts: Mapping[int, int]) -> Mean:
    return Mean(sum(counts.values()), sum(value * n for value, n in counts.items()))


def scale_values(kind: QuestionKind) -> range:
    return range(1, 6) if kind == QuestionKind.SCALE5 else range(11)


async def round_results(round_: SurveyRound) -> RoundResults:
    """Every figure of the results page for `round_` (see the module's definitions)."""
    round_id = round_.id
    questions = await SurveyQuestion.filter(
        survey_id=round_.survey_id  # type: ignore[attr-defined]
    ).order_by("position")
    of_kind: dict[QuestionKind, list[int]] = {}
    for q in questions:
        of_kind.setdefault(QuestionKind(q.kind), []).append(q.id)
    texts = of_kind.get(QuestionKind.TEXT, [])
    tally = await _tally(round_id, [q.id for q in questions if q.id not in texts], of_kind)
    skipped, numbers = tally.skipped, tally.numbers
    statuses = (
        await SurveyResponse.filter(round_id=round_id)
        .annotate(n=Count("id"))
        .group_by("status")
        .values("status", "n")
    )
    by_status = {str(r["status"]): int(r["n"]) for r in statuses}

    results = []
    for q in questions:
        kind = QuestionKind(q.kind)
        base: dict[str, Any] = {
            "id": q.id,
            "position": q.position,
            "kind": kind,
            "text": q.text,
            "role": QuestionRole(q.role),
            "required": q.required,
            "skipped": skipped.get(q.id, 0),
        }
        if kind in (QuestionKind.SCALE5, QuestionKind.SCALE11):
            counts = numbers[q.id]
            answered = sum(counts.values())
            items = [(str(v), str(v), counts.get(v, 0)) for v in scale_values(kind)]
            result = QuestionResult(
                **base,
                answered=answered,
                counts=_counted(items, answered),
                mean=_mean(counts).value,
            )
        elif kind == QuestionKind.YESNO:
            counts = numbers[q.id]
            answered = sum(counts.values())
            items = [(value, label, counts.get(number, 0)) for value, label, number in YES_NO]
            result = QuestionResult(**base, answered=answered, counts=_counted(items, answered))
        elif kind == QuestionKind.YEAR:
            counts = numbers[q.id]
            answered = sum(counts.values())
            items = [(str(y), f"{y}年", counts[y]) for y in sorted(counts)]
            result = QuestionResult(**base, answered=answered, counts=_counted(items, answered))
        elif kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
            single = kind == QuestionKind.SINGLE
            found = tally.texts[q.id] if single else tally.picks[q.id]
            answered = sum(found.values()) if single else tally.pickers[q.id]
            choices = [(c["value"], c["label"]) for c in q.choices or []]
            items = [(value, label, found.get(value, 0)) for value, label in choices]
            known = {value for value, _ in choices}
            items += [
                (v, f"{v}（選択肢にない回答）", n) for v, n in found.items() if v not in known
            ]
            result = QuestionResult(**base, answered=answered, counts=_counted(items, answered))
        else:
            comments = await _comments(round_id, q.id)
            result = QuestionResult(**base, answered=tally.given[q.id], comments=comments)
        results.append(result)

    by_role = {QuestionRole(q.role): q.id for q in questions if q.role}
    happiness_id = by_role.get(QuestionRole.HAPPINESS)
    wb_ids = (by_role.get(QuestionRole.WB_HAPPINESS), by_role.get(QuestionRole.WB_LIFE))
    figures = FigureQuestions(happiness_id, *wb_ids)
    return RoundResults(
        round_id=round_id,
        responses=sum(by_status.values()),
        completed=by_status.get(ResponseStatus.COMPLETED.value, 0),
        questions=tuple(results),
        # = satisfaction_rate(round_id): the tally already holds those answers (the round's,
        # not skipped, completed or not) by value; a query of their own cost ~10 % of the page.
        satisfaction=rate_of(numbers[happiness_id]) if happiness_id else None,
        wb_happiness=_mean(numbers[wb_ids[0]]) if wb_ids[0] else None,
        wb_life=_mean(numbers[wb_ids[1]]) if wb_ids[1] else None,
        breakdowns=await breakdowns(round_id, figures),
    )


# ---------- 満足度 (the results page and the plan's goal 4) ----------


async def happiness_answers(round_ids: Sequence[int]) -> Any:
    """The answers 満足度 counts in the rounds `round_ids`: those given (not skipped) to
    their survey's HAPPINESS question, whether or not the response is completed — found
    through the rounds' responses and the questions' ids, which the unique (response,
    question) index serves. Awaiting gives the query."""
    questions = await SurveyQuestion.filter(
        role=QuestionRole.HAPPINESS, survey__rounds__id__in=list(round_ids)
    ).values_list("id", flat=True)
    return SurveyAnswer.filter(
        response__round_id__in=list(round_ids),
        question_id__in=list(set(questions)),
        skipped=False,
        number__isnull=False,
    )


def rate_of(counts: Mapping[int, int]) -> Rate:
    """満足度 from the happiness answers counted by value ({5: 12, 4: 30, …})."""
    return Rate(sum(counts.values()), sum(n for value, n in counts.items() if value in SATISFIED))


def satisfied_sql(column: str) -> str:
    """An SQL condition: the happiness answer in `column` counts as satisfied."""
    return f"{column} IN ({', '.join(str(int(v)) for v in SATISFIED)})"


async def satisfaction_rate(round_id: int) -> Rate:
    """The round's 満足度, counted by the database (Rate(0, 0): no answer to count)."""
    answers = await happiness_answers([round_id])
    counts = await answers.group_by("number").annotate(n=Count("id")).values("number", "n")
    return rate_of({int(c["number"]): int(c["n"]) for c in counts})


# ---------- Breakdowns ----------


@dataclass(frozen=True)
class FigureQuestions:
    """The ids of the questions the breakdowns show (None: the survey has none)."""

    happiness: int | None
    wb_happiness: int | None
    wb_life: int | None

    @property
    def ids(self) -> list[int]:
        return [i for i in (self.happiness, self.wb_happiness, self.wb_life) if i]


def _attributes() -> list[tuple[str, str, bool, list[tuple[str, Any]]]]:
    """(profile field, title, whether its groups split everyone, [(group label, value)])."""
    residency = [(label, code) for code, label in profiles.RESIDENCY.items()]
    skills = [(label, code) for code, label in profiles.SKILLS.items()]
    return [
        (
            "raising_children",
            "子育て",
            True,
            [("子育て中", True), ("子育てしていない", False), ("未回答", None)],
        ),
        ("side_job", "副業", True, [("副業あり", True), ("副業なし", False), ("未回答", None)]),
        ("residency", "地元／移住", True, [*residency, ("未回答", "")]),
        ("skills", "職種・スキル", False, skills),
    ]


async def _people(round_id: int, figures: FigureQuestions) -> tuple[Sequence[Any], Sequence[Any]]:
    """Read as the driver returns them (only our own integers are put in the SQL):

    - one row per respondent who answered a figure question — (resident id, happiness,
      WB 幸福度, WB 生活満足度; None where not answered) — pivoted by the database, so a
      round of 5,000 respondents reads 5,000 rows, not one per answer;
    - the respondents' profiles: (resident id, 子育て, 副業, 地元／移住, skills)."""
    ids = ", ".join(str(int(i)) for i in figures.ids)

    def pick(question_id: int | None) -> str:
        wanted = int(question_id) if question_id else -1
        return f"MAX(CASE WHEN a.question_id = {wanted} THEN a.number END)"

    answers = (
        f"SELECT r.resident_id, {pick(figures.happiness)}, {pick(figures.wb_happiness)}, "
        f"{pick(figures.wb_life)} FROM survey_responses r "
        "JOIN survey_answers a ON a.response_id = r.id "
        f"WHERE r.round_id = {int(round_id)} AND a.question_id IN ({ids}) "
        "AND NOT a.skipped AND a.number IS NOT NULL GROUP BY r.resident_id"
    )
    profile_rows = (
        "SELECT p.resident_id, p.raising_children, p.side_job, p.residency, p.skills "
        "FROM survey_responses r JOIN resident_profiles p ON p.resident_id = r.resident_id "
        f"WHERE r.round_id = {int(round_id)}"
    )
    db = connections.get("default")
    _, found = await db.execute_query(answers)
    _, told = await db.execute_query(profile_rows)
    return list(found), list(told)


@dataclass
class _Answers:
    """The figure questions' answers by resident (one each: responses are per resident)."""

    happiness: dict[int, int] = field(default_factory=dict)
    wb_happiness: dict[int, int] = field(default_factory=dict)
    wb_life: dict[int, int] = field(default_factory=dict)


async def breakdowns(round_id: int, figures: FigureQuestions) -> tuple[Breakdown, ...]:
    """The satisfaction rate and Well-Being averages per profile group (see the module)."""
    if not figures.ids:
        return ()
    answers = _Answers()
    rows, profile_rows = await _people(round_id, figures)
    for resident_id, happiness, wb_happiness, wb_life in rows:
        for value, into in (
            (happiness, answers.happiness),
            (wb_happiness, answers.wb_happiness),
            (wb_life, answers.wb_life),
        ):
            if value is not None:
                into[int(resident_id)] = int(value)
    skill_sets: dict[Any, frozenset[str]] = {}  # the same lists come back many times
    found: dict[int, tuple[bool | None, bool | None, str, frozenset[str]]] = {}
    for resident_id, children, side_job, residency, skills in profile_rows:
        key = skills if isinstance(skills, str | bytes) else json.dumps(skills)
        if key not in skill_sets:
            skill_sets[key] = frozenset(raw_json(skills) or [])
        residency = residency if residency in profiles.RESIDENCY else ""
        found[int(resident_id)] = (
            raw_bool(children),
            raw_bool(side_job),
            residency,
            skill_sets[key],
        )
    people = [int(row[0]) for row in rows]
    blank: tuple[bool | None, bool | None, str, frozenset[str]] = (None, None, "", frozenset())
    result = []
    for column, (key, title, splits, groups) in enumerate(_attributes()):
        members: list[list[int]] = [[] for _ in groups]
        index = {value: n for n, (_, value) in enumerate(groups)}
        if key == "skills":
            for resident_id in people:
                for code in found.get(resident_id, blank)[3]:
                    if code in index:
                        members[index[code]].append(resident_id)
        else:  # the profile tuple's columns are in _attributes' order
            for resident_id in people:
                members[index[found.get(resident_id, blank)[column]]].append(resident_id)
        labels = [label for label, _ in groups]
        result.append(Breakdown(key, title, _suppressed(labels, members, answers, figures, splits)))
    return tuple(result)


def hidden_groups(sizes: Sequence[int], splits: bool) -> dict[int, str]:
    """Which groups (by index) are hidden and why: every group under MIN_GROUP; where the
    groups split everyone, then the smallest shown ones until the hidden together hold 0 or
    at least MIN_GROUP people."""
    hidden = {n: HIDDEN_TEXT for n, size in enumerate(sizes) if size < MIN_GROUP}
    if not splits:
        return hidden
    while 0 < sum(sizes[n] for n in hidden) < MIN_GROUP:
        shown = [n for n in range(len(sizes)) if n not in hidden]
        if not shown:
            break
        smallest = min(shown, key=lambda n: (sizes[n], -n))
        hidden[smallest] = SECONDARY_TEXT
    return hidden


def _suppressed(
    labels: Sequence[str],
    members: Sequence[Sequence[int]],
    answers: _Answers,
    figures: FigureQuestions,
    splits: bool,
) -> tuple[Group, ...]:
    hidden = hidden_groups([len(m) for m in members], splits)
    groups = []
    for n, (label, people) in enumerate(zip(labels, members, strict=True)):
        if n in hidden:
            groups.append(Group(label, hidden=hidden[n]))
            continue
        happiness = [answers.happiness[r] for r in people if r in answers.happiness]
        wb_h = [answers.wb_happiness[r] for r in people if r in answers.wb_happiness]
        wb_l = [answers.wb_life[r] for r in people if r in answers.wb_life]
        rate = rate_of(Counter(happiness))
        groups.append(
            Group(
                label,
                people=len(people),
                satisfaction=rate if figures.happiness and rate.answered >= MIN_GROUP else None,
                wb_happiness=_enough(wb_h) if figures.wb_happiness else None,
                wb_life=_enough(wb_l) if figures.wb_life else None,
            )
        )
    return tuple(groups)


def _enough(values: Sequence[int]) -> Mean | None:
    """The mean of a group's answers, unless fewer than MIN_GROUP gave one."""
    return Mean(len(values), sum(values)) if len(values) >= MIN_GROUP else None
