"""shima.domain.segments: who a segment reaches, against a hand-built town whose answer to
each condition is written next to it. Unfollowed, opted-out and erased residents match every
condition and are never counted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.course import (
    Attendance,
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.market import ApplicationStatus, Market, MarketApplication
from models.profiles import ResidentProfile, ResidentTag
from models.residents import Resident
from models.survey import ResponseStatus, Survey, SurveyResponse, SurveyRound
from shima.domain import segments
from shima.domain.segments import Segment

START = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # 15:00 JST


@dataclass
class Town:
    people: dict[str, Resident]
    programme: Programme  # sessions s1 and s2
    s1: ProgrammeSession
    s2: ProgrammeSession
    other_programme: Programme  # session s3
    market: Market
    other_market: Market
    round: SurveyRound
    other_round: SurveyRound

    def ids(self, *names: str) -> list[int]:
        return sorted(self.people[n].id for n in names)


async def _person(name: str, **extra: Any) -> Resident:
    return await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name, **extra)


async def _session(programme: Programme, days: int) -> ProgrammeSession:
    starts = START + timedelta(days=days)
    return await ProgrammeSession.create(
        programme=programme,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        seats=10,
        deadline=starts,
        status=SessionStatus.PUBLISHED,
    )


async def _register(
    session: ProgrammeSession,
    who: Resident | None,
    status: RegistrationStatus = RegistrationStatus.REGISTERED,
    attendance: Attendance = Attendance.UNKNOWN,
) -> None:
    await Registration.create(
        session=session,
        resident=who,
        walk_in_name="" if who else "当日 参加",
        status=status,
        attendance=attendance,
    )


async def _market(name: str) -> Market:
    return await Market.create(
        name=name,
        starts_at=START,
        ends_at=START + timedelta(hours=6),
        venue="名瀬",
        applications_open_at=START - timedelta(days=30),
        applications_close_at=START - timedelta(days=10),
        booths=30,
    )


async def _round(survey: Survey, title: str) -> SurveyRound:
    return await SurveyRound.create(
        survey=survey, title=title, opens_at=START, closes_at=START + timedelta(days=30)
    )


async def _respond(round_: SurveyRound, who: Resident, status: ResponseStatus) -> None:
    await SurveyResponse.create(
        round=round_, resident=who, status=status, started_at=START, answered_at=START
    )


@pytest.fixture
async def town(db: str) -> Town:
    """Five reachable residents and three ghosts:

    hanako  子育て はい, 副業 いいえ, 移住, 名瀬, ライター・SNS; 講師; s1 出席;
            market: submitted; round: completed
    taro    子育て いいえ, 副業 はい, 地元, 笠利, Web; コミュニティリーダー; s2 欠席;
            market: accepted; round: in progress
    jiro    no profile; 講師; s1 waiting; market: draft; the other round: completed
    yui     移住検討中, 住用 (子育て・副業 not told); s1 cancelled (marked present),
            s3 (other programme) 出席; market: rejected
    saki    子育て はい, 副業 はい, 名瀬, カメラマン (residency not told); s2 offered;
            the other market: accepted
    ghosts  unfollowed, opted_out, erased: each like hanako in every way.
    A walk-in attended s1.
    """
    people: dict[str, Resident] = {}
    for name in ("hanako", "taro", "jiro", "yui", "saki"):
        people[name] = await _person(name)
    people["unfollowed"] = await _person("unfollowed", is_following=False)
    people["opted_out"] = await _person("opted_out", announcements_opt_out=True)
    people["erased"] = await _person("erased", erased_at=START)
    ghosts = [people[n] for n in ("unfollowed", "opted_out", "erased")]

    hanakos = [people["hanako"], *ghosts]
    for who in hanakos:
        await ResidentProfile.create(
            resident=who,
            raising_children=True,
            side_job=False,
            residency="migrant",
            moved_year=2025,
            district="naze",
            skills=["writer", "sns"],
        )
        await ResidentTag.create(resident=who, tag="講師")
    await ResidentProfile.create(
        resident=people["taro"],
        raising_children=False,
        side_job=True,
        residency="local",
        district="kasari",
        skills=["web"],
    )
    await ResidentTag.create(resident=people["taro"], tag="コミュニティリーダー")
    await ResidentTag.create(resident=people["jiro"], tag="講師")
    await ResidentProfile.create(
        resident=people["yui"], residency="considering", district="sumiyo", skills=[]
    )
    await ResidentProfile.create(
        resident=people["saki"],
        raising_children=True,
        side_job=True,
        district="naze",
        skills=["photo"],
    )

    programme = await Programme.create(kind=ProgrammeKind.TERAKOYA, title="伝わる文章の書き方")
    other = await Programme.create(kind=ProgrammeKind.MEETUP, title="島フリーランス交流会")
    s1, s2 = await _session(programme, 0), await _session(programme, 7)
    s3 = await _session(other, 3)
    for who in hanakos:
        await _register(s1, who, attendance=Attendance.PRESENT)
    await _register(s1, None, attendance=Attendance.PRESENT)  # a walk-in
    await _register(s2, people["taro"], attendance=Attendance.ABSENT)
    await _register(s1, people["jiro"], RegistrationStatus.WAITING)
    await _register(s1, people["yui"], RegistrationStatus.CANCELLED, Attendance.PRESENT)
    await _register(s3, people["yui"], attendance=Attendance.PRESENT)
    await _register(s2, people["saki"], RegistrationStatus.OFFERED)

    market, other_market = await _market("秋のマーケット"), await _market("春のマーケット")
    applications = [
        *((who, market, ApplicationStatus.SUBMITTED) for who in hanakos),
        (people["taro"], market, ApplicationStatus.ACCEPTED),
        (people["jiro"], market, ApplicationStatus.DRAFT),
        (people["yui"], market, ApplicationStatus.REJECTED),
        (people["saki"], other_market, ApplicationStatus.ACCEPTED),
    ]
    for who, where, status in applications:
        await MarketApplication.create(market=where, resident=who, status=status)

    survey = await Survey.create(title="満足度調査")
    round_, other_round = await _round(survey, "2026年度"), await _round(survey, "2025年度")
    for who in hanakos:
        await _respond(round_, who, ResponseStatus.COMPLETED)
    await _respond(round_, people["taro"], ResponseStatus.IN_PROGRESS)
    await _respond(other_round, people["jiro"], ResponseStatus.COMPLETED)
    return Town(people, programme, s1, s2, other, market, other_market, round_, other_round)


async def reached(segment: Segment) -> list[int]:
    found = [r.id for r in await segments.residents(segment)]
    assert found == sorted(found)  # ordered by id
    assert await segments.count(segment) == len(found)
    return found


EVERYONE = ("hanako", "taro", "jiro", "yui", "saki")


# ---------- Reachable ----------


async def test_everyone_is_every_follower_who_has_not_opted_out_or_been_erased(town: Town) -> None:
    assert Segment().is_everyone()
    assert await reached(Segment()) == town.ids(*EVERYONE)
    assert sorted([r.id async for r in segments.reachable()]) == town.ids(*EVERYONE)


async def test_someone_who_unfollows_or_opts_out_leaves_the_count_and_comes_back(
    town: Town,
) -> None:
    segment = Segment(tags=("講師",))
    assert await reached(segment) == town.ids("hanako", "jiro")
    await Resident.filter(id=town.people["jiro"].id).update(is_following=False)
    await Resident.filter(id=town.people["hanako"].id).update(announcements_opt_out=True)
    assert await reached(segment) == []
    await Resident.filter(id=town.people["jiro"].id).update(is_following=True)
    assert await reached(segment) == town.ids("jiro")


# ---------- Each condition alone ----------


@pytest.mark.parametrize(
    ("segment", "names"),
    [
        (Segment(tags=("講師",)), ("hanako", "jiro")),
        (Segment(tags=("講師", "コミュニティリーダー")), ("hanako", "jiro", "taro")),
        (Segment(tags=("ロールモデル",)), ()),
        (Segment(skills=("sns",)), ("hanako",)),
        (Segment(skills=("web", "photo")), ("taro", "saki")),
        (Segment(skills=("programming",)), ()),
        (Segment(raising_children=True), ("hanako", "saki")),
        (Segment(raising_children=False), ("taro",)),  # yui has not told: in neither
        (Segment(side_job=True), ("taro", "saki")),
        (Segment(side_job=False), ("hanako",)),
        (Segment(migrant=True), ("hanako",)),
        (Segment(migrant=False), ("taro", "yui")),  # saki has not told
        (Segment(districts=("naze",)), ("hanako", "saki")),
        (Segment(districts=("kasari", "sumiyo")), ("taro", "yui")),
    ],
    ids=lambda v: str(v.to_json()) if isinstance(v, Segment) else None,
)
async def test_tags_and_profile_conditions(
    town: Town, segment: Segment, names: tuple[str, ...]
) -> None:
    assert not segment.is_everyone()
    assert await reached(segment) == town.ids(*names)


async def test_programme_registrants_hold_a_confirmed_seat_in_any_of_its_sessions(
    town: Town,
) -> None:
    # jiro waits and saki's seat is only offered: neither has a seat yet; yui cancelled s1
    # (and her s3 is another programme's); the walk-in has no LINE account.
    assert await reached(Segment(programme_id=town.programme.id)) == town.ids("hanako", "taro")
    assert await reached(Segment(session_id=town.s2.id)) == town.ids("taro")
    assert await reached(Segment(programme_id=town.other_programme.id)) == town.ids("yui")


async def test_programme_attendees_were_marked_present(town: Town) -> None:
    attended = Segment(programme_id=town.programme.id, programme_who="attended")
    assert await reached(attended) == town.ids("hanako")  # taro was absent
    assert await reached(Segment(session_id=town.s2.id, programme_who="attended")) == []
    # A session of another programme with both given: both must hold.
    both = Segment(programme_id=town.programme.id, session_id=town.s2.id)
    assert await reached(both) == town.ids("taro")
    mismatch = Segment(programme_id=town.other_programme.id, session_id=town.s1.id)
    assert await reached(mismatch) == []


async def test_market_applicants_by_status(town: Town) -> None:
    market = town.market.id
    # Any status but 入力中: jiro's unfinished draft is not an application.
    assert await reached(Segment(market_id=market)) == town.ids("hanako", "taro", "yui")
    assert await reached(Segment(market_id=market, market_statuses=("accepted",))) == town.ids(
        "taro"
    )
    chosen = Segment(market_id=market, market_statuses=("submitted", "rejected"))
    assert await reached(chosen) == town.ids("hanako", "yui")
    assert await reached(Segment(market_id=market, market_statuses=("draft",))) == town.ids("jiro")
    assert await reached(Segment(market_id=town.other_market.id)) == town.ids("saki")


async def test_round_respondents_answered_to_the_end(town: Town) -> None:
    responded = Segment(round_id=town.round.id)
    assert await reached(responded) == town.ids("hanako")  # taro is still answering
    not_responded = Segment(round_id=town.round.id, round_who="not_responded")
    assert await reached(not_responded) == town.ids("taro", "jiro", "yui", "saki")
    assert await reached(Segment(round_id=town.other_round.id)) == town.ids("jiro")


# ---------- Combined ----------


async def test_every_condition_given_narrows(town: Town) -> None:
    assert await reached(Segment(tags=("講師",), raising_children=True)) == town.ids("hanako")
    assert await reached(Segment(districts=("naze",), side_job=True)) == town.ids("saki")
    assert await reached(
        Segment(programme_id=town.programme.id, round_id=town.round.id, round_who="not_responded")
    ) == town.ids("taro")
    everything = Segment(
        tags=("講師", "コミュニティリーダー"),
        skills=("writer", "web"),
        raising_children=True,
        side_job=False,
        migrant=True,
        districts=("naze",),
        programme_id=town.programme.id,
        session_id=town.s1.id,
        programme_who="attended",
        market_id=town.market.id,
        market_statuses=("submitted",),
        round_id=town.round.id,
    )
    assert await reached(everything) == town.ids("hanako")
    assert (
        await reached(Segment(tags=("コミュニティリーダー",), market_id=town.other_market.id)) == []
    )


# ---------- JSON ----------


def test_json_round_trip_keeps_only_what_is_given() -> None:
    segment = Segment(
        tags=("講師",),
        skills=("web", "writer"),
        raising_children=False,
        programme_id=3,
        programme_who="attended",
        market_id=4,
        market_statuses=("accepted",),
        round_id=5,
        round_who="not_responded",
    )
    data = segment.to_json()
    assert data["raising_children"] is False
    assert "side_job" not in data and "districts" not in data
    assert Segment.from_json(data) == Segment(
        tags=("講師",),
        skills=("writer", "web"),  # the list's own order
        raising_children=False,
        programme_id=3,
        programme_who="attended",
        market_id=4,
        market_statuses=("accepted",),
        round_id=5,
        round_who="not_responded",
    )
    assert Segment().to_json() == {}
    assert Segment.from_json({}) == Segment()


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "x",
        {"tags": "講師"},
        {"tags": [1, None, "", "x" * 31]},
        {"skills": ["astronaut", 3]},
        {"districts": ["tokyo"]},
        {"raising_children": "yes", "side_job": 1, "migrant": None},
        {"programme_id": "abc", "session_id": -1, "market_id": True, "round_id": 1.5},
        {"market_statuses": ["nope"], "unknown": 1},
    ],
)
def test_bad_values_are_dropped(data: Any) -> None:
    assert Segment.from_json(data) == Segment()


def test_values_from_a_form_are_cleaned() -> None:
    found = Segment.from_json(
        {
            "tags": [" 講師 ", "講師", "ＳＮＳ"],
            "programme_id": "12",
            "programme_who": "someone",
            "round_id": 7,
            "round_who": "everyone",
        }
    )
    assert found == Segment(tags=("講師", "SNS"), programme_id=12, round_id=7)


def test_qualifiers_alone_do_not_narrow() -> None:
    assert Segment(programme_who="attended", round_who="not_responded").is_everyone()
    assert Segment(market_statuses=("accepted",)).is_everyone()


# ---------- Describing ----------


async def test_describe_names_everything_for_staff(town: Town) -> None:
    assert await segments.describe(Segment()) == [
        "友だち全員（お知らせの受け取りを止めた方を除く）"
    ]
    lines = await segments.describe(
        Segment(
            tags=("講師", "コミュニティリーダー"),
            skills=("writer",),
            raising_children=True,
            side_job=False,
            migrant=False,
            districts=("naze", "kasari"),
            session_id=town.s1.id,
            programme_who="attended",
            market_id=town.market.id,
            market_statuses=("accepted", "reserve"),
            round_id=town.round.id,
            round_who="not_responded",
        )
    )
    assert lines == [
        "タグ: 講師、コミュニティリーダーのいずれか",
        "職種・スキル: ライター",
        "子育て中: はい",
        "副業: いいえ",
        "地元／移住: 移住以外（地元・移住検討中）",
        "お住まいの地区: 名瀬、笠利のいずれか",
        "寺子屋・交流会: 「伝わる文章の書き方」11月26日(木) 15:00の回に出席した方",
        "ハンドメイドマーケット: 「秋のマーケット」に申し込んだ方（採択・補欠）",
        "アンケート: 「満足度調査」2026年度の未回答の方（回答途中を含む）",
    ]
    assert await segments.describe(
        Segment(programme_id=town.programme.id, market_id=town.market.id)
    ) == [
        "寺子屋・交流会: 「伝わる文章の書き方」のいずれかの回に申し込んだ方（申込済み）",
        "ハンドメイドマーケット: 「秋のマーケット」に申し込んだ方（入力中を除くすべて）",
    ]


async def test_describe_survives_deleted_targets(db: str) -> None:
    lines = await segments.describe(Segment(programme_id=98, market_id=97, round_id=96))
    assert lines == [
        "寺子屋・交流会: 削除された講座（#98）のいずれかの回に申し込んだ方（申込済み）",
        "ハンドメイドマーケット: 削除されたマーケット（#97）に申し込んだ方（入力中を除くすべて）",
        "アンケート: 削除されたアンケート（#96）の回答済みの方",
    ]
    assert await segments.count(Segment(programme_id=98)) == 0


# ---------- Size ----------


async def test_a_segment_of_thousands_is_one_query(db: str) -> None:
    """Many residents: the count and the ids come from the database in one statement each
    (no per-resident work; the benchmark of a 10,000-resident send is bench/announce_send.py)."""
    n = 3_000
    await Resident.bulk_create(
        [Resident(line_user_id=f"Ubulk{i:028d}", is_following=i % 10 != 0) for i in range(n)],
        batch_size=1_000,
    )
    ids: list[Any] = await Resident.filter(line_user_id__startswith="Ubulk").values_list(
        "id", flat=True
    )
    await ResidentProfile.bulk_create(
        [ResidentProfile(resident_id=i, skills=["web"] if i % 2 else []) for i in ids],
        batch_size=1_000,
    )
    segment = Segment(skills=("web",))
    following = await Resident.filter(line_user_id__startswith="Ubulk", is_following=True)
    expected = sum(1 for r in following if r.id % 2)
    assert await segments.count(segment) == expected
    sql = segments.residents(segment).sql()
    assert sql.count("SELECT") == 3  # residents, the profile subquery, its JSON EXISTS
