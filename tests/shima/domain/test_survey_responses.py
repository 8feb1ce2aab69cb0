"""shima.domain.survey_responses: which rounds are open, one response per resident and round
(also when two starts race), the questions asked (branching both ways, chains, answers of
questions hidden again deleted), answers validated per kind, スキップ only for optional
questions, 戻る, resuming days later, answering again after completion, the round's close
checked at the last answer, double taps, the profile filled (latest wins, with the date) and
the one reminder.

Every rule call runs in its own transaction, as the LINE flow and the worker call them. The
clock is the module's (and the profile rules') `now`, from a moment near the real time so
that "this year" is the real year."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models.profiles import ResidentProfile
from models.residents import Resident
from models.survey import (
    QuestionKind,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyRound,
)
from shima.domain import profiles
from shima.domain import survey_responses as rules
from shima.domain.survey_standard import standard_survey
from shima.domain.surveys import QuestionSpec, SurveySpec, create_survey
from shima.settings import Settings
from shima.timeutil import JST
from tests.shima.domain.course_helpers import Clock
from tests.shima.domain.helpers import resident

# The clock starts on the 10th of this month, 10:00 JST: "this year" is the real one.
_real = datetime.now(UTC).astimezone(JST)
START = _real.replace(day=10, hour=10, minute=0, second=0, microsecond=0).astimezone(UTC)
THIS_YEAR = _real.year
IN_PROGRESS = ResponseStatus.IN_PROGRESS
COMPLETED = ResponseStatus.COMPLETED


@pytest.fixture
def clock(db: str, monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock(START)
    monkeypatch.setattr(rules, "now", moving)
    monkeypatch.setattr(profiles, "now", moving)
    return moving


async def tx(call: Callable[[], Awaitable[Any]]) -> Any:
    async with in_transaction():
        return await call()


async def make_round(
    survey: Survey, clock: Clock, *, opened_days_ago: float = 1, closes_in_days: float = 30
) -> SurveyRound:
    return await SurveyRound.create(
        survey=survey,
        title="2026年度",
        opens_at=clock() - timedelta(days=opened_days_ago),
        closes_at=clock() + timedelta(days=closes_in_days),
    )


@pytest.fixture
async def standard(clock: Clock) -> SurveyRound:
    return await make_round(await standard_survey(), clock)


async def questions(round_: SurveyRound) -> list[SurveyQuestion]:
    return await rules.questions_of(round_.survey_id)  # type: ignore[attr-defined]


async def begin(who: Resident, round_: SurveyRound) -> rules.Step:
    step, _ = await tx(lambda: rules.start(who, round_.id))
    return step


async def give(who: Resident, step: rules.Step, value: str | Sequence[str]) -> rules.Step:
    """Answer the step's question (in its own transaction, as a tap would)."""
    assert step.question is not None, "the response is complete"
    r, q = step.response, step.question
    return await tx(lambda: rules.answer(who, r.id, r.attempt, q.id, value))  # type: ignore[no-any-return]


async def skip(who: Resident, step: rules.Step) -> rules.Step:
    assert step.question is not None
    r, q = step.response, step.question
    return await tx(lambda: rules.skip(who, r.id, r.attempt, q.id))  # type: ignore[no-any-return]


async def back(who: Resident, step: rules.Step) -> rules.Step:
    assert step.question is not None
    r, q = step.response, step.question
    return await tx(lambda: rules.back(who, r.id, r.attempt, q.id))  # type: ignore[no-any-return]


async def stored(response_id: int) -> dict[int, SurveyAnswer]:
    """The answers stored, by question position."""
    rows = await SurveyAnswer.filter(response_id=response_id).select_related("question")
    return {a.question.position: a for a in rows}


# The standard survey answered by a 移住 freelancer with income (every question asked).
MIGRANT = ["4", "5", "4", "8", "7", "yes", "60to150", "yes", "no", "migrant", "2021"]


async def to_position(who: Resident, step: rules.Step, values: Sequence[Any]) -> rules.Step:
    for value in values:
        step = await give(who, step, value)
    return step


# -- rounds ---------------------------------------------------------------------------------


