"""The audience builder: its form fields read into a segments.Segment (the compose form's POST
and the count endpoint's query use the same names), a Segment back into the fields the form
shows, and the choices the builder offers (tags, programmes and their sessions, markets,
survey rounds).

Fields: `audience` (all | segment); `tag`, `skill`, `district`, `market_status` (repeated);
`children`, `side_job`, `migrant` ("" = 問わない, yes, no); `course` (p<programme id> or
s<session id>) with `course_who` (registered | attended); `market` with `market_status`;
`round` with `round_who` (responded | not_responded). With `audience=all` the conditions are
kept on the form (switching back shows them) but not used."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from starlette.datastructures import ImmutableMultiDict

from admin.announce.common import when_text
from admin.forms import parse_int, short_text
from models.course import Programme, ProgrammeSession
from models.market import Market, MarketStatus
from models.survey import SurveyRound
from shima.domain import profiles, segments
from shima.domain.segments import Segment
from shima.timeutil import format_jst, now

ALL, SEGMENT = "all", "segment"
YES_NO = {"yes": True, "no": False}
MAX_VALUES = 60  # checkboxes read from one field (more is not a form of ours)
SESSIONS_SHOWN = 80  # the course select: sessions of the last year and upcoming ones
MARKETS_SHOWN = 30
ROUNDS_SHOWN = 30
SESSIONS_SINCE_DAYS = 365

YES_NO_LABELS = {
    "children": ("子育て中", {"": "問わない", "yes": "はい（子育て中）", "no": "いいえ"}),
    "side_job": ("副業", {"": "問わない", "yes": "はい（副業）", "no": "いいえ"}),
    "migrant": (
        "地元／移住",
        {"": "問わない", "yes": "移住", "no": "移住以外（地元・移住検討中）"},
    ),
}


# FormData and QueryParams alike: both give repeated fields.
Params = ImmutableMultiDict[str, Any]


def as_params(values: dict[str, Any]) -> Params:
    """The form's values (lists for repeated fields) as a submitted form gives them."""
    pairs: list[tuple[str, Any]] = []
    for key, value in values.items():
        pairs += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
    return ImmutableMultiDict(pairs)


def _many(params: Params, name: str) -> list[str]:
    values = params.getlist(name)[:MAX_VALUES]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _yes_no(params: Params, name: str) -> bool | None:
    return YES_NO.get(short_text(params, name, 3))


def _course(params: Params) -> tuple[int | None, int | None]:
    """`course` as (programme id, session id): p12 is a programme, s34 one session."""
    value = short_text(params, "course", 12)
    number = parse_int(value[1:])
    if value[:1] == "p" and number:
        return number, None
    if value[:1] == "s" and number:
        return None, number
    return None, None


def read(params: Params) -> tuple[Segment, dict[str, Any]]:
    """The segment the fields describe (everyone with `audience=all`) and the fields as the
    form shows them again. What no option of the form offers is dropped by
    Segment.from_json (the one place that cleans a segment), never stored."""
    programme_id, session_id = _course(params)
    kept = Segment.from_json(
        {
            "tags": _many(params, "tag"),
            "skills": _many(params, "skill"),
            "raising_children": _yes_no(params, "children"),
            "side_job": _yes_no(params, "side_job"),
            "migrant": _yes_no(params, "migrant"),
            "districts": _many(params, "district"),
            "programme_id": programme_id,
            "session_id": session_id,
            "programme_who": short_text(params, "course_who", 20),
            "market_id": parse_int(short_text(params, "market", 10)),
            "market_statuses": _many(params, "market_status"),
            "round_id": parse_int(short_text(params, "round", 10)),
            "round_who": short_text(params, "round_who", 20),
        }
    )
    everyone = short_text(params, "audience", 10) != SEGMENT
    return (Segment() if everyone else kept), values_of(kept, everyone=everyone)


MARKET_FIRST = "申込みの状態で絞り込むときは、ハンドメイドマーケットも選んでください。"


def problems(params: Params) -> dict[str, str]:
    """What the builder cannot mean, by field: statuses ticked without a market would
    narrow nothing (Segment ignores them), so the count would not be what staff expect."""
    if short_text(params, "audience", 10) != SEGMENT:
        return {}
    if _many(params, "market_status") and not parse_int(short_text(params, "market", 10)):
        return {"market": MARKET_FIRST}
    return {}


