"""Demo data of アンケート・プロフィール・計画の目標 (shima seed-demo): the standard 満足度調査 with
a round open now (this fiscal year: opened two weeks ago, closing in six weeks), a dozen demo
residents who answered it (one still in progress) with their profiles filled from the answers,
two tagged コミュニティリーダー, and their attendance at past 寺子屋 and ワークショップ sessions
(with a walk-in) — so every tile of the plan's five goals shows a number at once, and the round's
results page has groups of five or more to break down by.

Demo residents have LINE ids "Udemo" + 28 hex digits (as long as real ones, never a real one).
Idempotent: the round is found by its survey and title, a resident by their id; a resident's
answers, profile and tags are added only with their first response to the round, and the past
sessions only while no demo resident has attendance. Nothing here queues a message: the
past registrations' reminder and follow-up, and the unfinished response's reminder, count as
sent already."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock
from typing import Any

from models.consultation import BookedBy
from models.course import (
    Attendance,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
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
from shima.domain import course_demo, profiles, surveys
from shima.domain.survey_responses import NO, PROFILE_FIELDS, YES, clean, next_question
from shima.domain.survey_standard import standard_survey
from shima.timeutil import fiscal_year_of, jst_datetime, now, to_jst, today_jst

ROUND_OPENED_DAYS_AGO = 14
ROUND_OPEN_DAYS_LEFT = 42


def demo_line_id(n: int) -> str:
    """A demo resident's LINE id: "Udemo" + 28 hex digits (33 characters like a real one),
    the same on every run."""
    return "Udemo" + hashlib.sha256(f"shima-survey-demo-{n}".encode()).hexdigest()[:28]


@dataclass(frozen=True)
class DemoResident:
    name: str
    # Answers by question role; a role left out is not answered (a question not shown).
    happiness: int
    work: int
    life: int
    wb_happiness: int
    wb_life: int
    income: bool | None = None
    band: str | None = None  # None with income: the optional band skipped
    children: bool | None = None
    side_job: bool | None = None
    residency: str = ""
    moved_year: int | None = None
    skills: tuple[str, ...] = ()
    comment: str = ""
    district: str = "naze"  # set by the resident (LINE), not by the survey
    tags: tuple[str, ...] = ()
    attended: tuple[str, ...] = ()  # the past sessions (SESSIONS keys) they came to
    absent: tuple[str, ...] = ()
    # Stopped after the first questions (the response stays 回答途中).
    unfinished: bool = False
    answered_day: int = 1  # days after the round opened


LEADER = profiles.LEADER_TAG

RESIDENTS: tuple[DemoResident, ...] = (
    DemoResident(
        "森山 さくら", 5, 4, 5, 8, 8, True, "60to150", True, False, "migrant", 2025,
        ("writer", "sns"), "寺子屋で知り合った仲間と仕事を分け合えるようになりました。",
        tags=(LEADER,), attended=("terakoya1", "terakoya2"), answered_day=1,
    ),
    DemoResident(
        "大島 健太", 4, 4, 4, 7, 7, True, "150to300", False, True, "local", None,
        ("web", "programming"), tags=(LEADER,), attended=("terakoya1", "workshop"),
        answered_day=1,
    ),
    DemoResident(
        "笠井 ゆい", 4, 3, 5, 7, 8, True, "under30", True, True, "migrant", 2026,
        ("handmade", "photo", "sns"), "子どもを預けて講座に出られるのが助かります。",
        attended=("workshop",), answered_day=2,
    ),
    DemoResident(
        "住田 雅人", 3, 2, 4, 5, 6, False, None, True, False, "considering", None,
        ("design",), "島での仕事の探し方をもっと知りたいです。", district="outside",
        attended=("terakoya2",), answered_day=3,
    ),
    DemoResident(
        "名越 ひかり", 5, 5, 5, 9, 9, True, "30to60", True, False, "migrant", 2026,
        ("photo", "sns"), attended=("terakoya1",), district="kasari", answered_day=3,
    ),
    DemoResident(
        "赤木 亮", 4, 4, 3, 6, 7, True, "300plus", False, False, "migrant", 2019,
        ("programming", "web"), tags=("講師",), district="sumiyo", answered_day=4,
    ),
    DemoResident(
        "田畑 美紅", 3, 3, 3, 5, 5, True, None, True, True, "local", None,
        ("handmade", "sns"), "夜に作業できる場所があるとうれしいです。",
        attended=("workshop",), answered_day=5,
    ),
    DemoResident(
        "朝仁 浩太", 4, 3, 4, 6, 6, False, None, False, True, "considering", None,
        ("writer",), district="outside", answered_day=6,
    ),
    DemoResident(
        "小宿 あやの", 5, 4, 5, 8, 9, True, "60to150", True, True, "migrant", 2025,
        ("design", "web"), attended=("terakoya2",), answered_day=7,
    ),
    DemoResident(
        "有屋 慎二", 3, 3, 2, 4, 4, False, None, False, False, "local", None,
        ("other",), absent=("terakoya2",), answered_day=8,
    ),
    DemoResident(
        "根瀬部 まい", 4, 4, 4, 7, 6, True, "30to60", False, True, "migrant", 2023,
        ("sns", "writer"), "交流会で相談できる人が増えました。", answered_day=10,
    ),
    DemoResident(
        "浦上 拓也", 5, 4, 4, 8, 0, skills=("photo",), unfinished=True, answered_day=9,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class DemoPast:
    programme: int  # index in course_demo.PROGRAMMES
    weeks_ago: int  # the session is on the programme's weekday, this many weeks back at most
    walk_ins: tuple[str, ...] = ()


# Past sessions of the 寺子屋 and the workshop (course_demo's programmes), in the plan period.
SESSIONS: dict[str, DemoPast] = {
    "terakoya1": DemoPast(0, 6, walk_ins=("龍郷 みのり",)),
    "terakoya2": DemoPast(0, 3),
    "workshop": DemoPast(2, 2),
}


def _past_day(weekday: int, weeks_ago: int) -> date:
    """The `weekday` within the week ending `weeks_ago` weeks before today (always past)."""
    return course_demo.session_day(today_jst() - timedelta(weeks=weeks_ago), weekday, 0)


async def _seed_attendance(residents: dict[str, Resident]) -> int:
    """The past sessions with their registrations and attendance, unless any demo resident
    has attendance already. Returns how many were marked 出席 (walk-ins included)."""
    ids = [r.id for r in residents.values()]
    if await Registration.exists(resident_id__in=ids, attendance=Attendance.PRESENT):
        return 0
    present = 0
    for key, past in SESSIONS.items():
        programme, _ = await course_demo.demo_programme(course_demo.PROGRAMMES[past.programme])
        plan = course_demo.PROGRAMMES[past.programme]
        day = _past_day(plan.weekday, past.weeks_ago)
        first = plan.sessions[0]
        starts_at = jst_datetime(day, first.start)
        came = [d for d in RESIDENTS if key in d.attended]
        away = [d for d in RESIDENTS if key in d.absent]
        taken = len(came) + len(away) + len(past.walk_ins)
        session = await ProgrammeSession.create(
            programme=programme,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=first.minutes),
            venue=course_demo.INNO,
            seats=max(first.seats, taken),
            childcare_places=first.childcare,
            deadline=jst_datetime(day - timedelta(days=1), clock(17)),
            status=SessionStatus.PUBLISHED,
            taken=taken,
        )
        signed_up = starts_at - timedelta(days=7)
        for n, demo in enumerate(came + away):
            resident = residents[demo.name]
            attended = demo in came
            await Registration.create(
                session=session,
                resident=resident,
                status=RegistrationStatus.REGISTERED,
                active_key=f"{session.id}:{resident.id}",
                registered_by=BookedBy.RESIDENT,
                registered_at=signed_up + timedelta(hours=n),
                attendance=Attendance.PRESENT if attended else Attendance.ABSENT,
                attendance_by="line" if attended and n % 2 == 0 else "staff",
                attendance_at=starts_at - timedelta(minutes=10 - n),
                # The day-before reminder and the 満足度 question went out at the time.
                reminder_queued_at=starts_at - timedelta(days=1),
                followup_queued_at=session.ends_at + timedelta(hours=1),
                satisfaction=min(5, 3 + n % 3) if attended else None,
            )
            present += attended
        for name in past.walk_ins:
            await Registration.create(
                session=session,
                resident=None,
                walk_in_name=name,
                status=RegistrationStatus.REGISTERED,
                registered_by=BookedBy.STAFF,
                registered_at=starts_at,
                attendance=Attendance.PRESENT,
                attendance_by="staff",
                attendance_at=starts_at,
            )
            present += 1
    return present


async def _open_round(survey: Survey) -> tuple[SurveyRound | None, bool]:
    """This fiscal year's round of the standard survey (found by its title among the
    survey's versions), made here — opened two weeks ago, closing in six weeks — if missing.
    When staff run another round over those dates, that one if it is open now (else None)."""
    today = today_jst()
    title = f"{fiscal_year_of(today)}年度"
    family = await surveys.family_ids(survey.id)
    found = await SurveyRound.filter(survey_id__in=family, title=title).order_by("id").first()
    if found is not None:
        return found, False
    spec = surveys.RoundSpec(
        title,
        jst_datetime(today - timedelta(days=ROUND_OPENED_DAYS_AGO)),
        jst_datetime(today + timedelta(days=ROUND_OPEN_DAYS_LEFT), clock(23, 59)),
    )
    try:
        return await surveys.create_round(survey.id, spec), True
    except surveys.BadRound:
        return await surveys.open_round(survey.id), False


def _answers(demo: DemoResident) -> dict[QuestionRole, Any]:
    """The demo resident's answer by question role, as the answer conventions store them
    (yes/no as a bool here); None = skipped (an optional question)."""
    given: dict[QuestionRole, Any] = {
        QuestionRole.WORK_SATISFACTION: demo.work,
        QuestionRole.LIFE_SATISFACTION: demo.life,
        QuestionRole.HAPPINESS: demo.happiness,
        QuestionRole.WB_HAPPINESS: demo.wb_happiness,
    }
    if demo.unfinished:
        return given  # stopped after four questions
    given |= {
        QuestionRole.WB_LIFE: demo.wb_life,
        QuestionRole.FREELANCE_INCOME: demo.income,
        QuestionRole.CHILDREN: demo.children,
        QuestionRole.SIDE_JOB: demo.side_job,
        QuestionRole.RESIDENCY: demo.residency,
        QuestionRole.SKILLS: list(demo.skills),
        QuestionRole.COMMENT: demo.comment or None,
    }
    if demo.income:
        given[QuestionRole.INCOME_BAND] = demo.band
    if demo.residency == "migrant":
        given[QuestionRole.MOVED_YEAR] = demo.moved_year
    return given


def _answer_row(question: SurveyQuestion, value: Any) -> dict[str, Any]:
    """The answer's columns, stored as the LINE flow stores them: the value as a resident
    would send it, through survey_responses.clean (yes/no, scales, years, choices, text)."""
    if value is None or value == "":
        return {"skipped": True}
    if isinstance(value, bool):
        sent: str | list[str] = YES if value else NO
    else:
        sent = list(value) if isinstance(value, list | tuple) else str(value)
    cleaned = clean(question, sent)
    return {
        "number": cleaned.number,
        "text": cleaned.text,
        "values": list(cleaned.values),
        "skipped": cleaned.skipped,
    }


async def _respond(
    round_: SurveyRound, questions: list[SurveyQuestion], resident: Resident, demo: DemoResident
) -> SurveyResponse:
    """The resident's response with one answer per question shown (in order, as the LINE
    flow saves them), and their profile filled from it (by the survey)."""
    wanted = _answers(demo)
    started = round_.opens_at + timedelta(days=demo.answered_day, hours=9 + demo.answered_day % 9)
    response = await SurveyResponse.create(
        round=round_,
        resident=resident,
        status=ResponseStatus.IN_PROGRESS,
        started_at=started,
        answered_at=started,
    )
    # Walk the questions as the flow does: the next one shown given the answers so far.
    given: dict[int, SurveyAnswer] = {}
    at = started
    question = next_question(questions, given)
    while question is not None and QuestionRole(question.role) in wanted:
        at += timedelta(seconds=20)
        given[question.id] = SurveyAnswer(
            response_id=response.id,
            question_id=question.id,
            answered_at=at,
            **_answer_row(question, wanted[QuestionRole(question.role)]),
        )
        question = next_question(questions, given, question)
    await SurveyAnswer.bulk_create(list(given.values()))
    response.answered_at = at
    response.current = question  # type: ignore[assignment]  # where 「続きから」 resumes
    if question is None:
        response.status = ResponseStatus.COMPLETED
        response.completed_at = at
    else:  # its one 「続きから」 reminder counts as sent: none goes to a demo id
        response.reminder_queued_at = min(at + timedelta(days=3), now())
    await response.save()
    changes = {
        PROFILE_FIELDS[role]: value
        for role, value in wanted.items()
        if role in PROFILE_FIELDS and value is not None
    }
    if changes:
        await profiles.update(resident.id, changes, profiles.BY_SURVEY)
        # Filled on the day they answered (as the flow fills it), not the day of the seeding.
        profile = await profiles.profile_of(resident.id)
        on = to_jst(at).date().isoformat()
        profile.filled = {
            name: {**mark, "on": on} if name in changes else mark
            for name, mark in (profile.filled or {}).items()
        }
        await profile.save(update_fields=["filled"])
    return response


async def seed_demo() -> str:
    """Creates what is missing and says what it added (Japanese), "" when nothing."""
    survey = await standard_survey()
    round_, round_made = await _open_round(survey)
    questions = await SurveyQuestion.filter(
        survey_id=round_.survey_id if round_ else survey.id  # type: ignore[attr-defined]
    ).order_by("position")
    residents: dict[str, Resident] = {}
    answered = filled = tagged = 0
    for n, demo in enumerate(RESIDENTS, start=1):
        resident, made = await Resident.get_or_create(
            line_user_id=demo_line_id(n),
            defaults={"display_name": demo.name, "followed_at": now(), "first_followed_at": now()},
        )
        residents[demo.name] = resident
        if made:
            # What they set in マイページ → プロフィール themselves, and staff's tags.
            mine: dict[str, Any] = {"district": demo.district}
            if demo.unfinished:
                mine["skills"] = list(demo.skills)
            await profiles.update(resident.id, mine, profiles.BY_RESIDENT)
            filled += 1
            for tag in demo.tags:
                tagged += await profiles.add_tag(resident, tag, "デモデータ")
        if round_ is None or await SurveyResponse.exists(
            round_id=round_.id, resident_id=resident.id
        ):
            continue
        await _respond(round_, list(questions), resident, demo)
        answered += 1
    present = await _seed_attendance(residents)
    parts = []
    if round_made:
        parts.append("アンケート 1件（受付中）")
    if answered:
        parts.append(f"回答 {answered}件")
    if filled:
        parts.append(f"プロフィール {filled}人")
    if tagged:
        parts.append(f"タグ {tagged}件")
    if present:
        parts.append(f"出席 {present}件")
    return ", ".join(parts)  # as `shima seed-demo` joins the areas