async def test_open_rounds_are_those_between_open_and_close_of_surveys_not_archived(
    clock: Clock,
) -> None:
    survey = await standard_survey()
    now_open = await make_round(survey, clock)
    await make_round(survey, clock, opened_days_ago=40, closes_in_days=-10)  # closed
    later = await make_round(survey, clock, opened_days_ago=-20, closes_in_days=50)
    archived = await create_survey(SurveySpec("古いアンケート", questions=(YESNO_Q,)))
    archived.is_archived = True
    await archived.save()
    await make_round(archived, clock)
    assert [r.id for r in await rules.open_rounds()] == [now_open.id]
    upcoming = await rules.next_round()
    assert upcoming is not None and upcoming.id == later.id
    # The edges: open from opens_at, closed at closes_at.
    assert rules.is_open(now_open, survey, at=now_open.opens_at)
    assert not rules.is_open(now_open, survey, at=now_open.opens_at - timedelta(seconds=1))
    assert not rules.is_open(now_open, survey, at=now_open.closes_at)
    assert rules.is_open(now_open, survey, at=now_open.closes_at - timedelta(seconds=1))


async def test_start_makes_one_response_at_the_first_question(standard: SurveyRound) -> None:
    hanako = await resident()
    step, created = await tx(lambda: rules.start(hanako, standard.id))
    assert created and step.question is not None and step.question.position == 1
    assert step.number == 1 and step.total == 13 and not step.has_previous
    again, created_again = await tx(lambda: rules.start(hanako, standard.id))
    assert not created_again and again.response.id == step.response.id
    assert await SurveyResponse.all().count() == 1


async def test_two_starts_at_once_give_one_response(standard: SurveyRound) -> None:
    hanako = await resident()
    go = asyncio.Event()

    async def one() -> tuple[rules.Step, bool]:
        await go.wait()
        return await tx(lambda: rules.start(hanako, standard.id))  # type: ignore[no-any-return]

    tasks = [asyncio.create_task(one()) for _ in range(5)]
    await asyncio.sleep(0)
    go.set()
    results = await asyncio.gather(*tasks)
    assert await SurveyResponse.all().count() == 1
    assert sum(1 for _, created in results if created) == 1
    assert len({step.response.id for step, _ in results}) == 1


async def test_a_closed_round_is_not_started(clock: Clock) -> None:
    round_ = await make_round(await standard_survey(), clock, opened_days_ago=40, closes_in_days=-1)
    with pytest.raises(rules.RoundClosed) as caught:
        await begin(await resident(), round_)
    assert "回答期間は" in caught.value.message and "終了しました" in caught.value.message
    assert await SurveyResponse.all().count() == 0


# -- branching ------------------------------------------------------------------------------


async def test_the_whole_standard_survey_with_both_conditional_questions(
    standard: SurveyRound, clock: Clock
) -> None:
    hanako = await resident()
    step = await begin(hanako, standard)
    asked = []
    for value in MIGRANT:
        assert step.question is not None
        asked.append(step.question.position)
        step = await give(hanako, step, value)
    asked.append(step.number)
    step = await give(hanako, step, ["web", "writer"])
    assert step.question is not None and step.question.position == 13
    clock.advance(minutes=1)
    step = await give(hanako, step, "  島の暮らしは最高です  ")
    assert asked == list(range(1, 13))  # Q7 (income band) and Q11 (moved year) were asked
    assert step.completed and step.question is None
    response = await SurveyResponse.get(id=step.response.id)
    assert response.status == COMPLETED and response.current_id is None  # type: ignore[attr-defined]
    assert response.completed_at == clock()
    answers = await stored(response.id)
    assert len(answers) == 13
    assert answers[6].number == 1 and answers[7].text == "60to150"
    assert answers[10].text == "migrant" and answers[11].number == 2021
    assert answers[12].values == ["writer", "web"]  # the choices' own order
    assert answers[13].text == "島の暮らしは最高です"


async def test_the_conditional_questions_are_not_asked_for_other_answers(
    standard: SurveyRound,
) -> None:
    taro = await resident("名瀬 太郎")
    step = await to_position(taro, await begin(taro, standard), ["3", "3", "3", "5", "5"])
    step = await give(taro, step, "no")  # no freelance income: no income band
    assert step.question is not None and step.question.position == 8
    step = await to_position(taro, step, ["no", "no"])
    step = await give(taro, step, "local")  # 地元: no moved year
    assert step.question is not None and step.question.position == 12
    assert step.has_previous
    before = await back(taro, step)
    assert before.question is not None and before.question.position == 10  # 戻る skips Q11
    answers = await stored(step.response.id)
    assert 7 not in answers and 11 not in answers


