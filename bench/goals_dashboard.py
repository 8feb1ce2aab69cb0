"""The plan's goals dashboard and a survey round's results page with 10,000 residents, 50,000
attendance rows and 5,000 responses: page times (`make bench`; issue 11's figures).

Each run gets a fresh migrated database (SQLite file, or a PostgreSQL database created beside
`--database-url` and dropped afterwards) filled in this process with bulk inserts:

- `--residents` residents (default 10,000), each with a profile: 地元／移住 (with the year)／
  移住検討中, freelance income and its band, 子育て, 副業, skills, district;
- six programmes (寺子屋, ワークショップ and 交流会, two each) with past sessions from the plan's
  start (2025-04-01) until last week, and `--attendance` registrations on them (default 50,000:
  ~75 % 出席, some 欠席, 未記録 and cancelled, ~3 % walk-ins), the sessions' counters agreeing;
- the standard 満足度調査 (shima.domain.survey_standard) with this fiscal year's round open now,
  `--responses` responses to it (default 5,000; 90 % completed, the rest stopped part way), one
  answer row per question shown (the conditions and value conventions of the LINE flow), and
  the previous year's round with a tenth as many;
- tags: `--leaders` コミュニティリーダー and some 講師.

Then `shima serve` runs exactly as the Procfile starts it (one process with its worker; a real
channel's settings, LINE at an address where nothing listens — nothing is sent), a staff member
signs in over HTTP, and each page is requested `--requests` times in a row after three warm-up
requests: p50, p95 and max of the time to the whole response. Target: p50 < 200 ms for the
dashboard and the results page.

    .venv/bin/python bench/goals_dashboard.py
    .venv/bin/python bench/goals_dashboard.py --database-url postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/goals_dashboard.py --residents 1000 --attendance 5000 --responses 500
    .venv/bin/python bench/goals_dashboard.py --profile   # also time the domain calls in-process
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
from webhook import (
    HOST,
    SECRET_KEY,
    Databases,
    child_env,
    cpu_seconds,
    free_port,
    migrate,
    percentile,
    run_main,
    start_servers,
    tail,
)

EMAIL, PASSWORD = "bench@example.jp", "bench-password-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
P50_TARGET_MS = 200.0
PLAN_START = date(2025, 4, 1)
BATCH = 5000


# ---- the data ---------------------------------------------------------------------------


@dataclass
class Filled:
    round_id: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def pick_weighted(rng: random.Random, weights: Mapping[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def fake_profile(rng: random.Random, this_year: int) -> dict[str, Any]:
    from shima.domain import profiles

    residency = pick_weighted(rng, {"local": 50, "migrant": 35, "considering": 10, "": 5})
    income = rng.random() < 0.55
    return {
        "residency": residency,
        "moved_year": rng.randint(2010, this_year) if residency == "migrant" else None,
        "freelance_income": income if rng.random() < 0.9 else None,
        "income_band": rng.choice(list(profiles.INCOME_BANDS)) if income else "",
        "raising_children": rng.random() < 0.35,
        "side_job": rng.random() < 0.3,
        "skills": sorted(rng.sample(list(profiles.SKILLS), rng.randint(0, 3))),
        "district": rng.choice(list(profiles.DISTRICTS)),
    }


async def fill(database_url: str, args: argparse.Namespace) -> Filled:
    """Everything above, into the migrated database at `database_url`."""
    from tortoise import Tortoise

    from admin.passwords import create_staff
    from models.consultation import BookedBy
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
        ResponseStatus,
        SurveyAnswer,
        SurveyQuestion,
        SurveyResponse,
        SurveyRound,
    )
    from shima.db import init as init_db
    from shima.domain import profiles
    from shima.domain.survey_standard import standard_survey
    from shima.timeutil import JST, fiscal_year_of, jst_datetime, now, today_jst

    rng = random.Random(11)
    t0 = time.perf_counter()
    today = today_jst()
    this_year = today.year
    filled = Filled()
    await init_db(database_url)
    try:
        await create_staff(EMAIL, PASSWORD, role="admin", display_name="ベンチ")

        # Residents and their profiles.
        n = args.residents
        for start in range(0, n, BATCH):
            await Resident.bulk_create(
                [
                    Resident(
                        line_user_id=f"U{i:032x}",
                        display_name=f"利用者{i:05d}",
                        first_followed_at=now() - timedelta(days=rng.randint(1, 600)),
                    )
                    for i in range(start, min(n, start + BATCH))
                ]
            )
        ids: list[Any] = await Resident.all().order_by("id").values_list("id", flat=True)
        resident_ids = [int(i) for i in ids]
        profile_of: dict[int, dict[str, Any]] = {}
        rows: list[Any] = []
        stamp = {"on": (today - timedelta(days=30)).isoformat(), "by": profiles.BY_RESIDENT}
        for rid in resident_ids:
            p = fake_profile(rng, this_year)
            profile_of[rid] = p
            told = {name: stamp for name in p if p[name] not in ("", None)}
            rows.append(ResidentProfile(resident_id=rid, filled=told, **p))
        for start in range(0, len(rows), BATCH):
            await ResidentProfile.bulk_create(rows[start : start + BATCH])

        # Programmes, past sessions and the attendance on them.
        kinds = (ProgrammeKind.TERAKOYA, ProgrammeKind.WORKSHOP, ProgrammeKind.MEETUP)
        programmes = [
            await Programme.create(kind=kind, title=f"{kind.label} {k + 1}", fee=0)
            for kind in kinds
            for k in range(2)
        ]
        per_session = 50
        sessions_needed = max(1, args.attendance // per_session)
        first = jst_datetime(PLAN_START)
        last = jst_datetime(today - timedelta(days=7))
        step = (last - first) / sessions_needed
        sessions = []
        for s in range(sessions_needed):
            starts = (first + step * s).astimezone(JST).replace(hour=10, minute=0)
            sessions.append(
                ProgrammeSession(
                    programme_id=programmes[s % len(programmes)].id,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    seats=per_session + 10,
                    deadline=starts - timedelta(days=1),
                    status=SessionStatus.PUBLISHED,
                )
            )
        for start in range(0, len(sessions), BATCH):
            await ProgrammeSession.bulk_create(sessions[start : start + BATCH])
        saved = await ProgrammeSession.all().order_by("id").values_list("id", "starts_at")
        registrations = []
        taken: dict[int, int] = {}
        remaining = args.attendance
        for index, (sid, starts) in enumerate(saved):
            count = per_session if index < len(saved) - 1 else remaining
            remaining -= count
            for k, rid in enumerate(rng.sample(resident_ids, min(count, len(resident_ids)))):
                walk_in = rng.random() < 0.03
                status = (
                    RegistrationStatus.CANCELLED
                    if rng.random() < 0.05
                    else RegistrationStatus.REGISTERED
                )
                attendance = Attendance.UNKNOWN
                if status == RegistrationStatus.REGISTERED:
                    attendance = pick_weighted(
                        rng,
                        {Attendance.PRESENT: 80, Attendance.ABSENT: 10, Attendance.UNKNOWN: 10},
                    )
                if walk_in:
                    status, attendance = RegistrationStatus.REGISTERED, Attendance.PRESENT
                if status == RegistrationStatus.REGISTERED:
                    taken[sid] = taken.get(sid, 0) + 1
                registrations.append(
                    Registration(
                        session_id=sid,
                        resident_id=None if walk_in else rid,
                        walk_in_name=f"当日参加{k}" if walk_in else "",
                        status=status,
                        active_key=f"{sid}:{rid}"
                        if status == RegistrationStatus.REGISTERED and not walk_in
                        else None,
                        registered_by=BookedBy.STAFF if walk_in else BookedBy.RESIDENT,
                        registered_at=starts - timedelta(days=3),
                        attendance=attendance,
                        attendance_by="staff" if attendance != Attendance.UNKNOWN else "",
                        attendance_at=starts if attendance != Attendance.UNKNOWN else None,
                        reminder_queued_at=starts - timedelta(days=1),
                        followup_queued_at=starts + timedelta(hours=3),
                    )
                )
            if len(registrations) >= BATCH:
                await Registration.bulk_create(registrations)
                registrations = []
        if registrations:
            await Registration.bulk_create(registrations)
        conn = Tortoise.get_connection("default")
        for sid, count in taken.items():
            await ProgrammeSession.filter(id=sid).update(taken=count)

        # The standard survey: last year's round and this year's, open now.
        survey = await standard_survey()
        questions = list(await SurveyQuestion.filter(survey_id=survey.id).order_by("position"))
        year = fiscal_year_of(today)
        last_round = await SurveyRound.create(
            survey=survey,
            title=f"{year - 1}年度",
            opens_at=jst_datetime(date(year - 1, 11, 1)),
            closes_at=jst_datetime(date(year - 1, 12, 31)),
        )
        this_round = await SurveyRound.create(
            survey=survey,
            title=f"{year}年度",
            opens_at=now() - timedelta(days=14),
            closes_at=now() + timedelta(days=42),
        )
        filled.round_id = this_round.id
        await respond(
            rng,
            last_round,
            rng.sample(resident_ids, min(len(resident_ids), args.responses // 10)),
            questions,
            profile_of,
        )
        await respond(
            rng,
            this_round,
            rng.sample(resident_ids, min(len(resident_ids), args.responses)),
            questions,
            profile_of,
        )

        # Tags.
        tags = [
            ResidentTag(resident_id=rid, tag=profiles.LEADER_TAG, created_by=EMAIL)
            for rid in rng.sample(resident_ids, min(len(resident_ids), args.leaders))
        ] + [
            ResidentTag(resident_id=rid, tag="講師", created_by=EMAIL)
            for rid in rng.sample(resident_ids, min(len(resident_ids), args.leaders * 5))
        ]
        await ResidentTag.bulk_create(tags)

        await conn.execute_script("ANALYZE")  # planner statistics, as after a day in production
        filled.counts = {
            "residents": await Resident.all().count(),
            "profiles": await ResidentProfile.all().count(),
            "sessions": await ProgrammeSession.all().count(),
            "registrations": await Registration.all().count(),
            "present": await Registration.filter(attendance=Attendance.PRESENT).count(),
            "responses": await SurveyResponse.filter(round_id=this_round.id).count(),
            "completed": await SurveyResponse.filter(
                round_id=this_round.id, status=ResponseStatus.COMPLETED
            ).count(),
            "answers": await SurveyAnswer.all().count(),
            "tags": await ResidentTag.all().count(),
        }
    finally:
        await Tortoise.close_connections()
    filled.seconds = time.perf_counter() - t0
    return filled


async def respond(
    rng: random.Random,
    round_: Any,
    resident_ids: list[int],
    questions: list[Any],
    profile_of: dict[int, dict[str, Any]],
) -> None:
    """A response per resident with one answer per question shown, consistent with their
    profile (90 % completed; the rest stopped part way)."""
    from models.survey import (
        QuestionKind,
        QuestionRole,
        ResponseStatus,
        SurveyAnswer,
        SurveyResponse,
    )

    span = max((round_.closes_at - round_.opens_at).total_seconds(), 1.0)
    limit = min(span, (datetime.now(UTC) - round_.opens_at).total_seconds())
    plans = []
    for rid in resident_ids:
        started = round_.opens_at + timedelta(seconds=rng.uniform(0, max(limit - 3600, 1)))
        stop = len(questions) if rng.random() < 0.9 else rng.randint(1, len(questions) - 1)
        plans.append((rid, started, stop))
    done, partway = ResponseStatus.COMPLETED, ResponseStatus.IN_PROGRESS
    responses = [
        SurveyResponse(
            round_id=round_.id,
            resident_id=rid,
            status=done if stop == len(questions) else partway,
            started_at=started,
            answered_at=started + timedelta(minutes=3),
            completed_at=started + timedelta(minutes=3) if stop == len(questions) else None,
            reminder_queued_at=None if stop == len(questions) else started + timedelta(days=3),
        )
        for rid, started, stop in plans
    ]
    for start in range(0, len(responses), BATCH):
        await SurveyResponse.bulk_create(responses[start : start + BATCH])
    ids = dict(await SurveyResponse.filter(round_id=round_.id).values_list("resident_id", "id"))
    happiness = {1: 3, 2: 7, 3: 18, 4: 42, 5: 30}
    eleven = {v: w for v, w in zip(range(11), (1, 1, 2, 4, 6, 10, 16, 22, 20, 10, 8), strict=True)}
    answers: list[Any] = []
    for rid, started, stop in plans:
        p = profile_of[rid]
        given: dict[int, Any] = {}
        for question in questions[:stop]:
            if question.show_if_id is not None:
                earlier = given.get(question.show_if_id)
                if isinstance(earlier, bool):
                    earlier = "yes" if earlier else "no"
                if earlier is None or str(earlier) not in question.show_if_values:
                    continue
            role, kind = QuestionRole(question.role), QuestionKind(question.kind)
            row: dict[str, Any] = {}
            if kind == QuestionKind.SCALE5:
                row["number"] = pick_weighted(rng, happiness)
            elif kind == QuestionKind.SCALE11:
                row["number"] = pick_weighted(rng, eleven)
            elif role == QuestionRole.FREELANCE_INCOME:
                given[question.id] = bool(p["freelance_income"])
                row["number"] = int(given[question.id])
            elif role == QuestionRole.CHILDREN:
                row["number"] = int(p["raising_children"])
            elif role == QuestionRole.SIDE_JOB:
                row["number"] = int(p["side_job"])
            elif role == QuestionRole.INCOME_BAND:
                row = {"text": p["income_band"]} if p["income_band"] else {"skipped": True}
            elif role == QuestionRole.RESIDENCY:
                given[question.id] = p["residency"] or "local"
                row["text"] = given[question.id]
            elif role == QuestionRole.MOVED_YEAR:
                row["number"] = p["moved_year"] or 2020
            elif role == QuestionRole.SKILLS:
                row["values"] = p["skills"] or ["other"]
            elif kind == QuestionKind.TEXT:
                row = (
                    {"text": "島での仕事がしやすくなりました。"}
                    if rng.random() < 0.3
                    else {"skipped": True}
                )
            elif kind == QuestionKind.YESNO:
                row["number"] = rng.randint(0, 1)
            elif kind == QuestionKind.SINGLE:
                row["text"] = rng.choice(question.choices)["value"]
            elif kind == QuestionKind.MULTI:
                row["values"] = [rng.choice(question.choices)["value"]]
            else:
                row["number"] = 2020
            at = started + timedelta(seconds=10 * question.position)
            answers.append(
                SurveyAnswer(response_id=ids[rid], question_id=question.id, answered_at=at, **row)
            )
        if len(answers) >= BATCH:
            await SurveyAnswer.bulk_create(answers)
            answers = []
    if answers:
        await SurveyAnswer.bulk_create(answers)


# ---- the pages --------------------------------------------------------------------------


@dataclass
class Timing:
    label: str
    path: str
    times_ms: list[float]
    size: int
    target: bool  # a page with the p50 target
    server_cpu_ms: float = float("nan")  # the server process's CPU per request

    @property
    def p50(self) -> float:
        return percentile(self.times_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.times_ms, 95)

    @property
    def max(self) -> float:
        return max(self.times_ms)


def pages(filled: Filled, extra: list[str]) -> list[tuple[str, str, bool]]:
    """(label, path, has the target) for each page measured."""
    listed = [
        ("goals dashboard", "/admin/goals", True),
        ("survey round results", f"/admin/surveys/rounds/{filled.round_id}", True),
    ]
    for item in extra:
        label, _, path = item.partition("=")
        listed.append((label, path.replace("{round_id}", str(filled.round_id)), False))
    return listed


async def sign_in(client: httpx2.AsyncClient) -> None:
    page = await client.get("/admin/login")
    token = CSRF.search(page.text)
    assert token, f"no login form ({page.status_code})"
    response = await client.post(
        "/admin/login", data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD}
    )
    assert response.status_code == 303, response.text[:300]


async def measure(
    client: httpx2.AsyncClient, label: str, path: str, n: int, target: bool, pid: int
) -> Timing:
    for _ in range(3):  # warm-up
        response = await client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
    times = []
    size = 0
    cpu0 = cpu_seconds(pid)
    for _ in range(n):
        t0 = time.perf_counter()
        response = await client.get(path)
        size = len(response.content)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    cpu_ms = (cpu_seconds(pid) - cpu0) * 1000 / n
    return Timing(label, path, times, size, target, cpu_ms)


# ---- in-process profile of the domain calls ----------------------------------------------


async def profile_domain(database_url: str, filled: Filled, n: int) -> list[tuple[str, float]]:
    """The domain calls behind the pages, timed in this process (median of `n`, after one
    warm-up): which one dominates a slow page. A call whose module is not there is left out."""
    from tortoise import Tortoise

    from models.survey import SurveyRound
    from shima.db import init as init_db

    await init_db(database_url)
    results: list[tuple[str, float]] = []
    try:
        calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
        with contextlib.suppress(ImportError):
            from shima.domain import goals

            plan = await goals.plan()
            calls.append(("goals.board(plan)  — the dashboard", lambda: goals.board(plan)))
            for number in goals.NUMBERS:
                calls.append((f"  goals.goal(plan, {number})", partial(goals.goal, plan, number)))
            for number in goals.NUMBERS:
                calls.append((f"goals.people(plan, {number})", partial(goals.people, plan, number)))
            calls.append(("goals.yearly_report(plan)", lambda: goals.yearly_report(plan)))
        with contextlib.suppress(ImportError):
            from shima.domain import survey_results

            round_ = await SurveyRound.get(id=filled.round_id)
            calls.append(
                (
                    "survey_results.round_results(round)  — the results page",
                    lambda: survey_results.round_results(round_),
                )
            )
            calls += results_parts(survey_results, round_)
        for label, call in calls:
            await call()  # warm-up
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                await call()
                times.append((time.perf_counter() - t0) * 1000)
            results.append((label, percentile(times, 50)))
    finally:
        await Tortoise.close_connections()
    return results


def results_parts(module: Any, round_: Any) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """The breakdowns by profile attribute on their own (the part of round_results that
    reads the profiles)."""
    from models.survey import QuestionRole, SurveyQuestion

    async def breakdowns() -> Any:
        roles = dict(
            await SurveyQuestion.filter(survey_id=round_.survey_id).values_list("role", "id")
        )
        figures = module.FigureQuestions(
            roles.get(QuestionRole.HAPPINESS),
            roles.get(QuestionRole.WB_HAPPINESS),
            roles.get(QuestionRole.WB_LIFE),
        )
        return await module.breakdowns(round_.id, figures)

    return [("  survey_results.breakdowns", breakdowns)]


# ---- one run ----------------------------------------------------------------------------


async def run_once(args: argparse.Namespace, work: Path, dbs: Databases) -> None:
    run_dir = work / "run"
    run_dir.mkdir()
    database_url = await dbs.fresh(run_dir)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    await migrate(database_url, run_dir)
    filled = await fill(database_url, args)
    c = filled.counts
    print(
        f"{backend}: {c['residents']:,} residents with profiles, {c['registrations']:,} "
        f"registrations on {c['sessions']:,} past sessions ({c['present']:,} 出席), "
        f"{c['responses']:,} responses to the open round ({c['completed']:,} completed), "
        f"{c['answers']:,} answers in all, {c['tags']:,} tags — filled in {filled.seconds:.1f} s",
        flush=True,
    )
    if args.profile:
        print("\nDomain calls in-process (median of 5):")
        for name, median_ms in await profile_domain(database_url, filled, 5):
            print(f"  {name:<64}{median_ms:8.1f} ms", flush=True)
    if args.fill_only:
        return
    env = child_env(
        LINE_CHANNEL_SECRET="bench-channel-secret",
        LINE_CHANNEL_ACCESS_TOKEN="bench-access-token",
        LINE_API_BASE_URL=f"http://{HOST}:9",  # nothing is sent; nothing listens there
        SECRET_KEY=SECRET_KEY,
        SHIMA_ALLOWED_HOSTS=f"{HOST},localhost",
        SHIMA_SECURE_COOKIES="false",  # plain http on loopback
        DATABASE_URL=database_url,
    )
    env.update(item.split("=", 1) for item in args.project_env)
    port = free_port()
    timings: list[Timing] = []
    with contextlib.ExitStack() as stack:
        servers, server_log = await start_servers(stack, "project", [port], env, run_dir, False)
        pid = servers[0].pid
        async with httpx2.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=60) as client:
            await sign_in(client)
            for label, path, target in pages(filled, args.page):
                try:
                    timed = await measure(client, label, path, args.requests, target, pid)
                    timings.append(timed)
                except (RuntimeError, AssertionError) as exc:
                    print(f"  {label}: {exc}\n{tail(server_log, 10)}", flush=True)
    report(timings, args, backend)


def report(timings: list[Timing], args: argparse.Namespace, backend: str) -> None:
    print()
    print(
        f"Goals dashboard and survey results — {args.residents:,} residents, "
        f"{args.attendance:,} attendance rows, {args.responses:,} responses; {backend}, "
        f"shima serve ×1; {args.requests} requests each after 3 warm-up"
    )
    header = (
        f"  {'page':<24}{'p50':>10}{'p95':>10}{'max':>10}{'CPU/req':>10}{'size':>8}"
        f"  p50 < {P50_TARGET_MS:.0f} ms"
    )
    print(header)
    print("  " + "─" * (len(header) - 2))
    for t in timings:
        verdict = ("PASS" if t.p50 < P50_TARGET_MS else "MISS") if t.target else "—"
        print(
            f"  {t.label:<24}{t.p50:>7.1f} ms{t.p95:>7.1f} ms{t.max:>7.1f} ms"
            f"{t.server_cpu_ms:>7.1f} ms{t.size / 1024:>5.0f} KB  {verdict:<6}{t.path}"
        )
    print(
        "  (CPU/req: the server process's CPU time per request — what the page costs, "
        "whatever else the machine is doing)"
    )


# ---- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--attendance", type=int, default=50_000)
    parser.add_argument("--responses", type=int, default=5_000)
    parser.add_argument(
        "--leaders", type=int, default=12, help="residents tagged コミュニティリーダー"
    )
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument(
        "--page",
        action="append",
        default=[
            "goal 1's people=/admin/goals/1/people",
            "yearly report (print)=/admin/goals/report",
            "admin top (dashboard)=/admin/",
        ],
        metavar="LABEL=PATH",
        help="an extra page to time ({round_id} is filled in)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres: a fresh "
        "database is created beside this one and dropped afterwards (default: SQLite)",
    )
    parser.add_argument(
        "--project-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server (diagnosis, e.g. SHIMA_RUN_WORKER=false)",
    )
    parser.add_argument("--profile", action="store_true", help="time the domain calls too")
    parser.add_argument("--fill-only", action="store_true", help="build the data, serve nothing")
    parser.add_argument("--keep", action="store_true", help="keep the logs and SQLite file")
    args = parser.parse_args(argv)
    args.rounds = 1
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    if min(args.residents, args.attendance, args.responses, args.requests) < 1:
        parser.error("--residents, --attendance, --responses and --requests must be positive")
    for item in args.project_env:
        if "=" not in item:
            parser.error(f"--project-env wants NAME=VALUE, not {item!r}")
    if args.responses > args.residents:
        parser.error("--responses cannot exceed --residents (one response per resident)")
    return args


async def bench(args: argparse.Namespace, work: Path) -> int:
    dbs = Databases(args.database_url or None)
    try:
        await run_once(args, work, dbs)
    finally:
        await dbs.drop_all()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(args, "shima-goals-", "Goals dashboard bench in {work}…", bench)


if __name__ == "__main__":
    sys.exit(main())
