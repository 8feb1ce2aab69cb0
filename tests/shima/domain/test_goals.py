"""The plan's five goals (shima.domain.goals), each counted from hand-built data against
values counted by hand (tests/shima/domain/goal_fixtures.py): the period's JST edges
(2025-04-01 00:00 JST counts, 2025-03-31 23:59 does not; 2028-03-31 23:59 counts, 2028-04-01
00:00 does not), walk-ins by name, 欠席 / 未記録 / 交流会 left out, the latest answered round
of the standard survey with skipped and unfinished responses, the leader tag, the months and
the yearly report per 年度."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models.profiles import PlanSettings
from shima.domain import goals
from tests.shima.domain.goal_fixtures import (
    AFTER_THE_PERIOD,
    Surveys,
    earning_data,
    jst,
    leader_data,
    migrant_data,
    satisfaction_data,
    skillup_data,
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The goals' `now` (after the period unless a test moves it): every month is shown."""
    at = [AFTER_THE_PERIOD]
    monkeypatch.setattr(goals, "now", lambda: at[0])
    return at


def by_month(goal: goals.Goal) -> dict[str, float]:
    return {m.label: m.value for m in goal.series}


# ---------- The plan ----------


async def test_the_plan_is_made_with_the_defaults_on_first_read(db: str) -> None:
    assert await PlanSettings.all().count() == 0
    plan = await goals.plan()
    assert (plan.starts_on, plan.ends_on) == (date(2025, 4, 1), date(2028, 3, 31))
    assert plan.targets == (90, 15, 30, 80, 3)
    assert await PlanSettings.all().count() == 1
    assert await goals.plan() == plan  # read again, not made twice
    # The period's bounds in UTC: 2025-04-01 00:00 JST to 2028-04-01 00:00 JST.
    assert plan.since == datetime(2025, 3, 31, 15, 0, tzinfo=UTC)
    assert plan.until == datetime(2028, 3, 31, 15, 0, tzinfo=UTC)
    assert [fy.label for fy in plan.fiscal_years] == ["R7", "R8", "R9"]
    assert plan.moved_years == [2025, 2026, 2027]


async def test_saving_the_plan_checks_the_period_and_the_targets(db: str) -> None:
    with pytest.raises(goals.PlanError) as refused:
        await goals.save_plan(date(2026, 3, 31), date(2026, 3, 31), (0, 15, 30, 101, -1))
    problems = refused.value.problems
    assert any("終わり（2026/03/31）" in p and "後の日付" in p for p in problems)
    assert any("スキルアップ支援者数の目標値は1以上" in p for p in problems)
    assert any("1〜100（%）" in p for p in problems)
    assert any("コミュニティリーダーの目標値は1以上" in p for p in problems)
    assert (await goals.plan()).targets == (90, 15, 30, 80, 3)  # nothing changed
    before, after = await goals.save_plan(date(2026, 4, 1), date(2029, 3, 31), (100, 16, 31, 85, 4))
    assert before.targets == (90, 15, 30, 80, 3)
    assert (
        await goals.plan()
        == after
        == goals.Plan(date(2026, 4, 1), date(2029, 3, 31), (100, 16, 31, 85, 4))
    )


# ---------- Goal 1 ----------


async def test_skillup_counts_people_who_attended_a_terakoya_or_workshop_in_the_period(
    db: str, clock: list[datetime]
) -> None:
    people = await skillup_data()
    plan = await goals.plan()
    goal = await goals.goal(plan, goals.SKILLUP)
    assert goal.value == 4
    assert (await goals.goal(plan, goals.SKILLUP, series=False)).value == 4
    assert (goal.target, goal.progress, goal.bar) == (90, 4, 4)
    # By the month of each one's first attendance, cumulative, over the 36 months.
    months = by_month(goal)
    assert len(months) == 36
    assert months["2025/4"] == 1  # Alice
    assert months["2025/5"] == 1
    assert months["2025/6"] == 2  # 山田太郎 (one person for three spellings)
    assert months["2026/3"] == 2
    assert months["2026/4"] == 3  # 佐藤花子
    assert months["2028/2"] == 3
    assert months["2028/3"] == 4  # Carol, at 23:59 JST on the last day
    found = (await goals.people(plan, goals.SKILLUP)).rows
    assert [(p.resident_id, p.walk_in_name, p.on) for p in found] == [
        (people["alice"].id, "", date(2025, 4, 1)),
        (None, "山田 太郎", date(2025, 6, 1)),
        (None, "佐藤 花子", date(2026, 4, 15)),
        (people["carol"].id, "", date(2028, 3, 31)),
    ]
    assert found[0].why == "初回 2025/04/01・最近 2026/05/10（2回出席）"
    assert found[1].why == "初回 2025/06/01・最近 2026/01/10（3回出席）"
    assert found[3].why == "2028/03/31 に出席（1回）"
    page = await goals.people(plan, goals.SKILLUP, offset=1, limit=2)
    assert page.total == 4
    assert [p.walk_in_name for p in page.rows] == ["山田 太郎", "佐藤 花子"]


