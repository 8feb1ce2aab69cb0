"""The plan's five goals (第3ステージ, R7–R9), live: the one place for what each goal counts,
its Japanese definition, its value, its progress against the target, its series by month, the
people behind it and the yearly report (R7, R8, R9 and the period, in the shape of the plan's
own KPI table).

The plan (PlanSettings, row id 1, made with the defaults on first read) gives the period —
JST dates, both inclusive: from the start day 00:00 JST to the day after the end 00:00 JST —
and the five targets.

1. スキルアップ支援者数: distinct people with an attendance (出席, on a registration that holds
   its seat) at a session of a 寺子屋 or ワークショップ starting in the period; walk-ins count
   by their name (NFKC, spaces removed), once each. Month view: cumulative, by the month of
   their first such attendance.
2. 新たなフリーランス移住者: profiles with residency 移住 and a moved year Y whose 年度
   (April Y – March Y+1) overlaps the period, who freelance (a skill, or freelance income).
3. 有収益の子育て・副業フリーランス: profiles raising children or with a side job, with
   freelance income.
   Month view of 2 and 3: cumulative, by the day the profile came to count — the latest
   recorded date (`filled[field]["on"]`) of the fields that make it count (for "a skill or
   income", the earlier of the two that hold); a profile with no recorded date counts from its
   last update. Earlier dates count from the first month.
4. 幸せ（ワークライフ）満足度: the results page's 満足度 (shima.domain.survey_results'
   `satisfaction_rate`: the share answering 4 or 5 among those who answered the HAPPINESS
   question, skipped ones left out, completed or not) of the latest round (by opens_at, opened
   in the period) of the standard survey (any version) that has such an answer. Month view:
   per month, the same share among the happiness answers given that month (every round of the
   standard survey opened in the period).
5. コミュニティリーダー: residents tagged profiles.LEADER_TAG. Month view: cumulative, by the
   month they were tagged.

Counting is done by the database (grouped Min/Count, months grouped by it, `.values()` read
raw): no model is loaded per row, so the board stays fast with tens of thousands of
attendance rows and thousands of profiles and answers.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.functions import Count, Max, Min

from models.course import (
    Attendance,
    ProgrammeKind,
    Registration,
    RegistrationStatus,
)
from models.profiles import PlanSettings, ResidentProfile, ResidentTag
from models.residents import Resident
from models.survey import SurveyRound
from shima.db import built_sql, fetch_rows, raw_bool, raw_datetime
from shima.domain import survey_results
from shima.domain.profiles import LEADER_TAG
from shima.timeutil import JST, fiscal_year_of, jst_datetime, now, to_utc

SKILLUP, MIGRANTS, EARNING, SATISFACTION, LEADERS = 1, 2, 3, 4, 5
NUMBERS = (SKILLUP, MIGRANTS, EARNING, SATISFACTION, LEADERS)

DEFAULT_STARTS_ON = date(2025, 4, 1)
DEFAULT_ENDS_ON = date(2028, 3, 31)
DEFAULT_TARGETS = (90, 15, 30, 80, 3)
# PlanSettings' column of each goal's target.
TARGET_FIELDS = (
    "target_skillup",
    "target_migrants",
    "target_earning",
    "target_satisfaction",
    "target_leaders",
)
TARGET_MAX = 100_000  # a count target; the satisfaction target is a percentage (≤ 100)
SKILLUP_KINDS = (ProgrammeKind.TERAKOYA, ProgrammeKind.WORKSHOP)
REIWA_OFFSET = 2018  # 令和 year = western year − 2018 (2025 = 令和7年)


# ---------- The plan ----------


@dataclass(frozen=True)
class FiscalYear:
    year: int  # the western year it starts in (April 1st)

    @property
    def label(self) -> str:
        """R7 for 2025年度."""
        return f"R{self.year - REIWA_OFFSET}"

    @property
    def long_label(self) -> str:
        return f"令和{self.year - REIWA_OFFSET}年度（{self.year}年度）"

    @property
    def starts_on(self) -> date:
        return date(self.year, 4, 1)

    @property
    def ends_on(self) -> date:
        return date(self.year + 1, 3, 31)


@dataclass(frozen=True)
class Plan:
    starts_on: date
    ends_on: date  # inclusive
    targets: tuple[int, int, int, int, int]

    @property
    def since(self) -> datetime:
        """The period's first moment: the start day 00:00 JST (UTC-aware)."""
        return to_utc(jst_datetime(self.starts_on))

    @property
    def until(self) -> datetime:
        """The moment after the period: the day after the end, 00:00 JST (UTC-aware)."""
        return to_utc(jst_datetime(self.ends_on + timedelta(days=1)))

    def target(self, number: int) -> int:
        return self.targets[number - 1]

    @property
    def fiscal_years(self) -> list[FiscalYear]:
        """Every 年度 overlapping the period (R7, R8, R9 for the default)."""
        first, last = fiscal_year_of(self.starts_on), fiscal_year_of(self.ends_on)
        return [FiscalYear(y) for y in range(first, last + 1)]

    @property
    def moved_years(self) -> list[int]:
        """Goal 2's moved years: Y whose 年度 (April Y – March Y+1) overlaps the period."""
        return [fy.year for fy in self.fiscal_years]

    def window(self, fy: FiscalYear) -> tuple[datetime, datetime]:
        """The part of `fy` inside the period, as UTC-aware bounds [since, until)."""
        since = max(fy.starts_on, self.starts_on)
        until = min(fy.ends_on, self.ends_on) + timedelta(days=1)
        return to_utc(jst_datetime(since)), to_utc(jst_datetime(until))

    @property
    def period_text(self) -> str:
        return f"{self.starts_on:%Y/%m/%d}〜{self.ends_on:%Y/%m/%d}"

    @property
    def years_text(self) -> str:
        years = self.moved_years
        return f"{years[0]}〜{years[-1]}年" if len(years) > 1 else f"{years[0]}年"


