"""`shima seed-demo`'s アンケート・プロフィール・計画の目標 (shima/domain/survey_demo.py): the
standard survey with a round open now, demo residents' answers and profiles, leaders, past
attendance with a walk-in — and nothing added twice, nothing queued for LINE."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from models.course import (
    Attendance,
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
)
from models.outbox import OutboxMessage
from models.profiles import ResidentProfile, ResidentTag
from models.residents import Resident
from models.survey import (
    QuestionRole,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyRound,
)
from shima import areas
from shima.domain import course_demo, goals, profiles, survey_demo, surveys
from shima.domain.survey_standard import standard_survey
from shima.settings import Settings
from shima.timeutil import JST, now, today_jst

DEMO_COUNT = len(survey_demo.RESIDENTS)


async def counts() -> dict[str, int]:
    models = (
        Survey,
        SurveyQuestion,
        SurveyRound,
        SurveyResponse,
        SurveyAnswer,
        Resident,
        ResidentProfile,
        ResidentTag,
        Programme,
        ProgrammeSession,
        Registration,
    )
    return {m.__name__: await m.all().count() for m in models}


async def demo_residents() -> list[Resident]:
    return await Resident.filter(line_user_id__startswith="Udemo").order_by("id")


async def answers_by_role(response: SurveyResponse) -> dict[QuestionRole, SurveyAnswer]:
    rows = await SurveyAnswer.filter(response_id=response.id).prefetch_related("question")
    return {QuestionRole(a.question.role): a for a in rows}


async def test_seeds_once_and_says_what_it_added(db: str) -> None:
    summary = await survey_demo.seed_demo()
    assert summary == (
        f"アンケート 1件（受付中）, 回答 {DEMO_COUNT}件, プロフィール {DEMO_COUNT}人, "
        "タグ 3件, 出席 10件"
    )
    first = await counts()
    assert first["Survey"] == 1 and first["SurveyRound"] == 1
    assert first["SurveyResponse"] == DEMO_COUNT == first["ResidentProfile"]
    assert await survey_demo.seed_demo() == ""  # idempotent
    assert await counts() == first


async def test_a_later_day_adds_nothing_either(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The past sessions and the round are placed relative to today: a run a week later
    finds them (no second set of sessions, no second round in the same fiscal year). The
    two runs are a week apart in one fiscal year: from today, or — in its last week, when a
    week later a new round is right — from a week ago."""
    week = timedelta(days=7)
    fiscal_year = goals.fiscal_year_of(today_jst())
    same_year = goals.fiscal_year_of((now() + week).astimezone(JST).date()) == fiscal_year
    first_run = now() if same_year else now() - week
    runs = []
    for at in (first_run, first_run + week):
        monkeypatch.setattr(survey_demo, "now", lambda at=at: at)
        monkeypatch.setattr(survey_demo, "today_jst", lambda at=at: at.astimezone(JST).date())
        assert goals.fiscal_year_of(survey_demo.today_jst()) == fiscal_year
        runs.append((await survey_demo.seed_demo(), await counts()))
    (made, first), (again, later) = runs
    assert made.startswith("アンケート 1件（受付中）") and first["SurveyRound"] == 1
    assert again == ""
    assert later == first


async def test_the_standard_survey_has_a_round_open_now_for_this_fiscal_year(db: str) -> None:
    await survey_demo.seed_demo()
    survey = await Survey.get(is_standard=True)
    round_ = await SurveyRound.get(survey_id=survey.id)
    assert round_.title == f"{goals.fiscal_year_of(today_jst())}年度"
    assert round_.opens_at < now() < round_.closes_at
    assert now() - timedelta(days=15) < round_.opens_at < now() - timedelta(days=13)
    assert now() + timedelta(days=41) < round_.closes_at < now() + timedelta(days=44)


async def test_a_round_staff_opened_over_those_dates_takes_the_demo_answers(db: str) -> None:
    """Rounds of one survey never overlap: with staff's own round open now, the demo makes
    none and its residents answer that one."""
    survey = await standard_survey()
    staff_round = await surveys.create_round(
        survey.id,
        surveys.RoundSpec(
            "島の働き方調査（秋）", now() - timedelta(days=3), now() + timedelta(days=20)
        ),
    )
    summary = await survey_demo.seed_demo()
    assert not summary.startswith("アンケート")
    assert [r.id for r in await SurveyRound.all()] == [staff_round.id]
    assert await SurveyResponse.filter(round_id=staff_round.id).count() == DEMO_COUNT
    assert await survey_demo.seed_demo() == ""


