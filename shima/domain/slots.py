"""相談枠 lifecycle rules: planning slots from a weekly pattern, creating one slot, what may
change on a slot that holds bookings, and removing one; plus the area's demo data. Seats are
counted by shima.domain.consultation (booked_count is only ever written through its rules).

Called by the admin inside its transaction; the admin adds the resident notices and the
audit record in the same transaction. Problems are returned as the Japanese sentences staff
see, like BookingError.message."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise import connections

from models.consultation import Booking, BookingMove, BookingStatus, ConsultationSlot, Method
from shima.domain.calendar import closed_days
from shima.domain.calendar import closed_reason as closed_reason
from shima.timeutil import JST, jst_datetime, now, short_date, today_jst

MAX_PATTERN_DAYS = 366  # a weekly pattern covers at most a year
MAX_PATTERN_SLOTS = 3000  # and creates at most this many slots at once

# How the bookings of a slot are handled when staff change its time or remove it.
NOTIFY = "notify"  # edit: keep the bookings, tell the residents the new time
CANCEL = "cancel"  # edit or removal: cancel the bookings with a notice
MOVE = "move"  # removal: move the bookings to another slot
EDIT_ACTIONS = frozenset({NOTIFY, CANCEL})
REMOVAL_ACTIONS = frozenset({CANCEL, MOVE})


class SlotChanged(Exception):
    """Someone booked the slot while staff were editing or removing it."""


class SlotRefused(Exception):
    """A new slot broke a rule; `problems` are the sentences staff are shown."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems


class TooManySlots(Exception):
    """A weekly pattern would create more than MAX_PATTERN_SLOTS slots."""


# ---------- What a slot is made of ----------


@dataclass(frozen=True)
class SlotSpec:
    """One slot as staff describe it (JST day and times)."""

    day: date
    start: time
    end: time
    counsellor: str
    methods: tuple[Method, ...]
    capacity: int
    note: str

    @property
    def starts_at(self) -> datetime:
        return jst_datetime(self.day, self.start)

    @property
    def ends_at(self) -> datetime:
        return jst_datetime(self.day, self.end)

    @property
    def methods_value(self) -> str:
        return ",".join(m.value for m in self.methods)

    def columns(self) -> dict[str, Any]:
        """The slot's stored fields, for create and update alike."""
        return {
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "counsellor": self.counsellor,
            "methods": self.methods_value,
            "capacity": self.capacity,
            "note": self.note,
        }

    def moves(self, slot: ConsultationSlot) -> bool:
        """Whether saving this changes the slot's time (its bookings must be handled)."""
        return (self.starts_at, self.ends_at) != (slot.starts_at, slot.ends_at)


# ---------- Overlap and the past: the rules every new or moved slot obeys ----------
#
# Two slots overlap when they have the same counsellor (compared by counsellor_key: 「森」,
# 「森（キャリア相談員）」 and 「森 」 are one person; a blank name is one "担当未定" person too),
# both are active (not removed), and their times intersect:
# a.starts_at < b.ends_at and b.starts_at < a.ends_at (10:00–11:00 and 11:00–12:00 touch,
# they do not overlap). A slot for several people at once is one slot with a capacity.


def counsellor_label(name: str) -> str:
    return name or "担当未定"