DEFAULT_PLAN = Plan(DEFAULT_STARTS_ON, DEFAULT_ENDS_ON, DEFAULT_TARGETS)


def _plan_of(row: PlanSettings) -> Plan:
    targets = tuple(int(getattr(row, f)) for f in TARGET_FIELDS)
    return Plan(row.starts_on, row.ends_on, targets)  # type: ignore[arg-type]


async def plan() -> Plan:
    """The plan's period and targets (the row is made with the defaults on first read)."""
    row = await PlanSettings.get_or_none(id=1)
    if row is None:
        row, _ = await PlanSettings.get_or_create(
            id=1,
            defaults={
                "starts_on": DEFAULT_STARTS_ON,
                "ends_on": DEFAULT_ENDS_ON,
                **dict(zip(TARGET_FIELDS, DEFAULT_TARGETS, strict=True)),
            },
        )
    return _plan_of(row)


class PlanError(ValueError):
    """A plan staff cannot save; `problems` are Japanese, one per field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def plan_problems(starts_on: date, ends_on: date, targets: Sequence[int]) -> list[str]:
    """What is wrong with a plan, in Japanese (empty when it can be saved)."""
    problems = []
    if ends_on <= starts_on:
        problems.append(
            f"計画期間の終わり（{ends_on:%Y/%m/%d}）は、始まり（{starts_on:%Y/%m/%d}）より後の日付に"
            "してください。"
        )
    for number, value in zip(NUMBERS, targets, strict=True):
        title = GOALS[number - 1].title
        if value < 1:
            problems.append(f"{title}の目標値は1以上の整数にしてください。")
        elif number == SATISFACTION and value > 100:
            problems.append(f"{title}の目標値は1〜100（%）の整数にしてください。")
        elif value > TARGET_MAX:
            problems.append(f"{title}の目標値は{TARGET_MAX:,}以下にしてください。")
    return problems


async def save_plan(starts_on: date, ends_on: date, targets: Sequence[int]) -> tuple[Plan, Plan]:
    """Set the period and targets (PlanError with the problems, nothing changed); returns
    the plan before and after."""
    problems = plan_problems(starts_on, ends_on, targets)
    if problems:
        raise PlanError(problems)
    before = await plan()
    values = dict(zip(TARGET_FIELDS, (int(t) for t in targets), strict=True))
    await PlanSettings.filter(id=1).update(
        starts_on=starts_on, ends_on=ends_on, updated_at=now(), **values
    )
    return before, Plan(starts_on, ends_on, tuple(values.values()))  # type: ignore[arg-type]


# ---------- The goals' words ----------


@dataclass(frozen=True)
class GoalKind:
    number: int
    title: str
    unit: str  # 人 or %
    month_note: str  # what the chart by month shows
    people_note: str  # what the people page lists and why


GOALS: tuple[GoalKind, ...] = (
    GoalKind(
        SKILLUP,
        "スキルアップ支援者数",
        "人",
        "初めて出席した月で数えた累計です。",
        "期間中に寺子屋・ワークショップに出席した人（初めて出席した日の順）。",
    ),
    GoalKind(
        MIGRANTS,
        "新たなフリーランス移住者",
        "人",
        "プロフィールで条件を満たした日（該当する項目が記録された日のうち最も遅い日）の月で"
        "数えた累計です。期間の前に記録された人は最初の月から数えます。",
        "移住した年とフリーランスの活動（スキルまたは収入）がプロフィールにある人。",
    ),
    GoalKind(
        EARNING,
        "有収益の子育て・副業フリーランス",
        "人",
        "プロフィールで条件を満たした日（該当する項目が記録された日のうち最も遅い日）の月で"
        "数えた累計です。期間の前に記録された人は最初の月から数えます。",
        "子育て中または副業で、フリーランスの収入がある人。",
    ),
    GoalKind(
        SATISFACTION,
        "幸せ（ワークライフ）満足度",
        "%",
        "その月に回答された「幸せ」の回答のうち、4・5と答えた割合です"
        "（期間中の満足度調査のすべての回）。",
        "最新回で「幸せ」の質問に答えた人（個人の回答の値は表示しません）。",
    ),
    GoalKind(
        LEADERS,
        "コミュニティリーダー",
        "人",
        "タグを付けた月で数えた累計です。期間の前に付けたタグは最初の月から数えます。",
        f"「{LEADER_TAG}」のタグが付いている人（タグを付けた日の順）。",
    ),
)


def kind_of(number: int) -> GoalKind:
    return GOALS[number - 1]


def definition(number: int, the_plan: Plan) -> str:
    """The goal's definition as the tile and the report state it."""
    period = the_plan.period_text
    if number == SKILLUP:
        return (
            f"計画期間（{period}）に開催された寺子屋またはワークショップに1回以上出席した人の"
            "実人数（交流会は含みません）。当日参加の方も含み、お名前で数えます"
            "（全角・半角と空白の違いは同じお名前とみなし、1人と数えます）。"
        )
    if number == MIGRANTS:
        return (
            "プロフィールが「移住」で、移住した年が計画期間の年度にあたる人"
            f"（{the_plan.years_text}。その年の4月から翌年3月までの年度が期間に重なる年）のうち、"
            "フリーランスとして活動している人（職種・スキルの登録がある、またはフリーランスの"
            "収入が「はい」）。"
        )
    if number == EARNING:
        return (
            "プロフィールで「子育て中」または「副業」が「はい」で、かつ「フリーランスの収入」が"
            "「はい」の人（いまのプロフィールで数えます）。"
        )
    if number == SATISFACTION:
        return (
            "計画期間に始まった満足度調査（標準のアンケート）の最新の回で、「仕事と暮らしを合わせた"
            "幸せ」の質問に4または5と答えた人の割合。分母はこの質問に答えた人です（スキップした人は"
            "除き、回答の途中の人も含みます）。"
        )
    return f"「{LEADER_TAG}」のタグが付いている利用者の人数（タグはスタッフが付けます）。"


