"""Who an お知らせ配信 goes to: a segment of the residents the account may reach, built from
tags, profile attributes, a programme's registrants or attendees, a market's applicants and a
survey round's respondents — the one place for what each condition means.

Reachable (`reachable`): following the account, not opted out of announcements
(マイページ → お知らせの受け取り), not erased. Nobody else is ever counted or sent to.

Every condition given narrows (AND); inside a list condition any value matches (OR):
- `tags`: has any of the tags.
- `skills`, `districts`: the profile has any of the skills / lives in any of the districts.
- `raising_children`, `side_job`: True = answered はい, False = answered いいえ (residents who
  have not told are in neither).
- `migrant`: True = residency 移住; False = residency told and not 移住 (地元 or 移住検討中).
- `programme_id` / `session_id`: "registered" = a confirmed registration (申込済み: holding
  its seat) at any session of the programme, or at that one session. The waitlist (キャンセル
  待ち) and seats offered but not yet accepted (繰り上げ案内中) are not registrants: they have
  not got a seat. "attended" = marked 出席 on such a registration (the notion of
  shima.domain.goals' attendance). Walk-ins have no LINE account and are never reached.
- `market_id`: an application to that market with one of `market_statuses`; with no statuses,
  any application that was submitted (every status but 入力中: an unfinished draft is not an
  applicant). A status listed explicitly counts as given, 入力中 included.
- `round_id`: "responded" = answered the round to the end (回答済み); "not_responded" = no
  completed response (never started, or stopped midway: 回答途中 is not an answer).

Every condition is a subquery of ids, so a segment is one query whatever its size; nothing is
read per resident. Only known codes are ever put into SQL (`Segment.from_json` drops the rest,
and `residents` filters again)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, fields
from typing import Any

from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.queryset import QuerySet

from models.course import (
    Attendance,
    Programme,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
)
from models.market import ApplicationStatus, Market, MarketApplication
from models.profiles import ResidentProfile, ResidentTag
from models.residents import Resident
from models.survey import ResponseStatus, SurveyResponse, SurveyRound
from shima.domain.profiles import DISTRICTS, SKILLS, TAG_MAX
from shima.timeutil import format_date_ja, format_jst

REGISTERED = "registered"
ATTENDED = "attended"
RESPONDED = "responded"
NOT_RESPONDED = "not_responded"
# The choices the admin offers, with their Japanese labels.
PROGRAMME_WHO: dict[str, str] = {REGISTERED: "申込者（申込済み）", ATTENDED: "出席者"}
ROUND_WHO: dict[str, str] = {
    RESPONDED: "回答済みの方",
    NOT_RESPONDED: "未回答の方（回答途中を含む）",
}
MARKET_STATUSES: dict[str, str] = {s.value: s.label for s in ApplicationStatus}
# A market's applicants when no status is chosen: everything submitted.
SUBMITTED = tuple(s for s in ApplicationStatus if s != ApplicationStatus.DRAFT)
MAX_TAGS = 20


@dataclass(frozen=True)
class Segment:
    tags: tuple[str, ...] = ()  # any of these tags
    skills: tuple[str, ...] = ()  # any of these skill codes (shima.domain.profiles.SKILLS)
    raising_children: bool | None = None
    side_job: bool | None = None
    migrant: bool | None = None  # profile residency == "migrant"
    districts: tuple[str, ...] = ()  # any of (shima.domain.profiles.DISTRICTS codes)
    programme_id: int | None = None  # 寺子屋・交流会 programme (models.course)
    session_id: int | None = None  # or one session of it
    programme_who: str = REGISTERED  # "registered" | "attended"
    market_id: int | None = None
    market_statuses: tuple[str, ...] = ()  # application statuses (models.market); () = any
    round_id: int | None = None  # survey round
    round_who: str = RESPONDED  # "responded" | "not_responded"

    def is_everyone(self) -> bool:
        """No condition narrows it: every reachable resident. (`programme_who`,
        `market_statuses` and `round_who` only qualify a programme, market or round.)"""
        return not (
            self.tags
            or self.skills
            or self.districts
            or self._profile_flags()
            or self._programme_given()
            or self.market_id is not None
            or self.round_id is not None
        )

    def _profile_flags(self) -> bool:
        return any(v is not None for v in (self.raising_children, self.side_job, self.migrant))

    def _programme_given(self) -> bool:
        return self.programme_id is not None or self.session_id is not None

    def to_json(self) -> dict[str, Any]:
        """The conditions given, as stored in Announcement.audience ({} = everyone)."""
        found: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            found[f.name] = list(value) if isinstance(value, tuple) else value
        return found

    @classmethod
    def from_json(cls, data: Any) -> Segment:
        """A segment from stored or submitted JSON; unknown keys and bad values are dropped
        (an old row or a hand-made request never breaks the page or widens nothing it
        should not: a dropped value is simply no condition)."""
        if not isinstance(data, dict):
            return cls()
        return cls(
            tags=_tags(data.get("tags")),
            skills=_codes(data.get("skills"), SKILLS),
            raising_children=_flag(data.get("raising_children")),
            side_job=_flag(data.get("side_job")),
            migrant=_flag(data.get("migrant")),
            districts=_codes(data.get("districts"), DISTRICTS),
            programme_id=_id(data.get("programme_id")),
            session_id=_id(data.get("session_id")),
            programme_who=_choice(data.get("programme_who"), PROGRAMME_WHO, REGISTERED),
            market_id=_id(data.get("market_id")),
            market_statuses=_codes(data.get("market_statuses"), MARKET_STATUSES),
            round_id=_id(data.get("round_id")),
            round_who=_choice(data.get("round_who"), ROUND_WHO, RESPONDED),
        )


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _tags(value: Any) -> tuple[str, ...]:
    found: list[str] = []
    for item in _items(value):
        if not isinstance(item, str):
            continue
        tag = unicodedata.normalize("NFKC", item).strip()
        if tag and len(tag) <= TAG_MAX and tag not in found:
            found.append(tag)
    return tuple(found[:MAX_TAGS])


def _codes(value: Any, known: dict[str, str]) -> tuple[str, ...]:
    chosen = {item for item in _items(value) if isinstance(item, str)}
    return tuple(code for code in known if code in chosen)  # the list's own order


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and 0 < value < 2**31 else None


def _choice(value: Any, known: dict[str, str], default: str) -> str:
    return value if isinstance(value, str) and value in known else default


# ---------- Selecting ----------


def reachable() -> QuerySet[Resident]:
    """Residents an announcement may go to: following, not opted out, not erased."""
    return Resident.filter(is_following=True, announcements_opt_out=False, erased_at__isnull=True)


def residents(segment: Segment) -> QuerySet[Resident]:
    """The reachable residents meeting every condition of `segment`, ordered by id."""
    query = reachable()
    for condition in _conditions(segment):
        query = query.filter(condition)
    return query.order_by("id")


async def count(segment: Segment) -> int:
    return await residents(segment).count()


def _ids(query: QuerySet[Any], column: str = "resident_id") -> Subquery:
    return Subquery(query.values(column))


def _conditions(s: Segment) -> list[Q]:
    found: list[Q] = []
    if s.tags:
        found.append(Q(id__in=_ids(ResidentTag.filter(tag__in=list(s.tags)))))
    profile = _profile_query(s)
    if profile is not None:
        found.append(Q(id__in=_ids(profile)))
    if s._programme_given():
        found.append(Q(id__in=_ids(_registrations(s))))
    if s.market_id is not None:
        statuses = [x for x in s.market_statuses if x in MARKET_STATUSES] or list(SUBMITTED)
        applied = MarketApplication.filter(market_id=s.market_id, status__in=statuses)
        found.append(Q(id__in=_ids(applied)))
    if s.round_id is not None:
        completed = SurveyResponse.filter(round_id=s.round_id, status=ResponseStatus.COMPLETED)
        answered = Q(id__in=_ids(completed))
        found.append(answered if s.round_who == RESPONDED else ~answered)
    return found


def _profile_query(s: Segment) -> QuerySet[ResidentProfile] | None:
    """Profiles meeting the profile conditions (None when there are none)."""
    if not (s.skills or s.districts or s._profile_flags()):
        return None
    query = ResidentProfile.all()
    if s.raising_children is not None:
        query = query.filter(raising_children=s.raising_children)
    if s.side_job is not None:
        query = query.filter(side_job=s.side_job)
    if s.migrant is True:
        query = query.filter(residency="migrant")
    elif s.migrant is False:
        query = query.filter(residency__in=["local", "considering"])
    districts = [d for d in s.districts if d in DISTRICTS]
    if s.districts:
        query = query.filter(district__in=districts)
    skills = [c for c in s.skills if c in SKILLS]
    if s.skills:
        query = query.annotate(any_skill=RawSQL(_any_skill_sql(skills))).filter(any_skill=True)
    return query


def _any_skill_sql(codes: list[str]) -> str:
    """SQL true when the profile's skills (a JSON list) hold any of `codes` — known skill
    codes only (ASCII words, checked by the callers), written as literals."""
    if not codes or any(c not in SKILLS for c in codes):
        return "(1 = 0)"
    listed = ", ".join(f"'{c}'" for c in codes)
    column = '"resident_profiles"."skills"'
    dialect = str(ResidentProfile._meta.db.capabilities.dialect)
    if dialect == "postgres":
        elements = f"jsonb_array_elements_text({column}) AS e(value)"
    elif dialect == "sqlite":
        elements = f"json_each({column}) AS e"
    else:
        raise NotImplementedError(f"segments: no JSON list expression for {dialect}")
    return f"EXISTS (SELECT 1 FROM {elements} WHERE e.value IN ({listed}))"


def _registrations(s: Segment) -> QuerySet[Registration]:
    query = Registration.filter(status=RegistrationStatus.REGISTERED, resident_id__isnull=False)
    if s.programme_id is not None:
        query = query.filter(session__programme_id=s.programme_id)
    if s.session_id is not None:
        query = query.filter(session_id=s.session_id)
    if s.programme_who == ATTENDED:
        query = query.filter(attendance=Attendance.PRESENT)
    return query


# ---------- Describing ----------


async def describe(segment: Segment) -> list[str]:
    """The segment's conditions as staff read them, one Japanese line each (names of the
    programme, session, market and round; labels of skills and districts)."""
    s = segment
    if s.is_everyone():
        return ["友だち全員（お知らせの受け取りを止めた方を除く）"]
    lines: list[str] = []
    if s.tags:
        lines.append(f"タグ: {_any_of(s.tags)}")
    if s.skills:
        lines.append(f"職種・スキル: {_any_of([SKILLS[c] for c in s.skills if c in SKILLS])}")
    for label, value in (("子育て中", s.raising_children), ("副業", s.side_job)):
        if value is not None:
            lines.append(f"{label}: {'はい' if value else 'いいえ'}")
    if s.migrant is not None:
        lines.append("地元／移住: " + ("移住" if s.migrant else "移住以外（地元・移住検討中）"))
    if s.districts:
        lines.append(f"お住まいの地区: {_any_of([DISTRICTS[d] for d in s.districts])}")
    if s._programme_given():
        lines.append(await _programme_line(s))
    if s.market_id is not None:
        lines.append(await _market_line(s))
    if s.round_id is not None:
        lines.append(await _round_line(s))
    return lines


def _any_of(labels: Any) -> str:
    items = list(labels)
    return "、".join(items) + ("のいずれか" if len(items) > 1 else "")


async def _programme_line(s: Segment) -> str:
    who = "出席した方" if s.programme_who == ATTENDED else "申し込んだ方（申込済み）"
    if s.session_id is not None:
        session = await ProgrammeSession.get_or_none(id=s.session_id).prefetch_related("programme")
        if session is None:
            return f"寺子屋・交流会: 削除された開催回（#{s.session_id}）に{who}"
        when = f"{format_date_ja(session.starts_at)} {format_jst(session.starts_at, '%H:%M')}"
        return f"寺子屋・交流会: 「{session.programme.title}」{when}の回に{who}"
    programme = await Programme.get_or_none(id=s.programme_id)
    title = f"「{programme.title}」" if programme else f"削除された講座（#{s.programme_id}）"
    return f"寺子屋・交流会: {title}のいずれかの回に{who}"


async def _market_line(s: Segment) -> str:
    market = await Market.get_or_none(id=s.market_id)
    name = f"「{market.name}」" if market else f"削除されたマーケット（#{s.market_id}）"
    if s.market_statuses:
        statuses = "・".join(MARKET_STATUSES[x] for x in s.market_statuses)
        return f"ハンドメイドマーケット: {name}に申し込んだ方（{statuses}）"
    return f"ハンドメイドマーケット: {name}に申し込んだ方（入力中を除くすべて）"


async def _round_line(s: Segment) -> str:
    found = await SurveyRound.get_or_none(id=s.round_id).prefetch_related("survey")
    if found is None:
        name = f"削除されたアンケート（#{s.round_id}）"
    else:
        name = f"「{found.survey}」{found.title}"
    return f"アンケート: {name}の{ROUND_WHO[s.round_who]}"