def counsellor_key(name: str) -> str:
    """Who a counsellor name means, for the overlap rule: width and case folded (NFKC),
    spaces dropped, and a role note in brackets after the name ignored — staff type 「森」
    for the slot called 「森（キャリア相談員）」."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"\s+", "", folded.split("(", 1)[0])


def same_counsellor(a: str, b: str) -> bool:
    return counsellor_key(a) == counsellor_key(b)


async def known_counsellors(limit: int = 50) -> list[str]:
    """Counsellor names on active slots (most used first), offered by the slot forms so staff
    pick the spelling already in use."""
    names = (
        await ConsultationSlot.filter(is_active=True)
        .exclude(counsellor="")
        .values_list("counsellor", flat=True)
    )
    counts: dict[str, int] = {}
    for name in names:
        counts[str(name)] = counts.get(str(name), 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))[:limit]


def times_overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


async def overlapping(
    counsellor: str, starts_at: datetime, ends_at: datetime, exclude_id: int | None = None
) -> list[ConsultationSlot]:
    """The active slots of `counsellor` (same_counsellor) whose time intersects
    [starts_at, ends_at). The time window is narrow, so the names are compared here."""
    found = ConsultationSlot.filter(is_active=True, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if exclude_id is not None:
        found = found.exclude(id=exclude_id)
    return [
        s
        for s in await found.order_by("starts_at", "id")
        if same_counsellor(s.counsellor, counsellor)
    ]


def slot_span(starts_at: datetime, ends_at: datetime) -> str:
    """「12/8(火) 10:00〜11:00」 for staff-facing sentences."""
    start, end = starts_at.astimezone(JST), ends_at.astimezone(JST)
    return f"{short_date(start.date())} {start:%H:%M}〜{end:%H:%M}"


def overlap_sentence(
    counsellor: str, times: tuple[datetime, datetime], other: ConsultationSlot
) -> str:
    if (other.starts_at, other.ends_at) == times:
        return "同じ日時・担当の相談枠がすでにあります。"
    return (
        f"{counsellor_label(counsellor)}さんの相談枠（{slot_span(other.starts_at, other.ends_at)}）"
        "と時間が重なります。同じ担当の枠は重ねられません（同時に複数の方を受けるときは定員を"
        "増やしてください）。"
    )


def is_past(starts_at: datetime, at: datetime | None = None) -> bool:
    """A slot starting now or earlier is in the past for creating and moving."""
    return starts_at <= (at or now())


def past_sentence(starts_at: datetime) -> str:
    local = starts_at.astimezone(JST)
    return (
        f"{short_date(local.date())} {local:%H:%M} はすでに過ぎています。"
        "過去の日時には相談枠を作れません。"
    )


async def lock_counsellor(counsellor: str) -> None:
    """Serialise slot writes for one counsellor until the caller's transaction ends, so two
    staff saving overlapping slots at the same moment cannot both pass the overlap check:
    on PostgreSQL a transaction-scoped advisory lock on the name; SQLite runs one transaction
    at a time anyway."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [f"consult.slot:{counsellor_key(counsellor)}"],
        )


async def spec_problems(spec: SlotSpec, exclude_id: int | None = None) -> list[str]:
    """What stops a slot at this time: the past, a closed day, an overlapping slot of the
    same counsellor (`exclude_id`: the slot being edited)."""
    if is_past(spec.starts_at):
        return [past_sentence(spec.starts_at)]
    reason = await closed_reason(spec.day)
    if reason:
        return [f"{short_date(spec.day)}は休館日（{reason}）です。別の日を選んでください。"]
    others = await overlapping(spec.counsellor, spec.starts_at, spec.ends_at, exclude_id)
    if others:
        return [overlap_sentence(spec.counsellor, (spec.starts_at, spec.ends_at), others[0])]
    return []