# ---------- Results ----------


@dataclass(frozen=True)
class MonthValue:
    month: date  # its first day
    value: float  # the cumulative count, or goal 4's share (%)
    count: int  # goal 4: happiness answers that month; else the same as value

    @property
    def label(self) -> str:
        return f"{self.month.year}/{self.month.month}"


@dataclass(frozen=True)
class Goal:
    number: int
    title: str
    unit: str
    definition: str
    target: int
    value: int | None  # None: goal 4 with no answered round
    respondents: int | None = None  # goal 4: those who answered the happiness question
    round_title: str = ""  # goal 4: the round counted
    series: tuple[MonthValue, ...] = ()
    month_note: str = ""

    @property
    def progress(self) -> int | None:
        """The real % of the target (may pass 100)."""
        if self.value is None or self.target <= 0:
            return None
        return round(self.value * 100 / self.target)

    @property
    def bar(self) -> int:
        """The progress bar's width: the % capped at 100."""
        return min(self.progress or 0, 100)

    @property
    def reached(self) -> bool:
        return self.value is not None and self.value >= self.target

    @property
    def value_text(self) -> str:
        return "—" if self.value is None else f"{self.value:,}{self.unit}"

    @property
    def target_text(self) -> str:
        return f"{self.target:,}{self.unit}"

    @property
    def progress_text(self) -> str:
        return "—" if self.progress is None else f"{self.progress}%"

    @property
    def remaining_text(self) -> str:
        """How far from the target, in the goal's own unit (「あと5ポイント」 for a rate: a
        達成率 of 94% beside 75% / 目標 80% reads as a second, confusing percentage)."""
        if self.value is None or self.reached:
            return ""
        gap = self.target - self.value
        return (
            f"目標まであと{gap:,}ポイント"
            if self.unit == "%"
            else f"目標まであと{gap:,}{self.unit}"
        )