async def test_the_skillup_period_ends_with_the_plans_end_day(
    db: str, clock: list[datetime]
) -> None:
    await skillup_data()
    await goals.save_plan(date(2025, 4, 1), date(2028, 3, 30), (90, 15, 30, 80, 3))
    plan = await goals.plan()
    assert (await goals.goal(plan, goals.SKILLUP)).value == 3  # Carol's day is now after it
    await goals.save_plan(date(2025, 4, 2), date(2028, 3, 31), (90, 15, 30, 80, 3))
    plan = await goals.plan()
    # Alice attended again in the period; the walk-ins and Carol still count.
    assert (await goals.goal(plan, goals.SKILLUP)).value == 4
    await goals.save_plan(date(2026, 4, 1), date(2028, 3, 31), (90, 15, 30, 80, 3))
    plan = await goals.plan()
    assert (await goals.goal(plan, goals.SKILLUP)).value == 3  # Alice, 佐藤花子, Carol


def test_walk_in_names_are_compared_without_width_or_spaces() -> None:
    assert goals.normalised_name("山田 太郎") == goals.normalised_name("山田　太郎") == "山田太郎"
    assert goals.normalised_name("ＡＢＣ　Ｄ") == "ABCD"
    assert goals.normalised_name("山田 太郎") != goals.normalised_name("山田 次郎")


# ---------- Goals 2 and 3 ----------


async def test_new_freelance_migrants(db: str, clock: list[datetime]) -> None:
    await migrant_data()
    plan = await goals.plan()
    goal = await goals.goal(plan, goals.MIGRANTS)
    assert goal.value == 3
    assert (await goals.goal(plan, goals.MIGRANTS, series=False)).value == 3
    assert "2025〜2027年" in goal.definition
    months = by_month(goal)
    assert (months["2025/4"], months["2025/5"], months["2026/7"], months["2026/8"]) == (0, 1, 1, 2)
    assert (months["2026/12"], months["2027/1"], months["2028/3"]) == (2, 3, 3)
    found = (await goals.people(plan, goals.MIGRANTS)).rows
    assert [p.on for p in found] == [date(2025, 5, 1), date(2026, 8, 10), date(2027, 1, 15)]
    assert found[0].why == "2025年に移住・スキルの登録あり（2025/05/01 記録）"
    assert found[2].why == "2026年に移住・スキルの登録・フリーランスの収入あり（2027/01/15 記録）"


async def test_earning_parents_and_side_job_freelancers(db: str, clock: list[datetime]) -> None:
    await earning_data()
    plan = await goals.plan()
    goal = await goals.goal(plan, goals.EARNING)
    assert goal.value == 3
    assert (await goals.goal(plan, goals.EARNING, series=False)).value == 3
    months = by_month(goal)
    # e2 was recorded before the period: counted from the first month.
    assert (months["2025/4"], months["2025/5"], months["2025/6"]) == (1, 1, 2)
    assert (months["2026/1"], months["2026/2"], months["2028/3"]) == (2, 3, 3)
    found = (await goals.people(plan, goals.EARNING)).rows
    assert [p.on for p in found] == [date(2024, 12, 1), date(2025, 6, 30), date(2026, 2, 1)]
    assert found[0].why == "副業・フリーランスの収入あり（2024/12/01 記録）"
    assert found[2].why == "子育て中・副業・フリーランスの収入あり（2026/02/01 記録）"


# ---------- Goal 4 ----------


async def test_satisfaction_is_the_share_of_4_and_5_in_the_latest_answered_round(
    db: str, clock: list[datetime]
) -> None:
    await satisfaction_data()
    plan = await goals.plan()
    goal = await goals.goal(plan, goals.SATISFACTION)
    assert (goal.value, goal.respondents, goal.round_title) == (50, 4, "2026年度")
    assert (goal.target, goal.progress, goal.value_text) == (80, 62, "50%")  # 50 / 80
    months = {m.label: (m.value, m.count) for m in goal.series}
    assert months["2025/6"] == (67, 3)  # 5, 4, 2
    assert months["2026/6"] == (67, 3)  # 5, 4, 3 (the skipped one left out)
    assert months["2026/7"] == (0, 1)  # 1, answered at 00:00 JST on July 1st
    assert months["2027/9"] == (0, 0)  # not the standard survey
    found = (await goals.people(plan, goals.SATISFACTION)).rows
    assert len(found) == 4
    assert [p.on for p in found] == [
        date(2026, 6, 2),
        date(2026, 6, 2),
        date(2026, 6, 30),
        date(2026, 7, 1),
    ]
    assert all("2026年度に回答" in p.why for p in found)
    last = await goals.people(plan, goals.SATISFACTION, offset=3, limit=10)
    assert (last.total, [p.on for p in last.rows]) == (4, [date(2026, 7, 1)])