async def test_changing_an_earlier_answer_after_going_back_drops_hidden_answers(
    standard: SurveyRound,
) -> None:
    hanako = await resident()
    step = await to_position(hanako, await begin(hanako, standard), MIGRANT[:7])
    assert step.question is not None and step.question.position == 8
    step = await back(hanako, step)  # Q7
    assert step.question is not None and step.question.position == 7
    assert step.answer is not None and step.answer.text == "60to150"  # shown as 前回の回答
    step = await back(hanako, step)  # Q6
    assert step.question is not None and step.question.position == 6
    step = await give(hanako, step, "no")
    assert step.question is not None and step.question.position == 8
    answers = await stored(step.response.id)
    assert answers[6].number == 0 and 7 not in answers  # the band no longer counts
    # And yes again: Q7 is asked again (nothing left of the earlier band).
    step = await back(hanako, step)
    step = await give(hanako, step, "yes")
    assert step.question is not None and step.question.position == 7 and step.answer is None


# A small survey with a chain (Q3 needs Q2, which needs Q1), a multi condition and a scale
# condition.
YESNO_Q = QuestionSpec(QuestionKind.YESNO, "フリーランスですか？")
CHAIN = SurveySpec(
    "小さなアンケート",
    thanks="ありがとう",
    questions=(
        QuestionSpec(QuestionKind.YESNO, "フリーランスですか？"),
        QuestionSpec(
            QuestionKind.MULTI,
            "使っているものは？",
            choices=(("pc", "パソコン"), ("phone", "スマホ"), ("camera", "カメラ")),
            required=False,
            show_if_position=1,
            show_if_values=("yes",),
        ),
        QuestionSpec(
            QuestionKind.SCALE5,
            "カメラの満足度は？",
            show_if_position=2,
            show_if_values=("camera",),
        ),
        QuestionSpec(
            QuestionKind.TEXT,
            "低い理由は？",
            required=False,
            show_if_position=3,
            show_if_values=("1", "2"),
        ),
        QuestionSpec(QuestionKind.YEAR, "始めた年は？", required=False),
    ),
)


async def test_a_chain_of_conditions_hides_everything_behind_a_changed_answer(
    clock: Clock,
) -> None:
    round_ = await make_round(await create_survey(CHAIN), clock)
    who = await resident()
    step = await give(who, await begin(who, round_), "yes")
    step = await give(who, step, ["camera", "pc"])  # any picked value matches
    assert step.question is not None and step.question.position == 3
    step = await give(who, step, "2")
    assert step.question is not None and step.question.position == 4  # 2 is in ("1", "2")
    step = await give(who, step, "重い")
    assert step.question is not None and step.question.position == 5
    # Back to Q1 and no: Q2, Q3 and Q4 are all hidden and their answers deleted.
    for _ in range(4):
        step = await back(who, step)
    assert step.question is not None and step.question.position == 1
    step = await give(who, step, "no")
    assert step.question is not None and step.question.position == 5
    assert set(await stored(step.response.id)) == {1}
    qs = await questions(round_)
    assert [q.position for q in rules.visible(qs, {})] == [1, 5]


async def test_a_skipped_answer_matches_no_condition(clock: Clock) -> None:
    round_ = await make_round(await create_survey(CHAIN), clock)
    who = await resident()
    step = await give(who, await begin(who, round_), "yes")
    step = await skip(who, step)  # Q2 optional: nothing picked → Q3 not asked
    assert step.question is not None and step.question.position == 5
    assert (await stored(step.response.id))[2].skipped


# -- answers --------------------------------------------------------------------------------