@dataclass(frozen=True)
class Person:
    """Someone behind a goal: a resident (by id) or, for goal 1, a walk-in by name."""

    resident_id: int | None
    walk_in_name: str
    on: date | None  # the day that made them count (first attendance, recorded, tagged, …)
    why: str  # in Japanese, with the dates


def normalised_name(name: str) -> str:
    """A walk-in's name as counted: NFKC (全角・半角), every space removed."""
    return "".join(unicodedata.normalize("NFKC", name).split())


# ---------- Reading many rows fast ----------
#
# The rows are read as the driver returns them (shima.db.fetch_rows: the ORM's per-row
# conversion costs more than the queries with tens of thousands of rows); callers convert the
# few columns they use (raw_datetime, raw_bool). Months are counted by the database
# (`_by_month`), and the profiles' recorded dates are read out of their JSON by it
# (`_recorded`) — the only dialect-specific SQL here, for SQLite and PostgreSQL.


def _dialect() -> str:
    dialect = str(ResidentProfile._meta.db.capabilities.dialect)
    if dialect not in ("sqlite", "postgres"):
        raise NotImplementedError(f"goals: no month or JSON expression for {dialect}")
    return dialect


def _jst_month_sql(column: str) -> str:
    """An SQL expression: the JST month (`YYYY-MM`) of a stored UTC datetime column. SQLite
    keeps `YYYY-MM-DD HH:MM:SS[.ffffff]+00:00` text, which its date functions read."""
    if _dialect() == "postgres":
        return f"to_char({column} AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')"
    return f"strftime('%Y-%m', {column}, '+9 hours')"


Month = tuple[int, int]  # (year, month)


async def _by_month(query: Any, column: str, counted: str = "") -> dict[Month, tuple[int, int]]:
    """The rows of `query` (a Tortoise values query) per JST month of its `column`:
    {(2025, 4): (rows, rows meeting the SQL condition `counted`)}, counted by the database.
    `counted` names columns as t."alias" and holds only our own constants."""
    sql, params, db = built_sql(query)
    month = _jst_month_sql(f't."{column}"')
    meeting = f"SUM(CASE WHEN {counted} THEN 1 ELSE 0 END)" if counted else "0"
    _, rows = await db.execute_query(
        f"SELECT {month} AS m, COUNT(*) AS n, {meeting} AS k FROM ({sql}) t GROUP BY {month}",
        params,
    )
    return {(int(row[0][:4]), int(row[0][5:7])): (int(row[1]), int(row[2] or 0)) for row in rows}


def _recorded(*fields: str) -> dict[str, Any]:
    """Annotations `on_<field>`: the day each profile field was last recorded
    (`filled[field]["on"]`, text `YYYY-MM-DD` or NULL), read by the database."""
    if _dialect() == "postgres":
        return {f"on_{f}": RawSQL(f"(\"filled\" #>> '{{{f},on}}')") for f in fields}
    return {f"on_{f}": RawSQL(f"json_extract(\"filled\", '$.{f}.on')") for f in fields}


def _jst_day(value: Any) -> date:
    return raw_datetime(value).astimezone(JST).date()


def _today() -> date:
    return now().astimezone(JST).date()


def _months(the_plan: Plan) -> list[date]:
    """The months of the period shown by month: from its first to its last, or to this
    month while the period runs (none before it starts)."""
    last = min(the_plan.ends_on, _today())
    month = the_plan.starts_on.replace(day=1)
    found = []
    while month <= last:
        found.append(month)
        month = _next_month(month)
    return found


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _running(the_plan: Plan, counts: Mapping[Month, tuple[int, int]]) -> tuple[MonthValue, ...]:
    """Cumulative month values from counts per month (months before the period count from
    its first month; months after this one are not shown)."""
    months = _months(the_plan)
    if not months:
        return ()
    first = (months[0].year, months[0].month)
    running = sum(n for key, (n, _) in counts.items() if key < first)
    series = []
    for month in months:
        running += counts.get((month.year, month.month), (0, 0))[0]
        series.append(MonthValue(month, running, running))
    return tuple(series)