def _flag(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def values_of(segment: Segment, *, everyone: bool | None = None) -> dict[str, Any]:
    """The builder's fields for `segment` (as stored, or as typed)."""
    course = ""
    if segment.session_id:
        course = f"s{segment.session_id}"
    elif segment.programme_id:
        course = f"p{segment.programme_id}"
    return {
        "audience": ALL if (segment.is_everyone() if everyone is None else everyone) else SEGMENT,
        "tag": list(segment.tags),
        "skill": list(segment.skills),
        "children": _flag(segment.raising_children),
        "side_job": _flag(segment.side_job),
        "migrant": _flag(segment.migrant),
        "district": list(segment.districts),
        "course": course,
        "course_who": segment.programme_who,
        "market": str(segment.market_id or ""),
        "market_status": list(segment.market_statuses),
        "round": str(segment.round_id or ""),
        "round_who": segment.round_who,
    }


# ---------- The builder's choices ----------


@dataclass(frozen=True)
class CourseGroup:
    """A programme in the course select: itself (every session), then its sessions."""

    value: str
    label: str
    sessions: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Choices:
    tags: list[str]
    skills: list[tuple[str, str]]
    districts: list[tuple[str, str]]
    courses: list[CourseGroup]
    markets: list[tuple[str, str]]
    market_statuses: list[tuple[str, str]]
    rounds: list[tuple[str, str]]
    yes_no: dict[str, tuple[str, dict[str, str]]]
    course_who: dict[str, str]
    round_who: dict[str, str]


def _session_label(s: ProgrammeSession) -> str:
    return f"{when_text(s.starts_at)}の回"


async def _courses(chosen: str) -> list[CourseGroup]:
    """Programmes with their sessions of the last year and upcoming (and the chosen one,
    however old): newest first."""
    since = now() - timedelta(days=SESSIONS_SINCE_DAYS)
    sessions = list(
        await ProgrammeSession.filter(starts_at__gte=since)
        .order_by("-starts_at", "-id")
        .limit(SESSIONS_SHOWN)
    )
    chosen_id = parse_int(chosen[1:]) if chosen.startswith("s") else None
    if chosen_id and all(s.id != chosen_id for s in sessions):
        old = await ProgrammeSession.get_or_none(id=chosen_id)
        sessions += [old] if old else []
    by_programme: dict[int, list[tuple[str, str]]] = {}
    for s in sessions:
        by_programme.setdefault(s.programme_id, []).append((f"s{s.id}", _session_label(s)))
    programmes = await Programme.all().order_by("is_archived", "-id")
    return [
        CourseGroup(
            f"p{p.id}",
            f"{p.kind.label}「{p.title}」",
            by_programme.get(p.id, []),
        )
        for p in programmes
    ]


async def _markets(chosen: str) -> list[tuple[str, str]]:
    found = list(
        await Market.exclude(status=MarketStatus.DRAFT)
        .order_by("-starts_at", "-id")
        .limit(MARKETS_SHOWN)
    )
    chosen_id = parse_int(chosen)
    if chosen_id and all(m.id != chosen_id for m in found):
        old = await Market.get_or_none(id=chosen_id)
        found += [old] if old else []
    return [(str(m.id), f"{m.name}（{format_jst(m.starts_at, '%Y/%m/%d')}）") for m in found]


async def _rounds(chosen: str) -> list[tuple[str, str]]:
    found = list(
        await SurveyRound.all()
        .order_by("-opens_at", "-id")
        .limit(ROUNDS_SHOWN)
        .prefetch_related("survey")
    )
    chosen_id = parse_int(chosen)
    if chosen_id and all(r.id != chosen_id for r in found):
        old = await SurveyRound.get_or_none(id=chosen_id).prefetch_related("survey")
        found += [old] if old else []
    return [(str(r.id), f"{r.survey}（{r.title}）") for r in found]


async def choices(values: dict[str, Any]) -> Choices:
    """What the builder offers, with the values' own choices kept (a tag no one has any
    more, an old session) so an edit shows what was chosen."""
    tags = await profiles.tags_in_use()
    tags += [t for t in values.get("tag", []) if t not in tags]
    return Choices(
        tags=tags,
        skills=list(profiles.SKILLS.items()),
        districts=list(profiles.DISTRICTS.items()),
        courses=await _courses(str(values.get("course", ""))),
        markets=await _markets(str(values.get("market", ""))),
        market_statuses=list(segments.MARKET_STATUSES.items()),
        rounds=await _rounds(str(values.get("round", ""))),
        yes_no=YES_NO_LABELS,
        course_who=segments.PROGRAMME_WHO,
        round_who=segments.ROUND_WHO,
    )