def question(kind: QuestionKind, required: bool = True, **kw: Any) -> SurveyQuestion:
    return SurveyQuestion(
        kind=kind,
        text="質問",
        required=required,
        choices=[{"value": v, "label": v} for v in kw.get("choices", ())],
    )


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (QuestionKind.SCALE5, "1", rules.Cleaned(number=1)),
        (QuestionKind.SCALE5, "５", rules.Cleaned(number=5)),
        (QuestionKind.SCALE11, "0", rules.Cleaned(number=0)),
        (QuestionKind.SCALE11, "10", rules.Cleaned(number=10)),
        (QuestionKind.YESNO, "yes", rules.Cleaned(number=1)),
        (QuestionKind.YESNO, "いいえ", rules.Cleaned(number=0)),
        (QuestionKind.YEAR, "２０２０年", rules.Cleaned(number=2020)),
        (QuestionKind.YEAR, " 1950 ", rules.Cleaned(number=1950)),
        (QuestionKind.YEAR, str(THIS_YEAR), rules.Cleaned(number=THIS_YEAR)),
        # Kanji digits and 和暦, as many residents write a year.
        (QuestionKind.YEAR, "二〇二〇", rules.Cleaned(number=2020)),
        (QuestionKind.YEAR, "令和2年", rules.Cleaned(number=2020)),
        (QuestionKind.YEAR, "令和元年", rules.Cleaned(number=2019)),
        (QuestionKind.YEAR, "平成 30 年", rules.Cleaned(number=2018)),
        (QuestionKind.YEAR, "Ｈ３０", rules.Cleaned(number=2018)),
        (QuestionKind.YEAR, "昭和60年", rules.Cleaned(number=1985)),
        (QuestionKind.TEXT, "　ＡＢＣ　です ", rules.Cleaned(text="ABC です")),
    ],
)
def test_answers_are_cleaned_per_kind(
    clock: Clock, kind: QuestionKind, value: str, expected: rules.Cleaned
) -> None:
    assert rules.clean(question(kind), value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        (QuestionKind.SCALE5, "0", "1〜5の数字"),
        (QuestionKind.SCALE5, "6", "1〜5の数字"),
        (QuestionKind.SCALE5, "とても", "1〜5の数字"),
        (QuestionKind.SCALE11, "11", "0〜10の数字"),
        (QuestionKind.SCALE11, "-1", "0〜10の数字"),
        (QuestionKind.YESNO, "たぶん", "「はい」か「いいえ」"),
        (QuestionKind.YEAR, "1949", "1950年から"),
        (QuestionKind.YEAR, str(THIS_YEAR + 1), "1950年から"),
        (QuestionKind.YEAR, "去年", "西暦（例: 2024）か和暦"),
        (QuestionKind.YEAR, "24", "西暦（例: 2024）か和暦"),
        (QuestionKind.YEAR, "令和0年", "西暦（例: 2024）か和暦"),
        (QuestionKind.YEAR, "昭和20年", "1950年から"),
        (QuestionKind.YEAR, "令和99年", "1950年から"),
        (QuestionKind.TEXT, "あ" * 1001, "1000文字以内"),
        (QuestionKind.TEXT, "   ", "入力してください"),
    ],
)
def test_bad_answers_are_refused_with_what_is_expected(
    clock: Clock, kind: QuestionKind, value: str, words: str
) -> None:
    with pytest.raises(rules.BadAnswer) as caught:
        rules.clean(question(kind), value)
    assert words in caught.value.message


def test_choices_must_be_known_and_multi_not_empty_unless_optional(clock: Clock) -> None:
    single = question(QuestionKind.SINGLE, choices=("a", "b"))
    assert rules.clean(single, "b") == rules.Cleaned(text="b")
    with pytest.raises(rules.BadAnswer):
        rules.clean(single, "c")
    multi = question(QuestionKind.MULTI, choices=("a", "b", "c"))
    assert rules.clean(multi, ["c", "a", "a"]) == rules.Cleaned(values=("a", "c"))
    with pytest.raises(rules.BadAnswer, match="1つ以上"):
        rules.clean(multi, [])
    with pytest.raises(rules.BadAnswer):
        rules.clean(multi, ["a", "z"])
    optional = question(QuestionKind.MULTI, required=False, choices=("a", "b"))
    assert rules.clean(optional, []) == rules.Cleaned(skipped=True)
    assert rules.clean(question(QuestionKind.TEXT, required=False), "") == rules.Cleaned(
        skipped=True
    )
    assert rules.clean(question(QuestionKind.TEXT), "あ" * 1000).text == "あ" * 1000