def _cumulative(the_plan: Plan, days: Iterable[date]) -> tuple[MonthValue, ...]:
    counts: dict[Month, tuple[int, int]] = {}
    for day in days:
        key = (day.year, day.month)
        counts[key] = (counts.get(key, (0, 0))[0] + 1, 0)
    return _running(the_plan, counts)


def _iso_day(value: Any) -> str:
    """A recorded day as read (`YYYY-MM-DD`: such strings compare in date order), "" if none."""
    return value if isinstance(value, str) and len(value) == 10 else ""


def _counts_from(row: Mapping[str, Any], every: Sequence[str], any_of: Sequence[str]) -> date:
    """The day a profile came to count: the latest recorded day of the fields in `every`
    and of the earliest of those in `any_of` (the alternatives that hold); its last update
    when none was recorded."""
    days = [d for d in (_iso_day(row[f"on_{f}"]) for f in every) if d]
    either = [d for d in (_iso_day(row[f"on_{f}"]) for f in any_of) if d]
    if either:
        days.append(min(either))
    with contextlib.suppress(ValueError):
        if days:
            return date.fromisoformat(max(days))
    return _jst_day(row["updated_at"]) if row.get("updated_at") else _today()


@dataclass(frozen=True)
class People:
    """A page of the people behind a goal (oldest first) and how many there are in all."""

    total: int
    rows: list[Person]


def _page(found: Sequence[Any], offset: int, limit: int | None) -> Sequence[Any]:
    return found[offset : None if limit is None else offset + limit]


# ---------- Goal 1: スキルアップ支援者数 ----------


def _attended(since: datetime, until: datetime) -> Any:
    """Attendances that count for goal 1: 出席 on a registration holding its seat, at a
    寺子屋 or ワークショップ session starting in [since, until)."""
    return Registration.filter(
        attendance=Attendance.PRESENT,
        status=RegistrationStatus.REGISTERED,
        session__programme__kind__in=SKILLUP_KINDS,
        session__starts_at__gte=since,
        session__starts_at__lt=until,
    )


def _residents_attended(since: datetime, until: datetime, *detail: str) -> Any:
    """One row per resident who attended in [since, until): their first session's start
    (`first`) and, if asked, `last` and `n` (sessions)."""
    aggregates: dict[str, Any] = {"first": Min("session__starts_at")}
    if detail:
        aggregates |= {"last": Max("session__starts_at"), "n": Count("id")}
    return (
        _attended(since, until)
        .filter(resident_id__isnull=False)
        .group_by("resident_id")
        .annotate(**aggregates)
        .values("resident_id", *aggregates)
    )


@dataclass(frozen=True)
class _Attendee:
    resident_id: int | None
    walk_in_name: str
    first: datetime
    last: datetime
    sessions: int


async def _walk_ins(since: datetime, until: datetime) -> list[_Attendee]:
    """Walk-ins who attended in [since, until), one per normalised name (the first spelling
    seen), with their first and last day and how many sessions (a walk-in is few rows)."""
    rows = await fetch_rows(
        _attended(since, until)
        .filter(resident_id__isnull=True)
        .group_by("walk_in_name")
        .annotate(first=Min("session__starts_at"), last=Max("session__starts_at"), n=Count("id"))
        .values("walk_in_name", "first", "last", "n")
    )
    merged: dict[str, _Attendee] = {}
    for row in sorted(rows, key=lambda r: (raw_datetime(r["first"]), r["walk_in_name"])):
        key = normalised_name(row["walk_in_name"])
        first, last, n = raw_datetime(row["first"]), raw_datetime(row["last"]), int(row["n"])
        seen = merged.get(key)
        if seen is not None:
            first, last, n = seen.first, max(last, seen.last), n + seen.sessions
        name = seen.walk_in_name if seen else row["walk_in_name"]
        merged[key] = _Attendee(None, name, first, last, n)
    return list(merged.values())


async def _skillup(
    the_plan: Plan, since: datetime, until: datetime, *, series: bool
) -> tuple[int, tuple[MonthValue, ...]]:
    """Goal 1 in [since, until): the count and (with `series`) the cumulative months by first
    attendance — residents counted per month by the database, walk-ins added."""
    walk_ins = await _walk_ins(since, until)
    if not series:
        residents = await Resident.filter(
            id__in=Subquery(
                _attended(since, until).filter(resident_id__isnull=False).values("resident_id")
            )
        ).count()
        return residents + len(walk_ins), ()
    counts = dict(await _by_month(_residents_attended(since, until), "first"))
    for w in walk_ins:
        local = w.first.astimezone(JST)
        key = (local.year, local.month)
        counts[key] = (counts.get(key, (0, 0))[0] + 1, 0)
    return sum(n for n, _ in counts.values()), _running(the_plan, counts)