async def test_demo_residents_have_demo_line_ids_and_japanese_names(db: str) -> None:
    await survey_demo.seed_demo()
    residents = await demo_residents()
    assert len(residents) == DEMO_COUNT
    for r in residents:
        assert len(r.line_user_id) == 33 and r.line_user_id.startswith("Udemo")
        int(r.line_user_id[5:], 16)  # hex, like a real id's
        assert r.display_name in {d.name for d in survey_demo.RESIDENTS}
    assert survey_demo.demo_line_id(1) == survey_demo.demo_line_id(1) != survey_demo.demo_line_id(2)


async def test_answers_follow_the_conditions_and_the_value_conventions(db: str) -> None:
    await survey_demo.seed_demo()
    responses = await SurveyResponse.all().prefetch_related("resident")
    statuses = Counter(r.status for r in responses)
    assert statuses == {ResponseStatus.COMPLETED: DEMO_COUNT - 1, ResponseStatus.IN_PROGRESS: 1}
    round_ = await SurveyRound.first()
    assert round_ is not None
    for response in responses:
        got = await answers_by_role(response)
        assert round_.opens_at <= response.started_at <= response.answered_at < now()
        assert all(a.answered_at <= response.answered_at for a in got.values())
        if response.status == ResponseStatus.IN_PROGRESS:
            # Stopped after four questions: 「続きから」 resumes at the fifth; its one reminder
            # counts as sent.
            assert len(got) == 4 and response.completed_at is None
            assert response.current is not None
            await response.fetch_related("current")
            assert response.current.position == 5
            assert response.reminder_queued_at is not None
            continue
        assert response.completed_at == response.answered_at and response.current_id is None  # type: ignore[attr-defined]
        income = got[QuestionRole.FREELANCE_INCOME].number
        assert income in (0, 1)
        # The band is asked only of those with freelance income; the year only of 移住.
        assert (QuestionRole.INCOME_BAND in got) == (income == 1)
        residency = got[QuestionRole.RESIDENCY].text
        assert residency in profiles.RESIDENCY
        assert (QuestionRole.MOVED_YEAR in got) == (residency == "migrant")
        assert got[QuestionRole.CHILDREN].number in (0, 1)
        skills = got[QuestionRole.SKILLS].values
        assert skills and all(s in profiles.SKILLS for s in skills)
        assert 1 <= (got[QuestionRole.HAPPINESS].number or 0) <= 5
        assert 0 <= (got[QuestionRole.WB_LIFE].number or 0) <= 10
        for answer in got.values():  # a skipped optional question holds nothing else
            if answer.skipped:
                assert not answer.question.required
                assert answer.number is None and answer.text == "" and answer.values == []


async def test_a_satisfaction_rate_between_0_and_100_and_groups_of_five(db: str) -> None:
    """Goal 4 is neither 0 % nor 100 %, and the results page has profile groups of five or
    more respondents to break down by (smaller ones are hidden)."""
    await survey_demo.seed_demo()
    happiness = [
        a.number
        for a in await SurveyAnswer.filter(question__role=QuestionRole.HAPPINESS, skipped=False)
    ]
    assert len(happiness) == DEMO_COUNT
    assert {3, 4, 5} <= set(happiness)
    share = sum(1 for n in happiness if n is not None and n >= 4) / len(happiness)
    assert 0.5 < share < 1
    profs = await ResidentProfile.all()
    children = Counter(p.raising_children for p in profs)
    side = Counter(p.side_job for p in profs)
    assert children[True] >= 5 and children[False] >= 5
    assert side[True] >= 5 and side[False] >= 5
    assert Counter(p.residency for p in profs)["migrant"] >= 5
    assert max(Counter(s for p in profs for s in p.skills).values()) >= 5


async def test_profiles_are_filled_from_the_answers_on_the_day_they_answered(db: str) -> None:
    await survey_demo.seed_demo()
    for response in await SurveyResponse.filter(status=ResponseStatus.COMPLETED):
        got = await answers_by_role(response)
        profile = await profiles.profile_of(response.resident_id)  # type: ignore[attr-defined]
        assert profile.freelance_income == bool(got[QuestionRole.FREELANCE_INCOME].number)
        assert profile.raising_children == bool(got[QuestionRole.CHILDREN].number)
        assert profile.side_job == bool(got[QuestionRole.SIDE_JOB].number)
        assert profile.residency == got[QuestionRole.RESIDENCY].text
        year = got.get(QuestionRole.MOVED_YEAR)
        assert profile.moved_year == (year.number if year else None)
        assert profile.skills == [
            s for s in profiles.SKILLS if s in got[QuestionRole.SKILLS].values
        ]
        day = response.answered_at.astimezone(JST).date().isoformat()
        assert profile.filled["residency"] == {"on": day, "by": profiles.BY_SURVEY}
        assert profile.filled["district"]["by"] == profiles.BY_RESIDENT
    # The one who stopped half way set their skills in マイページ.
    unfinished = await SurveyResponse.get(status=ResponseStatus.IN_PROGRESS)
    profile = await profiles.profile_of(unfinished.resident_id)  # type: ignore[attr-defined]
    assert profile.skills and profile.filled["skills"]["by"] == profiles.BY_RESIDENT
    assert profile.freelance_income is None


