"""shima.domain.survey_results against hand-counted fixtures: responses and completion, each
kind's distribution (scales with their 0 counts), the satisfaction rate (skipped answers
left out, incomplete responses counted), the Well-Being averages, comments newest first,
and breakdowns that hide groups under 5 — and, where the groups split everyone, the group a
hidden one could be worked out from."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.survey import QuestionRole, SurveyAnswer
from shima.domain import survey_results as results
from shima.domain.survey_results import HIDDEN_TEXT, SECONDARY_TEXT, Group, hidden_groups
from shima.timeutil import now
from tests.shima.domain.survey_fixtures import SKIP, kinds_survey, open_round, resident, respond

pytestmark = pytest.mark.usefixtures("db")


def counts(result: results.RoundResults, position: int) -> list[tuple[str, int]]:
    return [(c.label, c.count) for c in result.questions[position - 1].counts]


async def test_distributions_satisfaction_and_well_being_counted_by_hand() -> None:
    survey, q = await kinds_survey()
    round_ = await open_round(survey)
    t = now() - timedelta(hours=1)
    await respond(
        round_,
        await resident("一"),
        {
            q[0]: 5,
            q[1]: 8,
            q[2]: 7,
            q[3]: True,
            q[4]: "Inno",
            q[5]: ["SNS", "写真"],
            q[6]: 2020,
            q[7]: "海が近くて最高",
        },
        at=t + timedelta(minutes=10),
    )
    await respond(
        round_,
        await resident("二"),
        {
            q[0]: 4,
            q[1]: 6,
            q[2]: 6,
            q[3]: False,
            q[4]: "Inno",
            q[5]: ["写真"],
            q[6]: 2020,
            q[7]: SKIP,
        },
        at=t + timedelta(minutes=20),
    )
    await respond(
        round_,
        await resident("三"),
        {
            q[0]: 3,
            q[1]: 5,
            q[2]: 4,
            q[3]: True,
            q[4]: "自宅",
            q[5]: ["経理"],
            q[6]: 2023,
            q[7]: "=SUM(1)",
        },
        at=t + timedelta(minutes=40),
    )
    # Stopped after two answers: counts for what was answered (satisfaction too).
    await respond(round_, await resident("四"), {q[0]: 5, q[1]: 10}, completed=False)
    # Skipped the happiness question: not in its denominator.
    await respond(round_, await resident("五"), {q[0]: SKIP, q[1]: 0}, completed=False)
    await respond(round_, await resident("六"), {}, completed=False)  # started, nothing yet
    await respond(
        round_,
        await resident("七"),
        {
            q[0]: 1,
            q[1]: 3,
            q[2]: 3,
            q[3]: False,
            q[4]: "カフェ",
            q[5]: ["SNS"],
            q[6]: 2024,
            q[7]: "コメント",
        },
        at=t + timedelta(minutes=30),
    )
    # Another round's answer is not this round's.
    other = await open_round(survey, "別の回")
    await respond(other, await resident("八"), {q[0]: 5, q[1]: 10, q[2]: 10})

    result = await results.round_results(round_)
    assert (result.responses, result.completed, result.completion_rate) == (7, 4, 57.1)
    happiness = result.questions[0]
    assert (happiness.answered, happiness.skipped) == (5, 1)
    assert counts(result, 1) == [("1", 1), ("2", 0), ("3", 1), ("4", 1), ("5", 2)]
    assert [c.share for c in happiness.counts] == [20.0, 0.0, 20.0, 20.0, 40.0]
    assert happiness.mean == 3.6  # (5 + 4 + 3 + 5 + 1) / 5
    assert result.satisfaction is not None
    assert (result.satisfaction.answered, result.satisfaction.satisfied) == (5, 3)
    assert result.satisfaction.percent == 60.0
    # The page's 満足度 is the rule's (shima.domain.goals' goal 4 calls satisfaction_rate).
    assert await results.satisfaction_rate(round_.id) == result.satisfaction
    assert await results.satisfaction_rate(other.id) == results.Rate(1, 1)
    # 0–10 with every value listed, also those nobody chose.
    assert counts(result, 2) == [
        ("0", 1),
        ("1", 0),
        ("2", 0),
        ("3", 1),
        ("4", 0),
        ("5", 1),
        ("6", 1),
        ("7", 0),
        ("8", 1),
        ("9", 0),
        ("10", 1),
    ]
    assert result.wb_happiness is not None and result.wb_life is not None
    assert (result.wb_happiness.answered, result.wb_happiness.value) == (6, 5.3)  # 32 / 6
    assert (result.wb_life.answered, result.wb_life.value) == (4, 5.0)  # 20 / 4
    assert counts(result, 4) == [("はい", 2), ("いいえ", 2)]
    assert counts(result, 5) == [("Inno", 2), ("自宅", 1), ("カフェ", 1)]
    assert counts(result, 6) == [("SNS", 2), ("写真", 2), ("経理", 1)]
    assert result.questions[5].answered == 4  # people, not picks
    assert [c.share for c in result.questions[5].counts] == [50.0, 50.0, 25.0]
    assert counts(result, 7) == [("2020年", 2), ("2023年", 1), ("2024年", 1)]
    comments = result.questions[7]
    assert [c.text for c in comments.comments] == ["=SUM(1)", "コメント", "海が近くて最高"]
    assert (comments.answered, comments.skipped, comments.more_comments) == (3, 1, 0)
    assert result.question(QuestionRole.HAPPINESS) is happiness


async def test_a_round_with_no_answers_and_a_survey_without_the_figures() -> None:
    survey, _ = await kinds_survey()
    round_ = await open_round(survey)
    empty = await results.round_results(round_)
    assert (empty.responses, empty.completed, empty.completion_rate) == (0, 0, None)
    assert empty.satisfaction is not None and empty.satisfaction.percent is None
    assert await results.satisfaction_rate(round_.id) == empty.satisfaction == results.Rate(0, 0)
    assert empty.wb_happiness is not None and empty.wb_happiness.value is None
    assert all(c.count == 0 for c in empty.questions[0].counts)
    assert [len(b.groups) for b in empty.breakdowns] == [3, 3, 4, 8]


async def test_only_the_newest_comments_are_listed() -> None:
    survey, q = await kinds_survey()
    round_ = await open_round(survey)
    start = now() - timedelta(days=1)
    for n in range(results.COMMENTS_SHOWN + 3):
        await respond(round_, await resident(), {q[7]: f"意見{n}"}, at=start + timedelta(minutes=n))
    comments = (await results.round_results(round_)).questions[7]
    assert comments.answered == results.COMMENTS_SHOWN + 3 and comments.more_comments == 3
    assert comments.comments[0].text == f"意見{results.COMMENTS_SHOWN + 2}"
    assert comments.comments[-1].text == "意見3"


# ---------- Breakdowns ----------

# Ten respondents: p0–p4 raising children, side job, 地元, デザイン; p5–p8 not, no side job,
# 移住, Web制作; p9 地元 and nothing else told. Their happiness (1–5), WB 幸福度 and 生活満足度.
PEOPLE = [
    (dict(raising_children=True, side_job=True, residency="local", skills=["design"]), 5, 6, 5),
    (dict(raising_children=True, side_job=True, residency="local", skills=["design"]), 5, 7, 5),
    (dict(raising_children=True, side_job=True, residency="local", skills=["design"]), 4, 8, 5),
    (dict(raising_children=True, side_job=True, residency="local", skills=["design"]), 3, 9, 5),
    (dict(raising_children=True, side_job=True, residency="local", skills=["design"]), 2, 10, 5),
    (dict(raising_children=False, side_job=False, residency="migrant", skills=["web"]), 5, 1, 1),
    (dict(raising_children=False, side_job=False, residency="migrant", skills=["web"]), 5, 1, 1),
    (dict(raising_children=False, side_job=False, residency="migrant", skills=["web"]), 5, 1, 1),
    (dict(raising_children=False, side_job=False, residency="migrant", skills=["web"]), 5, 1, 1),
    (dict(residency="local"), 1, 2, 2),
]


def group(breakdown: results.Breakdown, label: str) -> Group:
    return next(g for g in breakdown.groups if g.label == label)


def by_key(result: results.RoundResults) -> dict[str, results.Breakdown]:
    return {b.key: b for b in result.breakdowns}


async def test_breakdowns_show_groups_of_five_and_hide_smaller_ones() -> None:
    survey, q = await kinds_survey()
    round_ = await open_round(survey)
    for profile, happiness, wb_h, wb_l in PEOPLE:
        who = await resident(**profile)
        await respond(round_, who, {q[0]: happiness, q[1]: wb_h, q[2]: wb_l})
    # Not counted: a respondent with none of the three answers, and a non-respondent.
    await respond(round_, await resident(raising_children=True), {q[3]: True})
    await resident(raising_children=True, skills=["web"])

    found = by_key(await results.round_results(round_))
    children = found["raising_children"]
    exactly_five = group(children, "子育て中")  # the edge: exactly 5 is shown
    assert exactly_five.hidden == "" and exactly_five.people == 5
    assert exactly_five.satisfaction is not None
    assert (exactly_five.satisfaction.answered, exactly_five.satisfaction.satisfied) == (5, 3)
    assert exactly_five.satisfaction.percent == 60.0
    assert exactly_five.wb_happiness is not None and exactly_five.wb_happiness.value == 8.0
    assert exactly_five.wb_life is not None and exactly_five.wb_life.value == 5.0
    four = group(children, "子育てしていない")
    assert four == Group("子育てしていない", hidden=HIDDEN_TEXT)  # no figure at all
    assert group(children, "未回答") == Group("未回答", hidden=HIDDEN_TEXT)  # p9 alone
    # 副業: 5 shown, 4 and 1 hidden (together 5: nothing can be worked out).
    assert group(found["side_job"], "副業あり").people == 5
    assert group(found["side_job"], "副業なし").hidden == HIDDEN_TEXT
    # 地元 6 would be shown, but 移住 (4) could then be worked out from the whole round's
    # figures: 地元 is hidden too.
    residency = found["residency"]
    assert group(residency, "移住").hidden == HIDDEN_TEXT
    assert group(residency, "地元") == Group("地元", hidden=SECONDARY_TEXT)
    assert group(residency, "移住検討中").hidden == HIDDEN_TEXT  # nobody
    # Skills overlap (a person has several): small groups hidden, no second hiding.
    skills = found["skills"]
    design = group(skills, "デザイン")
    assert design.people == 5 and design.satisfaction is not None
    assert design.satisfaction.percent == 60.0
    assert group(skills, "Web制作") == Group("Web制作", hidden=HIDDEN_TEXT)
    assert group(skills, "ライター").hidden == HIDDEN_TEXT


async def test_a_figure_answered_by_fewer_than_five_in_a_shown_group_is_left_out() -> None:
    survey, q = await kinds_survey()
    round_ = await open_round(survey)
    for n in range(6):
        who = await resident(raising_children=True)
        happiness: object = SKIP if n < 2 else 5  # 4 answered the happiness question
        await respond(round_, who, {q[0]: happiness, q[1]: 7, q[2]: 6})
    shown = group(by_key(await results.round_results(round_))["raising_children"], "子育て中")
    assert shown.people == 6 and shown.satisfaction is None
    assert shown.wb_happiness is not None and shown.wb_happiness.value == 7.0


def test_hidden_groups_keep_what_is_hidden_from_being_worked_out() -> None:
    assert hidden_groups([5, 5, 0], splits=True) == {2: HIDDEN_TEXT}
    assert hidden_groups([5, 4, 1], splits=True) == {1: HIDDEN_TEXT, 2: HIDDEN_TEXT}
    assert hidden_groups([20, 6, 3], splits=True) == {2: HIDDEN_TEXT, 1: SECONDARY_TEXT}
    assert hidden_groups([20, 6, 3], splits=False) == {2: HIDDEN_TEXT}
    assert hidden_groups([1, 2, 9, 30], splits=True) == {
        0: HIDDEN_TEXT,
        1: HIDDEN_TEXT,
        2: SECONDARY_TEXT,
    }
    assert hidden_groups([4], splits=True) == {0: HIDDEN_TEXT}


async def test_counting_reads_rows_not_model_objects_per_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page's time budget: answers are only ever counted or read as values."""
    survey, q = await kinds_survey()
    round_ = await open_round(survey)
    for n in range(6):
        await respond(round_, await resident(raising_children=True), {q[0]: 4, q[1]: n, q[7]: "x"})
    made: list[object] = []
    original = SurveyAnswer._init_from_db.__func__  # type: ignore[attr-defined]

    def counting(cls: type, **row: object) -> object:
        made.append(row)
        return original(cls, **row)

    monkeypatch.setattr(SurveyAnswer, "_init_from_db", classmethod(counting))
    result = await results.round_results(round_)
    assert result.satisfaction is not None and result.satisfaction.answered == 6
    assert made == []
