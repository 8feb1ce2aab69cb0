"""Hand-built data for the plan's five goals (shima.domain.goals), each goal's value counted by
hand in its builder's docstring: used by the domain tests, the admin tests and the browser
test of the tiles."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from models.course import (
    Attendance,
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.profiles import ResidentProfile, ResidentTag
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
from shima.domain.profiles import LEADER_TAG
from shima.timeutil import JST

AFTER_THE_PERIOD = datetime(2028, 6, 1, 3, 0, tzinfo=UTC)


def jst(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=JST).astimezone(UTC)


async def person(name: str) -> Resident:
    return await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name)


# ---------- Builders ----------


class Door:
    """Programmes of each kind and their sessions; attendance as the door records it."""

    def __init__(self) -> None:
        self.programmes: dict[ProgrammeKind, Programme] = {}

    async def session(self, kind: ProgrammeKind, starts_at: datetime) -> ProgrammeSession:
        if kind not in self.programmes:
            self.programmes[kind] = await Programme.create(kind=kind, title=kind.label)
        return await ProgrammeSession.create(
            programme=self.programmes[kind],
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            seats=20,
            deadline=starts_at,
            status=SessionStatus.PUBLISHED,
        )

    async def attend(
        self,
        kind: ProgrammeKind,
        starts_at: datetime,
        who: Resident | str,
        attendance: Attendance = Attendance.PRESENT,
        status: RegistrationStatus = RegistrationStatus.REGISTERED,
    ) -> Registration:
        session = await self.session(kind, starts_at)
        resident = who if isinstance(who, Resident) else None
        return await Registration.create(
            session=session,
            resident=resident,
            walk_in_name="" if resident else str(who),
            status=status,
            attendance=attendance,
        )


T, W, M = ProgrammeKind.TERAKOYA, ProgrammeKind.WORKSHOP, ProgrammeKind.MEETUP


async def skillup_data() -> dict[str, Any]:
    """Goal 1, counted by hand: Alice (the first moment, and again in R8), Carol (the last
    minute), 山田太郎 (three spellings, one person, R7) and 佐藤花子 (R8) = 4."""
    door = Door()
    alice, bob, carol, dan = [await person(n) for n in ("Alice", "Bob", "Carol", "Dan")]
    await door.attend(T, jst(date(2025, 4, 1)), alice)  # 00:00 JST on the first day: counts
    await door.attend(W, jst(date(2026, 5, 10), 10), alice)  # again (R8): still one person
    await door.attend(T, jst(date(2025, 3, 31), 23, 59), bob)  # a minute early: not counted
    await door.attend(W, jst(date(2028, 3, 31), 23, 59), carol)  # the last minute: counts
    await door.attend(T, jst(date(2028, 4, 1)), dan)  # the day after the end: not counted
    eve, fay, gus, hal = [await person(n) for n in ("Eve", "Fay", "Gus", "Hal")]
    await door.attend(M, jst(date(2025, 9, 1), 19), eve)  # 交流会: not a skill-up session
    await door.attend(T, jst(date(2025, 9, 2), 10), fay, Attendance.ABSENT)
    await door.attend(T, jst(date(2025, 9, 3), 10), gus, Attendance.UNKNOWN)
    await door.attend(  # attended, then the registration was cancelled: not counted
        T, jst(date(2025, 9, 4), 10), hal, status=RegistrationStatus.CANCELLED
    )
    # Walk-ins: one person under three spellings (spaces, a full-width space, 全角).
    await door.attend(T, jst(date(2025, 6, 1), 10), "山田 太郎")
    await door.attend(W, jst(date(2025, 7, 1), 10), "山田太郎")
    await door.attend(T, jst(date(2026, 1, 10), 10), "山田　太郎")
    await door.attend(T, jst(date(2026, 4, 15), 10), "佐藤 花子")
    await door.attend(M, jst(date(2026, 4, 16), 19), "鈴木 一郎")  # 交流会: not counted
    await door.attend(T, jst(date(2025, 3, 31), 23, 0), "早川 次郎")  # before the period
    return {"alice": alice, "carol": carol}


async def profile(resident: Resident | None = None, **fields: Any) -> ResidentProfile:
    resident = resident or await person("プロフィール")
    return await ResidentProfile.create(resident=resident, **fields)


def on(**days: str) -> dict[str, dict[str, str]]:
    return {name: {"on": day, "by": "survey"} for name, day in days.items()}


async def migrant_data() -> None:
    """Goal 2, counted by hand: m1 (2025, a skill), m2 (2027, income), m8 (2026, both) = 3."""
    await profile(  # m1: counts from 2025-05-01
        residency="migrant",
        moved_year=2025,
        skills=["web"],
        filled=on(residency="2025-05-01", moved_year="2025-05-01", skills="2025-05-01"),
    )
    await profile(  # m2: counts from 2026-08-10 (the income, recorded last)
        residency="migrant",
        moved_year=2027,
        skills=[],
        freelance_income=True,
        filled=on(residency="2025-10-01", moved_year="2025-10-01", freelance_income="2026-08-10"),
    )
    await profile(residency="migrant", moved_year=2024, skills=["web"])  # moved before
    await profile(residency="migrant", moved_year=2028, skills=["web"])  # 2028年度: after
    await profile(  # moved in the period but does not freelance
        residency="migrant", moved_year=2026, skills=[], freelance_income=False
    )
    await profile(residency="local", skills=["web"], freelance_income=True)
    await profile(residency="considering", skills=["design"])
    await profile(  # m8: a skill (2027-01-15) and income (2027-03-01): from the earlier
        residency="migrant",
        moved_year=2026,
        skills=["design"],
        freelance_income=True,
        filled=on(skills="2027-01-15", freelance_income="2027-03-01"),
    )


async def earning_data() -> None:
    """Goal 3, counted by hand: e1 (子育て, R7), e2 (副業, recorded before the period), e3
    (both, R7) = 3."""
    await profile(  # e1: from 2025-06-30 (the income, recorded after 子育て)
        raising_children=True,
        freelance_income=True,
        filled=on(raising_children="2025-04-20", freelance_income="2025-06-30"),
    )
    await profile(  # e2: from 2024-12-01, before the period (counted from its first month)
        raising_children=False,
        side_job=True,
        freelance_income=True,
        filled=on(
            raising_children="2024-12-01", side_job="2024-12-01", freelance_income="2024-12-01"
        ),
    )
    await profile(  # e3: 副業 (2026-02-01) came before 子育て (2027-05-01): from 2026-02-01
        raising_children=True,
        side_job=True,
        freelance_income=True,
        filled=on(
            raising_children="2027-05-01", side_job="2026-02-01", freelance_income="2026-01-01"
        ),
    )
    await profile(raising_children=True, freelance_income=False)
    await profile(side_job=True)  # income not told
    await profile(raising_children=None, side_job=False, freelance_income=True)


class Surveys:
    """The standard survey (two versions) and another survey with a happiness question."""

    async def make(self) -> None:
        self.v1 = await self.survey(is_standard=True, version=1)
        self.v2 = await self.survey(is_standard=True, version=2)
        self.other = await self.survey(is_standard=False, version=1)

    async def survey(self, **fields: Any) -> Survey:
        survey = await Survey.create(title="満足度調査", **fields)
        await SurveyQuestion.create(
            survey=survey,
            position=1,
            kind=QuestionKind.SCALE5,
            text="仕事",
            role=QuestionRole.WORK_SATISFACTION,
        )
        await SurveyQuestion.create(
            survey=survey,
            position=2,
            kind=QuestionKind.SCALE5,
            text="幸せ",
            role=QuestionRole.HAPPINESS,
        )
        return survey

    async def round(self, survey: Survey, title: str, opens: date) -> SurveyRound:
        return await SurveyRound.create(
            survey=survey,
            title=title,
            opens_at=jst(opens),
            closes_at=jst(opens + timedelta(days=30)),
        )

    async def respond(
        self,
        round_: SurveyRound,
        at: datetime,
        happiness: int | None,
        *,
        skipped: bool = False,
        completed: bool = True,
        only_first: bool = False,
    ) -> SurveyResponse:
        response = await SurveyResponse.create(
            round=round_,
            resident=await person("回答者"),
            status=ResponseStatus.COMPLETED if completed else ResponseStatus.IN_PROGRESS,
            started_at=at,
            answered_at=at,
            completed_at=at if completed else None,
        )
        questions = {
            q.position: q
            for q in await SurveyQuestion.filter(survey_id=round_.survey_id)  # type: ignore[attr-defined]
        }
        await SurveyAnswer.create(
            response=response, question=questions[1], number=3, answered_at=at
        )
        if not only_first:
            await SurveyAnswer.create(
                response=response,
                question=questions[2],
                number=None if skipped else happiness,
                skipped=skipped,
                answered_at=at,
            )
        return response


async def satisfaction_data() -> Surveys:
    """Goal 4, counted by hand: the latest round of the standard survey opened in the period
    with a happiness answer is 2026年度 (v2): 5, 4, 3, 1 answered (one skipped, left out;
    two of the four unfinished) → 2 of 4 = 50%. 2025年度: 5, 4, 2 → 67%."""
    s = Surveys()
    await s.make()
    a = await s.round(s.v1, "2025年度", date(2025, 6, 1))
    for value in (5, 4, 2):
        await s.respond(a, jst(date(2025, 6, 3), 12), value)
    b = await s.round(s.v2, "2026年度", date(2026, 6, 1))
    await s.respond(b, jst(date(2026, 6, 2), 9), 5)
    await s.respond(b, jst(date(2026, 6, 2), 10), 4, completed=False)
    await s.respond(b, jst(date(2026, 6, 30), 23, 59), 3)
    await s.respond(b, jst(date(2026, 6, 5), 9), None, skipped=True)
    await s.respond(b, jst(date(2026, 7, 1), 0), 1, completed=False)  # July (JST)
    await s.respond(b, jst(date(2026, 6, 6), 9), None, only_first=True, completed=False)
    # 2027年度 has responses but nobody reached the happiness question: not "the latest".
    c = await s.round(s.v2, "2027年度", date(2027, 6, 1))
    await s.respond(c, jst(date(2027, 6, 2), 9), None, only_first=True, completed=False)
    # Opened the day after the period: not counted.
    d = await s.round(s.v2, "2028年度", date(2028, 4, 1))
    await s.respond(d, jst(date(2028, 4, 1), 9), 5)
    # Another (not standard) survey's happiness question: not counted.
    e = await s.round(s.other, "イベント後アンケート", date(2027, 9, 1))
    await s.respond(e, jst(date(2027, 9, 2), 9), 5)
    return s


async def leader_data() -> None:
    """Goal 5, counted by hand: tagged 2024-01-01 (before the period), 2025-05-10 (R7),
    2027-12-01 (R9) = 3; a 講師 tag is not a leader."""
    for day, tag in (
        (date(2024, 1, 1), LEADER_TAG),
        (date(2025, 5, 10), LEADER_TAG),
        (date(2027, 12, 1), LEADER_TAG),
        (date(2025, 6, 1), "講師"),
    ):
        row = await ResidentTag.create(resident=await person("タグ"), tag=tag, created_by="staff@x")
        await ResidentTag.filter(id=row.id).update(created_at=jst(day, 10))