async def test_satisfaction_with_no_answered_round_is_no_value(
    db: str, clock: list[datetime]
) -> None:
    s = Surveys()
    await s.make()
    only = await s.round(s.v1, "2025年度", date(2025, 6, 1))
    await s.respond(only, jst(date(2025, 6, 2), 9), None, skipped=True)
    plan = await goals.plan()
    goal = await goals.goal(plan, goals.SATISFACTION)
    assert (goal.value, goal.respondents, goal.progress, goal.value_text) == (None, 0, None, "—")
    assert goal.bar == 0


# ---------- Goal 5 ----------


async def test_community_leaders_are_residents_with_the_tag(db: str, clock: list[datetime]) -> None:
    await leader_data()
    plan = await goals.plan()
    goal = await goals.goal(plan, goals.LEADERS)
    assert goal.value == 3
    assert (await goals.goal(plan, goals.LEADERS, series=False)).value == 3
    assert (goal.progress, goal.bar, goal.reached) == (100, 100, True)
    months = by_month(goal)
    assert (months["2025/4"], months["2025/5"], months["2027/11"], months["2027/12"]) == (
        1,
        2,
        2,
        3,
    )
    found = (await goals.people(plan, goals.LEADERS)).rows
    assert [p.on for p in found] == [date(2024, 1, 1), date(2025, 5, 10), date(2027, 12, 1)]
    assert found[1].why == "2025/05/10 にタグ付け"


async def test_progress_passes_100_in_words_but_the_bar_stops_at_100(
    db: str, clock: list[datetime]
) -> None:
    await leader_data()
    await goals.save_plan(date(2025, 4, 1), date(2028, 3, 31), (90, 15, 30, 80, 2))
    goal = await goals.goal(await goals.plan(), goals.LEADERS)
    assert (goal.value, goal.progress, goal.bar, goal.progress_text) == (3, 150, 100, "150%")


# ---------- Months and the yearly report ----------


async def test_months_run_to_this_month_while_the_period_runs(
    db: str, clock: list[datetime]
) -> None:
    await skillup_data()
    clock[0] = jst(date(2026, 7, 15), 12)
    plan = await goals.plan()
    goal = await goals.goal(plan, goals.SKILLUP)
    assert [m.label for m in goal.series][0] == "2025/4"
    assert [m.label for m in goal.series][-1] == "2026/7"
    assert len(goal.series) == 16
    clock[0] = jst(date(2025, 3, 31), 12)  # before the period: no months yet
    assert (await goals.goal(plan, goals.SKILLUP)).series == ()


async def test_the_yearly_report_counts_each_goal_per_fiscal_year(
    db: str, clock: list[datetime]
) -> None:
    await skillup_data()
    await migrant_data()
    await earning_data()
    await satisfaction_data()
    await leader_data()
    report = await goals.yearly_report(await goals.plan())
    assert [fy.label for fy in report.fiscal_years] == ["R7", "R8", "R9"]
    assert [fy.long_label for fy in report.fiscal_years][0] == "令和7年度（2025年度）"
    table = {
        row.goal.number: ([c.value for c in row.years], row.period.value) for row in report.rows
    }
    assert table == {
        # R7: Alice, 山田太郎; R8: Alice again, 佐藤花子; R9: Carol; the period: 4 people.
        1: ([2, 2, 1], 4),
        # By the year they moved: 2025, 2026, 2027.
        2: ([1, 1, 1], 3),
        # By the day they came to count: e1 and e3 in R7; e2 before the period.
        3: ([2, 0, 0], 3),
        # R7's round 67%, R8's 50%, R9's round has no happiness answer.
        4: ([67, 50, None], 50),
        # Tagged in R7 and R9; one before the period.
        5: ([1, 0, 1], 3),
    }
    satisfaction = report.rows[3]
    assert [c.respondents for c in satisfaction.years] == [3, 4, None]
    assert [c.text("%") for c in satisfaction.years] == ["67%", "50%", "—"]
    assert [row.goal.progress_text for row in report.rows] == ["4%", "20%", "10%", "62%", "100%"]


async def test_a_shorter_period_clips_the_fiscal_years(db: str, clock: list[datetime]) -> None:
    await skillup_data()
    await goals.save_plan(date(2025, 10, 1), date(2026, 9, 30), (90, 15, 30, 80, 3))
    plan = await goals.plan()
    assert plan.moved_years == [2025, 2026]
    report = await goals.yearly_report(plan)
    assert [fy.label for fy in report.fiscal_years] == ["R7", "R8"]
    # R7 from October: 山田太郎 only (January); R8 to September: Alice (May), 佐藤花子.
    assert [c.value for c in report.rows[0].years] == [1, 2]
    assert report.rows[0].period.value == 3
