"""shima.domain.surveys as staff build surveys: editing until the first answer (checked at
save time, also against an answer being saved at that moment), new versions, archive, and
rounds — no overlap within a survey and its versions, 締め切る, 「もう一度実施」, what an edit
of a round may change, and a round's status at its edges."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
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
from shima.domain import survey_standard, surveys
from shima.domain.surveys import (
    BadRound,
    BadSurvey,
    QuestionSpec,
    RoundSpec,
    RoundStatus,
    SurveyError,
)
from shima.timeutil import JST, now
from tests.shima.domain.survey_fixtures import (
    KINDS_SPEC,
    kinds_survey,
    open_round,
    questions,
    resident,
    respond,
)

pytestmark = pytest.mark.usefixtures("db")


def edited(spec: surveys.SurveySpec, **changes: object) -> surveys.SurveySpec:
    return replace(spec, **changes)  # type: ignore[arg-type]


async def answer_once(survey: Survey) -> SurveyResponse:
    round_ = await open_round(survey)
    first = (await questions(survey))[0]
    return await respond(round_, await resident(), {first: 4}, completed=False)


# ---------- Editing and freezing ----------


async def test_a_survey_can_be_edited_until_its_first_answer() -> None:
    survey, before = await kinds_survey()
    await open_round(survey)  # a round with no answer yet does not freeze it
    assert not await surveys.is_frozen(survey.id)
    shorter = edited(
        KINDS_SPEC,
        title="島の暮らしアンケート（改）",
        questions=(
            replace(KINDS_SPEC.questions[0], text="いま、幸せですか？"),
            QuestionSpec(QuestionKind.YESNO, "島に住んで3年以上ですか？"),
            QuestionSpec(QuestionKind.TEXT, "ほかに一言", required=False),
        ),
    )
    await surveys.update_survey(survey.id, shorter)
    after = await questions(survey)
    fresh = await Survey.get(id=survey.id)
    assert fresh.title == "島の暮らしアンケート（改）"
    assert [q.text for q in after] == [
        "いま、幸せですか？",
        "島に住んで3年以上ですか？",
        "ほかに一言",
    ]
    assert [q.kind for q in after] == [QuestionKind.SCALE5, QuestionKind.YESNO, QuestionKind.TEXT]
    # Rewritten in place by position: the first ids are kept, the rest removed.
    assert [q.id for q in after] == [q.id for q in before[:3]]
    assert after[0].role == QuestionRole.HAPPINESS and after[1].role == QuestionRole.NONE


async def test_the_first_answer_freezes_the_survey_and_an_edit_is_refused() -> None:
    survey, before = await kinds_survey()
    await answer_once(survey)
    assert await surveys.is_frozen(survey.id)
    with pytest.raises(SurveyError) as refused:
        await surveys.update_survey(survey.id, edited(KINDS_SPEC, title="変更"))
    assert "すでに回答があるため" in refused.value.message
    assert "新しい版" in refused.value.message
    assert (await Survey.get(id=survey.id)).title == KINDS_SPEC.title
    assert [(q.id, q.text) for q in await questions(survey)] == [(q.id, q.text) for q in before]


async def test_the_freeze_is_checked_at_save_time_not_when_the_form_was_opened() -> None:
    survey, _ = await kinds_survey()
    form = await surveys.spec_of(survey)  # the edit form, opened before any answer
    assert not await surveys.is_frozen(survey.id)
    await answer_once(survey)  # a resident answers while staff type
    with pytest.raises(SurveyError, match="すでに回答があるため"):
        await surveys.update_survey(survey.id, edited(form, title="変更"))
    assert await SurveyAnswer.filter(question__survey_id=survey.id).count() == 1


async def test_an_answer_being_saved_during_an_edit_is_seen_and_the_edit_refused() -> None:
    """The answer's transaction is open (its row written, not committed) when the edit is
    saved: the edit waits for it (PostgreSQL: the question rows are locked FOR UPDATE;
    SQLite: one transaction at a time) and then refuses; the answer is kept."""
    survey, qs = await kinds_survey()
    round_ = await open_round(survey)
    who = await resident()
    written, release = asyncio.Event(), asyncio.Event()

    async def answering() -> None:
        async with in_transaction():
            await respond(round_, who, {qs[0]: 5}, completed=False)
            written.set()
            await release.wait()

    async def editing() -> None:
        await written.wait()
        await surveys.update_survey(survey.id, edited(KINDS_SPEC, title="変更"))

    answer_task = asyncio.create_task(answering())
    edit_task = asyncio.create_task(editing())
    await written.wait()
    await asyncio.sleep(0.3)
    assert not edit_task.done()  # waiting for the answer's transaction
    release.set()
    await answer_task
    with pytest.raises(SurveyError, match="すでに回答があるため"):
        await edit_task
    assert (await Survey.get(id=survey.id)).title == KINDS_SPEC.title
    assert await SurveyAnswer.filter(question_id=qs[0].id, number=5).count() == 1


async def test_a_bad_edit_lists_its_problems_and_changes_nothing() -> None:
    survey, _ = await kinds_survey()
    bad = edited(
        KINDS_SPEC,
        title=" ",
        questions=(
            QuestionSpec(QuestionKind.SINGLE, "色は？", choices=(("赤", "赤"),)),
            QuestionSpec(QuestionKind.TEXT, "x" * (surveys.QUESTION_TEXT_MAX + 1)),
            QuestionSpec(QuestionKind.YESNO, "続き", show_if_position=1, show_if_values=("青",)),
        ),
    )
    with pytest.raises(BadSurvey) as refused:
        await surveys.update_survey(survey.id, bad)
    assert refused.value.problems == [
        "アンケートのタイトルを入力してください。",
        "質問1の選択肢を2つ以上入力してください。",
        f"質問2の文は{surveys.QUESTION_TEXT_MAX}文字以内で入力してください。",
        "質問3の表示条件の回答が、条件の質問の選択肢にありません。",
    ]
    assert (await Survey.get(id=survey.id)).title == KINDS_SPEC.title


def test_questions_with_a_role_keep_their_kind_and_codes_and_each_role_is_used_once() -> None:
    happiness = QuestionSpec(QuestionKind.SCALE5, "幸せ？", role=QuestionRole.HAPPINESS)
    assert surveys.question_problems([replace(happiness, kind=QuestionKind.SCALE11)]) == [
        "質問1は「総合的な幸せ（満足度の集計）」の集計に使うため、種類は「5段階（1〜5）」の"
        "ままにしてください。"
    ]
    assert surveys.question_problems([happiness, happiness]) == [
        "質問2の役割（総合的な幸せ（満足度の集計））は、ほかの質問と重複しています。"
    ]
    residency = survey_standard.STANDARD.questions[9]
    assert surveys.question_problems([residency]) == []
    renamed = replace(residency, choices=(("地元", "地元"), ("移住", "移住")))
    assert "の中から選んでください" in surveys.question_problems([renamed])[0]
    too_long = QuestionSpec(QuestionKind.SINGLE, "x", choices=(("a", "a" * 21), ("b", "b")))
    assert "20文字以内" in surveys.question_problems([too_long])[0]
    on_text = (
        QuestionSpec(QuestionKind.TEXT, "ご意見"),
        QuestionSpec(QuestionKind.YESNO, "続き", show_if_position=1, show_if_values=("a",)),
    )
    assert surveys.question_problems(on_text) == ["質問2の表示条件に、自由記述の質問は使えません。"]


async def test_the_standard_survey_keeps_its_happiness_question() -> None:
    standard = await survey_standard.standard_survey()
    spec = await surveys.spec_of(standard)
    plain = tuple(
        replace(q, role=QuestionRole.NONE) if q.role == "happiness" else q for q in spec.questions
    )
    without = edited(spec, questions=plain)
    with pytest.raises(BadSurvey, match="総合的な幸せ"):
        await surveys.update_survey(standard.id, without)
    assert await SurveyQuestion.filter(survey_id=standard.id).count() == 13


# ---------- Versions and archive ----------


async def test_a_new_version_copies_the_frozen_survey_and_can_change() -> None:
    standard = await survey_standard.standard_survey()
    await answer_once(standard)
    copy, made = await surveys.new_version(standard.id)
    again, made_again = await surveys.new_version(standard.id)  # a double tap
    assert made and not made_again and again.id == copy.id
    assert await Survey.filter(based_on_id=standard.id).count() == 1
    assert copy.version == 2 and copy.based_on_id == standard.id  # type: ignore[attr-defined]
    assert copy.is_standard and str(copy).endswith("（第2版）")
    old, new = await questions(standard), await questions(copy)
    assert [(q.kind, q.text, q.role, q.choices, q.show_if_values) for q in new] == [
        (q.kind, q.text, q.role, q.choices, q.show_if_values) for q in old
    ]
    # Conditions point at the copy's own questions.
    assert new[6].show_if_id == new[5].id  # type: ignore[attr-defined]
    assert not await surveys.is_frozen(copy.id)
    spec = await surveys.spec_of(copy)
    changed = edited(
        spec,
        questions=(*spec.questions[:12], QuestionSpec(QuestionKind.YESNO, "来年も答えますか？")),
    )
    await surveys.update_survey(copy.id, changed)
    assert (await questions(copy))[-1].text == "来年も答えますか？"
    assert (await questions(standard))[-1].role == QuestionRole.COMMENT  # the old one as it was
    third, _ = await surveys.new_version(copy.id)
    assert third.version == 3
    assert await survey_standard.standard_survey() == third  # the latest version


async def test_archive_waits_for_open_rounds_and_an_archived_survey_gets_no_round() -> None:
    survey, _ = await kinds_survey()
    round_ = await open_round(survey)
    with pytest.raises(SurveyError, match="受付中または予定の回"):
        await surveys.set_archived(survey.id, True)
    await surveys.close_round(round_.id)
    archived, changed = await surveys.set_archived(survey.id, True)
    assert changed and archived.is_archived
    assert (await surveys.set_archived(survey.id, True))[1] is False  # a double tap
    later = now() + timedelta(days=1)
    with pytest.raises(BadRound, match="アーカイブ済み"):
        await surveys.create_round(survey.id, RoundSpec("次", later, later + timedelta(days=9)))
    await surveys.set_archived(survey.id, False)
    await surveys.create_round(survey.id, RoundSpec("次", later, later + timedelta(days=9)))


# ---------- Rounds ----------


def days(n: float) -> datetime:
    return now() + timedelta(days=n)


async def test_rounds_of_a_survey_and_its_versions_never_overlap() -> None:
    survey, _ = await kinds_survey()
    first = await surveys.create_round(survey.id, RoundSpec(" 2026年度 ", days(-1), days(30)))
    assert first.title == "2026年度"
    with pytest.raises(BadRound) as refused:
        await surveys.create_round(survey.id, RoundSpec("重なる回", days(29), days(60)))
    assert (
        "「2026年度」" in refused.value.problems[0]
        and "重なっています" in refused.value.problems[0]
    )
    # Touching ends do not overlap: the next round may open when the first closes.
    await surveys.create_round(survey.id, RoundSpec("次の回", first.closes_at, days(60)))
    # Another version of the same survey shares the calendar; another survey does not.
    await answer_once_in(first)
    copy, _ = await surveys.new_version(survey.id)
    with pytest.raises(BadRound, match="重なっています"):
        await surveys.create_round(copy.id, RoundSpec("第2版の回", days(10), days(20)))
    other, _ = await kinds_survey()
    await surveys.create_round(other.id, RoundSpec("別のアンケート", days(10), days(20)))
    assert await SurveyRound.filter(survey_id=copy.id).count() == 0


async def answer_once_in(round_: SurveyRound) -> None:
    first = await SurveyQuestion.filter(survey_id=round_.survey_id).order_by("position").first()  # type: ignore[attr-defined]
    assert first is not None
    await respond(round_, await resident(), {first: 3}, completed=False)


async def test_a_round_needs_a_title_and_a_close_after_its_opening_in_the_future() -> None:
    survey, _ = await kinds_survey()
    with pytest.raises(BadRound) as refused:
        await surveys.create_round(survey.id, RoundSpec("", days(5), days(4)))
    assert refused.value.problems == [
        "回の名前（例: 2026年度）を入力してください。",
        "締切は開始より後の日時にしてください。",
    ]
    with pytest.raises(BadRound, match="締切が過去の日時"):
        await surveys.create_round(survey.id, RoundSpec("昨年度", days(-40), days(-10)))
    assert await SurveyRound.filter(survey_id=survey.id).count() == 0


async def test_close_now_ends_an_open_round_once() -> None:
    survey, _ = await kinds_survey()
    round_ = await surveys.create_round(survey.id, RoundSpec("2026年度", days(-1), days(30)))
    assert surveys.round_status(round_) == RoundStatus.OPEN
    closed, changed = await surveys.close_round(round_.id)
    assert changed and surveys.round_status(closed) == RoundStatus.CLOSED
    assert closed.closes_at <= now()
    again, changed_again = await surveys.close_round(round_.id)  # a double tap
    assert not changed_again and again.closes_at == closed.closes_at
    scheduled = await surveys.create_round(survey.id, RoundSpec("来年度", days(300), days(330)))
    with pytest.raises(SurveyError, match="まだ受付が始まっていません"):
        await surveys.close_round(scheduled.id)


async def test_run_again_suggests_next_year_and_makes_a_new_round() -> None:
    survey, _ = await kinds_survey()
    assert (await surveys.next_round_spec(survey.id)).title.endswith("年度")
    opens = datetime(2025, 6, 1, 9, tzinfo=JST)
    first = await SurveyRound.create(
        survey=survey,
        title="2025年度 満足度調査",
        opens_at=opens,
        closes_at=opens + timedelta(days=30),
    )
    await answer_once_in(first)
    suggested = await surveys.next_round_spec(survey.id)
    assert suggested.title == "2026年度 満足度調査"
    if opens.replace(year=2026) + timedelta(days=30) > now():
        assert suggested.opens_at == opens.replace(year=2026)
    assert suggested.closes_at > now() and suggested.closes_at > suggested.opens_at
    second = await surveys.create_round(survey.id, suggested)
    assert second.id != first.id
    assert [
        r.title for r in await SurveyRound.filter(survey_id=survey.id).order_by("opens_at")
    ] == [
        "2025年度 満足度調査",
        "2026年度 満足度調査",
    ]
    # The first round's results stay with it.
    assert await SurveyResponse.filter(round_id=first.id).count() == 1


async def test_what_an_edit_of_a_round_may_change() -> None:
    survey, _ = await kinds_survey()
    ended = await SurveyRound.create(
        survey=survey, title="昨年度", opens_at=days(-60), closes_at=days(-30)
    )
    # An ended round: the title may change, its dates may not (that would reopen it).
    renamed, changed = await surveys.update_round(
        ended.id, RoundSpec("2025年度", ended.opens_at, ended.closes_at)
    )
    assert changed == ["title"] and renamed.title == "2025年度"
    with pytest.raises(BadRound, match="終了した回の期間は変更できません"):
        await surveys.update_round(ended.id, RoundSpec("2025年度", ended.opens_at, days(10)))
    # An open round: its opening stays; its close may move, to a future time only.
    current = await surveys.create_round(survey.id, RoundSpec("今年度", days(-1), days(10)))
    moved, changed = await surveys.update_round(
        current.id, RoundSpec("今年度", current.opens_at, days(20))
    )
    assert changed == ["closes_at"] and surveys.round_status(moved) == RoundStatus.OPEN
    with pytest.raises(BadRound, match="開始日時は変更できません"):
        await surveys.update_round(current.id, RoundSpec("今年度", days(1), days(20)))
    with pytest.raises(BadRound, match="「締め切る」を使ってください"):
        await surveys.update_round(current.id, RoundSpec("今年度", moved.opens_at, days(-0.5)))
    # Minutes are what a form sends: the stored seconds are kept when unchanged.
    same = RoundSpec("今年度", moved.opens_at.replace(second=0, microsecond=0), moved.closes_at)
    kept, changed = await surveys.update_round(current.id, same)
    assert changed == [] and kept.opens_at == moved.opens_at
    # A scheduled round may move anywhere free; not onto another round.
    later = await surveys.create_round(survey.id, RoundSpec("来年度", days(300), days(330)))
    await surveys.update_round(later.id, RoundSpec("来年度", days(200), days(230)))
    with pytest.raises(BadRound, match="「今年度」"):
        await surveys.update_round(later.id, RoundSpec("来年度", days(15), days(230)))


async def test_a_round_is_scheduled_open_and_closed_at_its_exact_edges() -> None:
    opens, closes = days(1), days(2)
    round_ = SurveyRound(title="x", opens_at=opens, closes_at=closes)
    at = surveys.round_status
    assert at(round_, opens - timedelta(microseconds=1)) == RoundStatus.SCHEDULED
    assert at(round_, opens) == RoundStatus.OPEN
    assert at(round_, closes - timedelta(microseconds=1)) == RoundStatus.OPEN
    assert at(round_, closes) == RoundStatus.CLOSED
    assert [s.label for s in RoundStatus] == ["予定", "受付中", "終了"]


async def test_a_round_without_responses_can_be_deleted_one_with_them_cannot() -> None:
    survey, _ = await kinds_survey()
    scheduled = await surveys.create_round(survey.id, RoundSpec("予定の回", days(5), days(9)))
    assert await surveys.delete_round(scheduled.id) is not None
    assert await surveys.delete_round(scheduled.id) is None  # a double tap
    answered = await open_round(survey)
    await answer_once_in(answered)
    with pytest.raises(SurveyError, match="回答がある回は削除できません"):
        await surveys.delete_round(answered.id)