async def _skillup_people(the_plan: Plan, offset: int, limit: int | None) -> People:
    rows = await fetch_rows(_residents_attended(the_plan.since, the_plan.until, "last", "n"))
    keyed: list[tuple[datetime, int, str, Any]] = [
        (raw_datetime(r["first"]), r["resident_id"], "", r) for r in rows
    ]
    walk_ins = await _walk_ins(the_plan.since, the_plan.until)
    keyed += [(w.first, 0, w.walk_in_name, w) for w in walk_ins]
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))

    def person(first: datetime, found: Any) -> Person:
        if isinstance(found, _Attendee):
            resident_id, name, last, n = None, found.walk_in_name, found.last, found.sessions
        else:
            resident_id, name = found["resident_id"], ""
            last, n = raw_datetime(found["last"]), int(found["n"])
        day = first.astimezone(JST)
        why = (
            f"{day:%Y/%m/%d} に出席（1回）"
            if n == 1
            else f"初回 {day:%Y/%m/%d}・最近 {last.astimezone(JST):%Y/%m/%d}（{n}回出席）"
        )
        return Person(resident_id, name, day.date(), why)

    return People(len(keyed), [person(k[0], k[3]) for k in _page(keyed, offset, limit)])


# ---------- Goals 2 and 3: from the profiles ----------

_MIGRANT_FIELDS = ("residency", "moved_year", "skills", "freelance_income")
_EARNING_FIELDS = ("raising_children", "side_job", "freelance_income")


def _has_items(value: Any) -> bool:
    """A JSON list column, read raw, holds something (its text is "[]" when empty)."""
    if isinstance(value, str | bytes):
        return value.strip() not in ("", "[]", b"", b"[]")
    return bool(value)


async def _migrant_rows(the_plan: Plan, *, dated: bool) -> list[dict[str, Any]]:
    """Goal 2's profiles; with `dated`, each with `on` (the day it came to count) and `by`
    (what shows they freelance)."""
    query = ResidentProfile.filter(residency="migrant", moved_year__in=the_plan.moved_years)
    columns = ["resident_id", "moved_year", "skills", "freelance_income"]
    if dated:
        recorded = _recorded(*_MIGRANT_FIELDS)
        query = query.annotate(**recorded)
        columns += ["updated_at", *recorded]
    found = []
    for row in await fetch_rows(query.values(*columns)):
        freelance = [
            name
            for name, holds in (
                ("skills", _has_items(row["skills"])),
                ("freelance_income", raw_bool(row["freelance_income"])),
            )
            if holds
        ]
        if not freelance:
            continue
        if dated:
            row["on"] = _counts_from(row, ("residency", "moved_year"), freelance)
            row["by"] = freelance
        found.append(row)
    return found


def _earning_query() -> Any:
    return ResidentProfile.filter(
        Q(raising_children=True) | Q(side_job=True), freelance_income=True
    )


async def _earning_rows() -> list[dict[str, Any]]:
    """Goal 3's profiles, each with `on` (the day it came to count) and `by`."""
    recorded = _recorded(*_EARNING_FIELDS)
    rows = await fetch_rows(
        _earning_query()
        .annotate(**recorded)
        .values("resident_id", "raising_children", "side_job", "updated_at", *recorded)
    )
    for row in rows:
        either = [n for n in ("raising_children", "side_job") if raw_bool(row[n])]
        row["on"] = _counts_from(row, ("freelance_income",), either)
        row["by"] = either
    return rows


def _migrant_why(row: Mapping[str, Any]) -> str:
    words = {"skills": "スキルの登録", "freelance_income": "フリーランスの収入"}
    how = "・".join(words[b] for b in row["by"])
    return f"{row['moved_year']}年に移住・{how}あり（{row['on']:%Y/%m/%d} 記録）"


def _earning_why(row: Mapping[str, Any]) -> str:
    how = "・".join({"raising_children": "子育て中", "side_job": "副業"}[b] for b in row["by"])
    return f"{how}・フリーランスの収入あり（{row['on']:%Y/%m/%d} 記録）"