async def next_free_hour(
    day: date | None = None, open_hour: int = 9, close_hour: int = 17, at: datetime | None = None
) -> tuple[date, time, time]:
    """The new-slot form's default: the first whole hour from the next full hour on (or
    from `open_hour` of a later `day`) within the desk's hours, on an open day, with no
    active slot overlapping it; searched 14 days ahead, else that first candidate."""
    at = at or now()
    local = at.astimezone(JST)
    first = (local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(JST)
    if day is not None and jst_datetime(day, time(open_hour)) > first:
        first = jst_datetime(day, time(open_hour))
    horizon = first + timedelta(days=14)
    taken = [
        (s.starts_at, s.ends_at)
        for s in await ConsultationSlot.filter(
            is_active=True, starts_at__lt=horizon, ends_at__gt=first
        )
    ]
    closed = await closed_days(first.date(), horizon.date())
    candidate = first
    while candidate < horizon:
        hour = candidate.hour
        if candidate.date() in closed or hour + 1 > close_hour:
            candidate = jst_datetime(candidate.date() + timedelta(days=1), time(open_hour))
            continue
        if hour < open_hour:
            candidate = jst_datetime(candidate.date(), time(open_hour))
            continue
        span = (candidate, candidate + timedelta(hours=1))
        if not any(times_overlap(span, t) for t in taken):
            break
        candidate += timedelta(hours=1)
    else:
        candidate = first
    return candidate.date(), candidate.time(), (candidate + timedelta(hours=1)).time()


async def active_bookings(slot_id: int) -> list[Booking]:
    return (
        await Booking.filter(slot_id=slot_id, status=BookingStatus.BOOKED)
        .select_related("resident")
        .order_by("id")
    )


# ---------- Planning from a weekly pattern ----------


@dataclass(frozen=True)
class WeeklyPattern:
    first: date
    last: date
    weekdays: frozenset[int]  # 0 = 月
    start: time
    end: time
    minutes: int
    capacity: int
    methods: str  # stored form: "visit,online"
    counsellor: str = ""
    note: str = ""


@dataclass
class PatternPlan:
    """What a weekly pattern creates: `slots` (not stored yet); left out: the closed days
    (with their reason), times already past, identical slots, and slots that would overlap
    an existing slot of the same counsellor (with the slot they would overlap)."""

    slots: list[ConsultationSlot] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[tuple[date, str]] = field(default_factory=list)
    past: int = 0
    overlaps: list[tuple[datetime, datetime, ConsultationSlot]] = field(default_factory=list)

    @property
    def created(self) -> int:
        return len(self.slots)


def pattern_times(
    day: date, start: time, end: time, minutes: int
) -> list[tuple[datetime, datetime]]:
    """Whole slots of `minutes` between start and end (JST), as UTC (start, end) pairs."""
    times = []
    at = datetime.combine(day, start, tzinfo=JST)
    stop = datetime.combine(day, end, tzinfo=JST)
    step = timedelta(minutes=minutes)
    while at + step <= stop:
        times.append((at.astimezone(UTC), (at + step).astimezone(UTC)))
        at += step
    return times


async def plan_pattern(p: WeeklyPattern) -> PatternPlan:
    """Plan the slots of a weekly pattern: closed days, past times, identical slots and
    overlaps with the counsellor's existing slots are skipped. Stores nothing."""
    plan = PatternPlan()
    closed = await closed_days(p.first, p.last)
    at = now()
    theirs = [
        s
        for s in await ConsultationSlot.filter(
            is_active=True,
            starts_at__lt=jst_datetime(p.last + timedelta(days=1)),
            ends_at__gt=jst_datetime(p.first),
        ).order_by("starts_at", "id")
        if same_counsellor(s.counsellor, p.counsellor)
    ]
    existing = {(s.starts_at, s.ends_at) for s in theirs}
    day = p.first
    while day <= p.last:
        if day.weekday() in p.weekdays:
            if day in closed:
                plan.skipped.append((day, closed[day]))
            else:
                for starts_at, ends_at in pattern_times(day, p.start, p.end, p.minutes):
                    if is_past(starts_at, at):
                        plan.past += 1
                        continue
                    if (starts_at, ends_at) in existing:
                        plan.duplicates += 1
                        continue
                    other = next(
                        (
                            s
                            for s in theirs
                            if times_overlap((starts_at, ends_at), (s.starts_at, s.ends_at))
                        ),
                        None,
                    )
                    if other is not None:
                        plan.overlaps.append((starts_at, ends_at, other))
                        continue
                    plan.slots.append(
                        ConsultationSlot(
                            starts_at=starts_at,
                            ends_at=ends_at,
                            counsellor=p.counsellor,
                            methods=p.methods,
                            capacity=p.capacity,
                            note=p.note,
                        )
                    )
        day += timedelta(days=1)
    return plan


async def create_from_pattern(p: WeeklyPattern) -> PatternPlan:
    """Plan and store a weekly pattern's slots (inside the caller's transaction, the
    counsellor locked); raises TooManySlots (nothing stored)."""
    await lock_counsellor(p.counsellor)
    plan = await plan_pattern(p)
    if plan.created > MAX_PATTERN_SLOTS:
        raise TooManySlots
    if plan.slots:
        await ConsultationSlot.bulk_create(plan.slots, batch_size=500)
    return plan


# ---------- One slot: create, edit, remove ----------


async def create_slot(spec: SlotSpec) -> ConsultationSlot:
    """Not in the past, not on a closed day, not overlapping a slot of the same counsellor
    (see spec_problems; call inside a transaction, the counsellor is locked until it ends);
    raises SlotRefused."""
    await lock_counsellor(spec.counsellor)
    problems = await spec_problems(spec)
    if problems:
        raise SlotRefused(problems)
    return await ConsultationSlot.create(**spec.columns())


async def edit_problems(
    slot: ConsultationSlot, bookings: list[Booking], spec: SlotSpec, action: str, reason: str
) -> list[str]:
    """What stops this edit: for a new time, the past and a closed day; for a new time or
    counsellor, an overlap with the counsellor's other slots; room and methods for the
    bookings it keeps; and when a booked slot's time changes, how its bookings are handled
    and why."""
    problems = []
    moved = spec.moves(slot)
    cancelling = bool(bookings) and moved and action == CANCEL
    if moved:
        problems += await spec_problems(spec, exclude_id=slot.id)
    elif not same_counsellor(spec.counsellor, slot.counsellor):
        others = await overlapping(spec.counsellor, spec.starts_at, spec.ends_at, slot.id)
        if others:
            problems.append(
                overlap_sentence(spec.counsellor, (spec.starts_at, spec.ends_at), others[0])
            )
    if not cancelling:
        if len(bookings) > spec.capacity:
            problems.append(f"予約が{len(bookings)}件あるため、定員はそれより少なくできません。")
        missing = {Method(b.method) for b in bookings} - set(spec.methods)
        if missing:
            labels = "・".join(m.label for m in sorted(missing, key=list(Method).index))
            problems.append(f"予約で選ばれている相談方法（{labels}）は外せません。")
    if bookings and moved:
        if action not in EDIT_ACTIONS:
            problems.append("日時を変えるときは、入っている予約の扱いを選んでください。")
        elif not reason:
            problems.append("利用者にお知らせする理由を入力してください。")
    return problems


async def update_slot(slot: ConsultationSlot, spec: SlotSpec) -> None:
    """Save an edit checked by edit_problems; raises SlotChanged when a booking arrived since
    and no longer fits (the capacity condition is part of the UPDATE), and SlotRefused when
    an overlapping slot of the counsellor was saved meanwhile (checked again under the
    counsellor's lock)."""
    if spec.moves(slot) or not same_counsellor(spec.counsellor, slot.counsellor):
        await lock_counsellor(spec.counsellor)
        others = await overlapping(spec.counsellor, spec.starts_at, spec.ends_at, slot.id)
        if others:
            raise SlotRefused(
                [overlap_sentence(spec.counsellor, (spec.starts_at, spec.ends_at), others[0])]
            )
    changed = await ConsultationSlot.filter(
        id=slot.id, is_active=True, booked_count__lte=spec.capacity
    ).update(**spec.columns())
    if changed != 1:
        raise SlotChanged


def removal_problems(
    bookings: list[Booking], action: str, reason: str, target: int | None
) -> list[str]:
    """A slot with bookings is removed only once staff said what happens to them, and why."""
    if not bookings:
        return []
    if action not in REMOVAL_ACTIONS:
        return ["入っている予約の扱いを選んでください。"]
    if not reason:
        return ["利用者にお知らせする理由を入力してください。"]
    if action == MOVE and target is None:
        return ["移動先の相談枠を選んでください。"]
    return []


async def remove_slot(slot: ConsultationSlot) -> None:
    """Delete a slot nobody ever booked; keep (deactivated) one with booking history (a
    booking, or a move from or to it). Its
    active bookings must be cancelled or moved first; raises SlotChanged if one is left."""
    history = (
        await Booking.exists(slot_id=slot.id)
        or await BookingMove.exists(from_slot_id=slot.id)
        or await BookingMove.exists(to_slot_id=slot.id)
    )
    if history:
        removed = await ConsultationSlot.filter(id=slot.id, booked_count=0).update(is_active=False)
    else:
        removed = await ConsultationSlot.filter(id=slot.id, booked_count=0).delete()
    if removed != 1:
        raise SlotChanged


# ---------- Demo data ----------

DEMO_COUNSELLORS = ("田中（コミュニティマネージャー）", "森（キャリア相談員）")
DEMO_TIMES = (time(10), time(11), time(13), time(14), time(15), time(16))


async def seed_demo() -> str:
    """One-to-one slots on open weekdays for the next 14 days (skips what exists)."""
    today = today_jst()
    closed = await closed_days(today, today + timedelta(days=14))
    created = 0
    for offset in range(1, 15):
        day: date = today + timedelta(days=offset)
        if day.weekday() >= 5 or day in closed:
            continue
        for index, at in enumerate(DEMO_TIMES):
            starts = jst_datetime(day, at)
            if await ConsultationSlot.exists(starts_at=starts):
                continue
            await ConsultationSlot.create(
                starts_at=starts,
                ends_at=starts + timedelta(minutes=50),
                counsellor=DEMO_COUNSELLORS[(offset + index) % 2],
                methods="visit,online,phone" if index % 3 else "visit,online",
            )
            created += 1
    return f"相談枠 {created}件" if created else ""