async def test_a_bad_answer_changes_nothing(standard: SurveyRound) -> None:
    who = await resident()
    step = await begin(who, standard)
    with pytest.raises(rules.BadAnswer):
        await give(who, step, "7")
    assert await SurveyAnswer.all().count() == 0
    response = await SurveyResponse.get(id=step.response.id)
    assert response.current_id == step.question.id  # type: ignore[attr-defined, union-attr]


async def test_skip_only_for_optional_questions(standard: SurveyRound) -> None:
    who = await resident()
    step = await begin(who, standard)
    with pytest.raises(rules.NotSkippable) as caught:
        await skip(who, step)
    assert "スキップできません" in caught.value.message
    step = await to_position(who, step, MIGRANT[:6])
    assert step.question is not None and step.question.position == 7  # optional
    step = await skip(who, step)
    assert step.question is not None and step.question.position == 8
    answer = (await stored(step.response.id))[7]
    assert answer.skipped and answer.text == "" and answer.number is None and answer.values == []
    step = await to_position(who, step, ["no", "no", "local", ["sns"]])
    assert step.question is not None and step.question.position == 13
    step = await skip(who, step)  # the optional comment, the last question
    assert step.completed


async def test_back_goes_to_the_previous_question_and_not_before_the_first(
    standard: SurveyRound,
) -> None:
    who = await resident()
    first = await begin(who, standard)
    with pytest.raises(rules.Stale):
        await back(who, first)
    step = await to_position(who, first, ["4", "2"])
    step = await back(who, step)
    assert step.question is not None and step.question.position == 2
    assert step.answer is not None and step.answer.number == 2
    assert step.has_previous
    step = await give(who, step, "5")  # answered again: replaced
    assert step.question is not None and step.question.position == 3
    assert (await stored(step.response.id))[2].number == 5


async def test_a_resident_continues_days_later_where_they_left_off(
    standard: SurveyRound, clock: Clock
) -> None:
    who = await resident()
    step = await to_position(who, await begin(who, standard), ["4", "4", "4"])
    clock.advance(days=6)
    again, created = await tx(lambda: rules.start(who, standard.id))
    assert not created
    assert again.question is not None and again.question.position == 4
    assert again.answer is None and again.has_previous
    step = await give(who, again, "9")
    assert step.question is not None and step.question.position == 5
    assert len(await stored(step.response.id)) == 4


async def test_first_again_keeps_the_answers(standard: SurveyRound) -> None:
    who = await resident()
    step = await to_position(who, await begin(who, standard), ["4", "3"])
    r = step.response
    step = await tx(lambda: rules.rewind(who, r.id, r.attempt))
    assert step.question is not None and step.question.position == 1
    assert step.answer is not None and step.answer.number == 4
    assert len(await stored(r.id)) == 2


# -- buttons once ---------------------------------------------------------------------------


async def test_a_double_tapped_answer_is_saved_once(standard: SurveyRound) -> None:
    who = await resident()
    step = await begin(who, standard)
    go = asyncio.Event()

    async def tap() -> Any:
        await go.wait()
        try:
            return await give(who, step, "4")
        except rules.Stale as exc:
            return exc

    tasks = [asyncio.create_task(tap()) for _ in range(3)]
    await asyncio.sleep(0)
    go.set()
    results = await asyncio.gather(*tasks)
    moved = [r for r in results if isinstance(r, rules.Step)]
    refused = [r for r in results if isinstance(r, rules.Stale)]
    assert len(moved) == 1 and len(refused) == 2
    assert all(s.step.question is not None and s.step.question.position == 2 for s in refused)
    assert await SurveyAnswer.all().count() == 1


async def test_stale_buttons_change_nothing(standard: SurveyRound) -> None:
    who = await resident()
    first = await begin(who, standard)
    second = await give(who, first, "4")
    # Q1's button again, with another answer: refused, Q1 keeps 4, still at Q2.
    with pytest.raises(rules.Stale) as caught:
        await give(who, first, "1")
    assert caught.value.step.question is not None and caught.value.step.question.position == 2
    assert caught.value.message == "この質問には、すでにお答えいただいています。"
    # A later question's button while at Q2.
    q3 = (await questions(standard))[2]
    r = second.response
    with pytest.raises(rules.Stale):
        await tx(lambda: rules.answer(who, r.id, r.attempt, q3.id, "5"))
    # Another attempt's button.
    assert second.question is not None
    with pytest.raises(rules.Stale):
        await tx(lambda: rules.answer(who, r.id, r.attempt + 1, second.question.id, "5"))  # type: ignore[union-attr]
    # Another resident's response: not found.
    other = await resident("名瀬 太郎")
    with pytest.raises(rules.NotFound):
        await tx(lambda: rules.answer(other, r.id, r.attempt, second.question.id, "5"))  # type: ignore[union-attr]
    answers = await stored(r.id)
    assert list(answers) == [1] and answers[1].number == 4