async def test_two_community_leaders(db: str) -> None:
    await survey_demo.seed_demo()
    leaders = await ResidentTag.filter(tag=profiles.LEADER_TAG).prefetch_related("resident")
    assert len(leaders) == 2
    assert all(t.resident.line_user_id.startswith("Udemo") for t in leaders)


async def test_past_attendance_at_the_terakoya_and_a_workshop_with_a_walk_in(db: str) -> None:
    await survey_demo.seed_demo()
    sessions = await ProgrammeSession.all().prefetch_related("programme")
    assert {s.programme.kind for s in sessions} == {ProgrammeKind.TERAKOYA, ProgrammeKind.WORKSHOP}
    present: set[int] = set()
    walk_ins = 0
    for session in sessions:
        assert session.ends_at < now() - timedelta(days=7)
        assert session.starts_at > now() - timedelta(days=50)  # well within the plan period
        rows = await Registration.filter(session_id=session.id)
        # The counters agree with the rows, as the rules keep them.
        held = [r for r in rows if r.status == RegistrationStatus.REGISTERED]
        assert session.taken == len(held) <= session.seats
        assert session.waiting == 0 and session.childcare_taken == 0
        for r in rows:
            if r.resident_id is None:
                walk_ins += 1
                assert r.walk_in_name and r.attendance == Attendance.PRESENT
                assert r.active_key is None
            else:
                assert r.active_key == f"{session.id}:{r.resident_id}"
                if r.attendance == Attendance.PRESENT:
                    present.add(r.resident_id)
    assert walk_ins == 1
    assert len(present) >= 5
    assert await Registration.filter(attendance=Attendance.ABSENT).count() == 1


async def test_the_course_demo_keeps_its_programmes_and_upcoming_sessions(db: str) -> None:
    """Either order: the past sessions go to course_demo's programmes (no second 寺子屋), and
    course_demo still plans its upcoming sessions next to them."""
    await survey_demo.seed_demo()
    assert await course_demo.seed_demo()  # plans the upcoming sessions
    titles = [p.title for p in await Programme.all()]
    assert sorted(titles) == sorted(p.title for p in course_demo.PROGRAMMES)
    assert await ProgrammeSession.filter(starts_at__gt=now()).exists()


async def test_nothing_is_queued_for_line(db: str, settings: Settings) -> None:
    """Every job of the worker after the seeding queues nothing: the past registrations'
    reminders and 満足度 questions and the unfinished response's reminder count as sent."""
    assert await areas.seed_demo()
    for job in areas.jobs():
        assert await job.run(settings) == 0, job.name
    assert await OutboxMessage.all().count() == 0


async def test_shima_seed_demo_includes_the_survey_area(db: str) -> None:
    summary = await areas.seed_demo()
    assert any(part.startswith("アンケート 1件（受付中）") for part in summary), summary
    assert await areas.seed_demo() == []
    assert len(await demo_residents()) == DEMO_COUNT + 2  # and チャット's two


async def test_every_goal_tile_shows_a_number(db: str) -> None:
    """The plan's five goals, as the dashboard computes them (the default period — run on to
    the end of this fiscal year once today is past it, as staff would set it — today): none
    is zero, and the satisfaction rate is neither 0 % nor 100 %."""
    await areas.seed_demo()
    this_year = goals.FiscalYear(goals.fiscal_year_of(today_jst()))
    ends_on = max(goals.DEFAULT_ENDS_ON, this_year.ends_on)
    await goals.save_plan(goals.DEFAULT_STARTS_ON, ends_on, goals.DEFAULT_TARGETS)
    the_plan = await goals.plan()
    assert the_plan.starts_on <= today_jst() <= the_plan.ends_on
    board = {g.number: g for g in await goals.board(the_plan)}
    assert all(g.value for g in board.values()), {n: g.value for n, g in board.items()}
    # Hand-counted from survey_demo.RESIDENTS and SESSIONS.
    attended = {d.name for d in survey_demo.RESIDENTS if d.attended}
    assert board[goals.SKILLUP].value == len(attended) + 1  # and the walk-in
    assert board[goals.MIGRANTS].value == 4  # moved 2025 or 2026, with skills
    assert board[goals.EARNING].value == 7  # 子育て or 副業, with freelance income
    happy = [d.happiness for d in survey_demo.RESIDENTS]
    assert board[goals.SATISFACTION].respondents == len(happy)
    assert board[goals.SATISFACTION].value == round(
        100 * sum(1 for h in happy if h >= 4) / len(happy)
    )
    assert board[goals.LEADERS].value == 2