# ---------- Goal 4: 幸せ（ワークライフ）満足度 ----------


async def _standard_rounds(since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The standard survey's rounds opened in [since, until), latest first."""
    return list(
        await SurveyRound.filter(survey__is_standard=True, opens_at__gte=since, opens_at__lt=until)
        .order_by("-opens_at", "-id")
        .values("id", "title", "opens_at")
    )


@dataclass(frozen=True)
class RoundResult:
    round_id: int
    title: str
    opens_at: datetime
    respondents: int  # answered the happiness question
    satisfied: int  # of them, answered 4 or 5

    @property
    def rate(self) -> int:
        return round(self.satisfied * 100 / self.respondents) if self.respondents else 0


async def latest_round(since: datetime, until: datetime) -> RoundResult | None:
    """The latest round of the standard survey opened in [since, until) with an answer to
    its happiness question, and its counts."""
    for found in await _standard_rounds(since, until):
        rate = await survey_results.satisfaction_rate(found["id"])
        if not rate.answered:
            continue
        opens_at = raw_datetime(found["opens_at"])
        return RoundResult(found["id"], found["title"], opens_at, rate.answered, rate.satisfied)
    return None


async def _satisfaction_series(the_plan: Plan) -> tuple[MonthValue, ...]:
    """Per month: the share answering 4–5 among the happiness answers given that month (to
    the rounds opened in the period), counted by the database."""
    months = _months(the_plan)
    if not months:
        return ()
    rounds = [r["id"] for r in await _standard_rounds(the_plan.since, the_plan.until)]
    answers = (await survey_results.happiness_answers(rounds)).filter(
        answered_at__gte=the_plan.since, answered_at__lt=the_plan.until
    )
    counts = await _by_month(
        answers.values("answered_at", "number"),
        "answered_at",
        survey_results.satisfied_sql('t."number"'),
    )
    series = []
    for month in months:
        n, satisfied = counts.get((month.year, month.month), (0, 0))
        series.append(MonthValue(month, round(satisfied * 100 / n) if n else 0, n))
    return tuple(series)


async def _satisfaction_people(the_plan: Plan, offset: int, limit: int | None) -> People:
    found = await latest_round(the_plan.since, the_plan.until)
    if found is None:
        return People(0, [])
    answers = await survey_results.happiness_answers([found.round_id])
    page = answers.order_by("answered_at", "id").offset(offset)
    rows = await fetch_rows(
        (page.limit(limit) if limit is not None else page).values(
            "response__resident_id", "answered_at"
        )
    )
    return People(
        found.respondents,
        [
            Person(
                r["response__resident_id"],
                "",
                _jst_day(r["answered_at"]),
                f"{found.title}に回答（{raw_datetime(r['answered_at']).astimezone(JST):%Y/%m/%d}）",
            )
            for r in rows
        ],
    )


# ---------- Goal 5: コミュニティリーダー ----------


async def _leader_rows() -> list[dict[str, Any]]:
    return await fetch_rows(
        ResidentTag.filter(tag=LEADER_TAG)
        .order_by("created_at", "id")
        .values("resident_id", "created_at")
    )


# ---------- The board ----------


async def board(the_plan: Plan, *, series: bool = True) -> list[Goal]:
    """The five goals: value, target and (with `series`) the months of the period."""
    return [await goal(the_plan, kind.number, series=series) for kind in GOALS]


async def goal(the_plan: Plan, number: int, *, series: bool = True) -> Goal:
    """Goal `number`'s value (now, for the plan's period) and, with `series`, its months."""
    kind = kind_of(number)
    value: int | None
    respondents: int | None = None
    round_title = ""
    months: tuple[MonthValue, ...] = ()
    if number == SKILLUP:
        value, months = await _skillup(the_plan, the_plan.since, the_plan.until, series=series)
    elif number == MIGRANTS:
        rows = await _migrant_rows(the_plan, dated=series)
        value = len(rows)
        months = _cumulative(the_plan, (r["on"] for r in rows)) if series else ()
    elif number == EARNING:
        if series:
            rows = await _earning_rows()
            value = len(rows)
            months = _cumulative(the_plan, (r["on"] for r in rows))
        else:
            value = await _earning_query().count()
    elif number == SATISFACTION:
        found = await latest_round(the_plan.since, the_plan.until)
        value = found.rate if found else None
        respondents = found.respondents if found else 0
        round_title = found.title if found else ""
        if series:
            months = await _satisfaction_series(the_plan)
    elif series:
        leaders = await _leader_rows()
        value = len(leaders)
        months = _cumulative(the_plan, (_jst_day(r["created_at"]) for r in leaders))
    else:
        value = await ResidentTag.filter(tag=LEADER_TAG).count()
    return Goal(
        number=number,
        title=kind.title,
        unit=kind.unit,
        definition=definition(number, the_plan),
        target=the_plan.target(number),
        value=value,
        respondents=respondents,
        round_title=round_title,
        series=months,
        month_note=kind.month_note,
    )


async def people(
    the_plan: Plan, number: int, *, offset: int = 0, limit: int | None = None
) -> People:
    """Who is behind goal `number` and why, oldest first: `limit` of them from `offset`, and
    how many in all."""
    if number == SKILLUP:
        return await _skillup_people(the_plan, offset, limit)
    if number == SATISFACTION:
        return await _satisfaction_people(the_plan, offset, limit)
    if number == MIGRANTS:
        rows = sorted(
            await _migrant_rows(the_plan, dated=True), key=lambda r: (r["on"], r["resident_id"])
        )
        shown = [
            Person(r["resident_id"], "", r["on"], _migrant_why(r))
            for r in _page(rows, offset, limit)
        ]
        return People(len(rows), shown)
    if number == EARNING:
        rows = sorted(await _earning_rows(), key=lambda r: (r["on"], r["resident_id"]))
        shown = [
            Person(r["resident_id"], "", r["on"], _earning_why(r))
            for r in _page(rows, offset, limit)
        ]
        return People(len(rows), shown)
    rows = await _leader_rows()
    shown = [
        Person(
            r["resident_id"],
            "",
            _jst_day(r["created_at"]),
            f"{raw_datetime(r['created_at']).astimezone(JST):%Y/%m/%d} にタグ付け",
        )
        for r in _page(rows, offset, limit)
    ]
    return People(len(rows), shown)


# ---------- The yearly report ----------


@dataclass(frozen=True)
class Cell:
    value: int | None  # None: nothing to count (goal 4: no answered round that year)
    respondents: int | None = None  # goal 4

    def text(self, unit: str) -> str:
        return "—" if self.value is None else f"{self.value:,}{unit}"


@dataclass(frozen=True)
class ReportRow:
    goal: Goal  # its value is the period's (the tile's)
    years: tuple[Cell, ...]  # one per fiscal year of the plan

    @property
    def period(self) -> Cell:
        return Cell(self.goal.value, self.goal.respondents)


@dataclass(frozen=True)
class Report:
    plan: Plan
    fiscal_years: tuple[FiscalYear, ...]
    rows: tuple[ReportRow, ...]
    made_at: datetime = field(default_factory=lambda: now())


async def _year_cells(the_plan: Plan, number: int) -> tuple[Cell, ...]:
    windows = [(fy, *the_plan.window(fy)) for fy in the_plan.fiscal_years]
    if number == MIGRANTS:
        years = [r["moved_year"] for r in await _migrant_rows(the_plan, dated=False)]
        return tuple(Cell(years.count(fy.year)) for fy, _, _ in windows)
    if number in (EARNING, LEADERS):
        if number == EARNING:
            days = [r["on"] for r in await _earning_rows()]
        else:
            days = [_jst_day(r["created_at"]) for r in await _leader_rows()]
        cells = []
        for _fy, since, until in windows:
            first, after = since.astimezone(JST).date(), until.astimezone(JST).date()
            cells.append(Cell(sum(1 for d in days if first <= d < after)))
        return tuple(cells)
    cells = []
    for _fy, since, until in windows:
        if number == SKILLUP:
            count, _ = await _skillup(the_plan, since, until, series=False)
            cells.append(Cell(count))
        else:
            found = await latest_round(since, until)
            cells.append(Cell(None) if found is None else Cell(found.rate, found.respondents))
    return tuple(cells)


async def yearly_report(the_plan: Plan) -> Report:
    """The five values per fiscal year of the plan (each counted within that year's part of
    the period: goal 1 attended in it, goal 2 moved that year, goal 3 came to count in it,
    goal 4 its latest round, goal 5 tagged in it) and for the whole period (the tiles'
    values)."""
    rows = []
    for kind in GOALS:
        rows.append(
            ReportRow(
                await goal(the_plan, kind.number, series=False),
                await _year_cells(the_plan, kind.number),
            )
        )
    return Report(the_plan, tuple(the_plan.fiscal_years), tuple(rows))