# -- answering again ------------------------------------------------------------------------


async def answered(who: Resident, round_: SurveyRound) -> rules.Step:
    step = await to_position(who, await begin(who, round_), MIGRANT)
    step = await give(who, step, ["design"])
    step = await skip(who, step)
    assert step.completed
    return step


async def test_answering_again_after_completion_is_a_new_attempt(
    standard: SurveyRound, clock: Clock
) -> None:
    who = await resident()
    done = await answered(who, standard)
    r = done.response
    # Answer buttons of the completed attempt: refused, told it is complete.
    q1 = (await questions(standard))[0]
    with pytest.raises(rules.Stale) as caught:
        await tx(lambda: rules.answer(who, r.id, r.attempt, q1.id, "1"))
    assert caught.value.step.completed and "回答済み" in caught.value.message
    clock.advance(days=2)
    step = await tx(lambda: rules.restart(who, r.id, 1))
    assert step.response.attempt == 2 and step.response.status == IN_PROGRESS
    assert step.question is not None and step.question.position == 1 and step.answer is None
    assert step.response.completed_at is None and step.response.started_at == clock()
    assert await SurveyAnswer.filter(response_id=r.id).count() == 0
    # The confirmation tapped twice: the second is stale, nothing more happens.
    with pytest.raises(rules.Stale):
        await tx(lambda: rules.restart(who, r.id, 1))
    # In progress: not restarted (only a completed response is answered again).
    with pytest.raises(rules.Stale):
        await tx(lambda: rules.restart(who, r.id, 2))
    step = await to_position(who, step, ["1", "1", "1", "1", "1", "no"])
    assert step.response.attempt == 2
    assert await SurveyResponse.all().count() == 1
    assert len(await stored(r.id)) == 6


async def test_the_close_is_checked_at_the_last_answer(standard: SurveyRound, clock: Clock) -> None:
    who = await resident()
    step = await to_position(who, await begin(who, standard), MIGRANT)
    step = await give(who, step, ["photo"])
    assert step.question is not None and step.question.position == 13
    clock.set(standard.closes_at)  # the buttons were shown while open
    with pytest.raises(rules.RoundClosed) as caught:
        await give(who, step, "ありがとう")
    assert "終了しました" in caught.value.message
    with pytest.raises(rules.RoundClosed):
        await skip(who, step)
    with pytest.raises(rules.RoundClosed):
        await back(who, step)
    response = await SurveyResponse.get(id=step.response.id)
    assert response.status == IN_PROGRESS and response.completed_at is None
    assert 13 not in await stored(response.id)
    clock.set(standard.closes_at - timedelta(seconds=1))
    assert (await skip(who, step)).completed  # a second before the close it is taken


# -- the profile ----------------------------------------------------------------------------


async def test_answers_fill_the_profile_latest_wins_with_the_date(
    standard: SurveyRound, clock: Clock
) -> None:
    who = await resident()
    day = START.astimezone(JST).date()
    await profiles.update(who.id, {"residency": "local", "skills": ["sns"]}, profiles.BY_RESIDENT)
    clock.advance(days=1)
    await answered(who, standard)
    profile = await ResidentProfile.get(resident_id=who.id)
    assert profile.freelance_income is True and profile.income_band == "60to150"
    assert profile.raising_children is True and profile.side_job is False
    assert profile.residency == "migrant" and profile.moved_year == 2021
    assert profile.skills == ["design"]
    later = (day + timedelta(days=1)).isoformat()
    for field in ("freelance_income", "income_band", "raising_children", "side_job"):
        assert profile.filled[field] == {"on": later, "by": profiles.BY_SURVEY}
    assert profile.filled["residency"] == {"on": later, "by": profiles.BY_SURVEY}
    assert profile.filled["skills"] == {"on": later, "by": profiles.BY_SURVEY}
    # The resident changes it in their profile: theirs is the latest.
    clock.advance(days=1)
    await profiles.update(who.id, {"skills": ["writer"]}, profiles.BY_RESIDENT)
    # Answered again a day later: the survey's answer is the latest again.
    clock.advance(days=1)
    response = await SurveyResponse.get(resident_id=who.id)
    step = await tx(lambda: rules.restart(who, response.id, response.attempt))
    step = await to_position(who, step, ["3", "3", "3", "5", "5", "no", "no", "yes", "local"])
    await give(who, step, ["photo", "web"])
    profile = await ResidentProfile.get(resident_id=who.id)
    assert profile.skills == ["photo", "web"] and profile.residency == "local"
    assert profile.moved_year is None  # the year belongs to 移住 only
    assert profile.freelance_income is False and profile.side_job is True
    assert profile.income_band == "60to150"  # not asked this time: left as it was
    assert profile.filled["skills"] == {
        "on": (day + timedelta(days=3)).isoformat(),
        "by": profiles.BY_SURVEY,
    }


async def test_a_skipped_question_leaves_the_profile_alone(standard: SurveyRound) -> None:
    who = await resident()
    await profiles.update(who.id, {"income_band": "300plus"}, profiles.BY_STAFF)
    step = await to_position(who, await begin(who, standard), MIGRANT[:6])
    await skip(who, step)  # Q7 income band
    profile = await ResidentProfile.get(resident_id=who.id)
    assert profile.income_band == "300plus" and profile.filled["income_band"]["by"] == "staff"
    assert profile.freelance_income is True


# -- the reminder ---------------------------------------------------------------------------


async def test_the_reminder_is_claimed_once_ever_and_only_while_the_round_is_open(
    standard: SurveyRound, clock: Clock
) -> None:
    settings = Settings()
    survey = await standard_survey()
    short = await make_round(survey, clock, closes_in_days=2)  # closes before it is due
    stopped = await resident("途中 花子")
    fresh = await resident("最近 太郎")
    done = await resident("完了 次郎")
    closing = await resident("締切 三郎")
    blocked = await resident("ブロック 四郎")
    step = await to_position(stopped, await begin(stopped, standard), ["4", "4"])
    await answered(done, standard)
    await to_position(closing, await begin(closing, short), ["4"])
    await to_position(blocked, await begin(blocked, standard), ["4"])
    await Resident.filter(id=blocked.id).update(is_following=False)
    clock.advance(days=3, seconds=-1)
    await to_position(fresh, await begin(fresh, standard), ["4"])
    assert await tx(lambda: rules.claim_due_reminders(settings)) == []  # not 3 days yet
    clock.advance(seconds=1)  # exactly 3 days after 花子's last answer
    claims = await asyncio.gather(
        tx(lambda: rules.claim_due_reminders(settings)),
        tx(lambda: rules.claim_due_reminders(settings)),
    )
    claimed = [r for batch in claims for r in batch]
    assert [r.id for r in claimed] == [step.response.id]  # two workers: reminded once
    assert claimed[0].resident.id == stopped.id and claimed[0].round.survey.id == survey.id
    # Days later nobody else is due: 太郎's is, 花子's never again, 三郎's round closed.
    clock.advance(days=5)
    again = await tx(lambda: rules.claim_due_reminders(settings))
    assert [r.resident.id for r in again] == [fresh.id]
    # 花子 answers more and stops again: still not reminded a second time.
    r = step.response
    current = await tx(lambda: rules.start(stopped, standard.id))
    await give(stopped, current[0], "4")
    clock.advance(days=10)
    assert await tx(lambda: rules.claim_due_reminders(settings)) == []
    assert (await SurveyResponse.get(id=r.id)).reminder_queued_at is not None


async def test_the_reminder_waits_for_the_setting(standard: SurveyRound, clock: Clock) -> None:
    settings = Settings()
    who = await resident()
    await to_position(who, await begin(who, standard), ["4"])
    clock.advance(days=3)
    slow = settings.with_overrides(survey_reminder_days=5.0)
    assert await tx(lambda: rules.claim_due_reminders(slow)) == []
    clock.advance(days=2)
    assert len(await tx(lambda: rules.claim_due_reminders(slow))) == 1
