"""Erasing one resident (`make bench`; issue 12's figure): a resident with 1,000 webhook events
and as many outbox rows and chat messages, among many other residents, erased with
shima.domain.personal_data.erase and the parts the app wires (shima.areas.personal_data).

Each run gets a fresh migrated database (SQLite file, or a PostgreSQL database created beside
`--database-url` and dropped afterwards), filled in this process with bulk inserts:

- `--others` residents (default 2,000), each with `--other-events` webhook events, outbox rows
  and chat messages (default 20 each), and `--audit` audit entries (default 20,000) — staff
  views of residents and searches, some by name — so the erasure works among a day's tables;
- `--runs` residents to erase (default 5), each with `--events` webhook events (default
  1,000; mentioning their name and phone), as many sent outbox rows and chat messages (one
  message in 20 a picture: a file under the data folder), 10 past bookings with a phone
  number, 10 attended 寺子屋 sessions, a market application with 3 photos, a survey
  response, a profile, tags, 50 audit entries about them and 5 searches for their name.

Then each of them is erased in turn, timed (the whole transaction and the files' removal);
the first one is exported (export_zip) before, timed too. Printed: each erasure, the median,
min and max, the export's time and size, and a check that the erased resident's rows hold
neither the name nor the LINE id any more.

    .venv/bin/python bench/erase_resident.py
    .venv/bin/python bench/erase_resident.py --database-url postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/erase_resident.py --events 5000 --others 10000
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from webhook import Databases, migrate, run_main

BATCH = 5000
PHONE = "090-1234-5678"


def _jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=85)
    return out.getvalue()


async def _bulk(model: Any, rows: list[Any]) -> None:
    for start in range(0, len(rows), BATCH):
        await model.bulk_create(rows[start : start + BATCH])


Rows = tuple[list[Any], list[Any], list[Any]]


async def _insert(rows: Rows) -> None:
    from models.chat import ChatMessage
    from models.inbox import InboxEvent
    from models.outbox import OutboxMessage

    for model, found in zip((InboxEvent, OutboxMessage, ChatMessage), rows, strict=True):
        await _bulk(model, found)
        found.clear()


def _traffic(
    rows: Rows, resident_id: int, user: str, name: str, n: int, pictures: int, tag: str
) -> None:
    """Adds `n` webhook events, sent outbox rows and chat messages of one resident to `rows`
    (every `pictures`-th chat message a picture file in the data folder, when pictures > 0)."""
    from models.chat import ChatKind, ChatMessage, Direction, Sender
    from models.inbox import InboxEvent, InboxStatus
    from models.outbox import OutboxMessage, OutboxStatus
    from shima.timeutil import now

    at = now() - timedelta(days=30)
    events, messages, chat = rows
    folder = Path("data") / "chat" / "in"
    picture = _jpeg((200, 120, 80), (320, 240)) if pictures else b""
    for i in range(n):
        words = f"{name}です。電話は{PHONE}です。（{i}）"
        events.append(
            InboxEvent(
                webhook_event_id=f"{tag}{i:08d}",
                line_user_id=user,
                event_type="message",
                payload={
                    "type": "message",
                    "source": {"type": "user", "userId": user},
                    "message": {"id": f"{tag}{i}", "type": "text", "text": words},
                    "replyToken": uuid.uuid4().hex,
                },
                reply_token=None,
                event_time=at,
                received_at=at,
                status=InboxStatus.DONE,
                attempts=1,
                processed_at=at,
            )
        )
        messages.append(
            OutboxMessage(
                line_user_id=user,
                messages=[{"type": "text", "text": f"{name}さん、ありがとうございます。"}],
                retry_key=str(uuid.uuid4()),
                kind="reply",
                status=OutboxStatus.SENT,
                next_attempt_at=at,
                sent_via="reply",
                sent_at=at,
                created_at=at,
            )
        )
        image = pictures and i % pictures == 0
        image_name = f"{tag}{i}.jpg" if image else ""
        if image:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / image_name).write_bytes(picture)
        chat.append(
            ChatMessage(
                resident_id=resident_id,
                direction=Direction.IN,
                sender=Sender.RESIDENT,
                kind=ChatKind.IMAGE if image else ChatKind.TEXT,
                text="" if image else words,
                image_path=image_name,
                line_message_id=f"{tag}{i}",
                created_at=at,
            )
        )


async def _areas(resident_id: int, name: str, n: int, world: dict[str, Any]) -> None:
    """One resident's rows in every area (past ones: nothing blocks the erasure)."""
    from models.audit import AuditLog
    from models.consultation import Booking, BookingStatus, Method, Topic
    from models.course import Attendance, Registration
    from models.market import ApplicationStatus, MarketApplication, MarketPhoto
    from models.profiles import ResidentProfile, ResidentTag
    from models.survey import SurveyAnswer, SurveyResponse
    from shima.timeutil import now

    await Booking.bulk_create(
        [
            Booking(
                resident_id=resident_id,
                slot_id=slot,
                topic=Topic.START,
                method=Method.PHONE,
                note=f"{name}より",
                phone=PHONE,
                status=BookingStatus.ATTENDED,
            )
            for slot in world["slots"]
        ]
    )
    await Registration.bulk_create(
        [
            Registration(
                session_id=session,
                resident_id=resident_id,
                attendance=Attendance.PRESENT,
                comment=f"{name}: よかったです",
                satisfaction=5,
            )
            for session in world["sessions"]
        ]
    )
    application = await MarketApplication.create(
        market_id=world["market"],
        resident_id=resident_id,
        status=ApplicationStatus.ACCEPTED,
        artist_name=f"{name}工房",
        items="アクセサリー",
    )
    for k in range(3):
        await MarketPhoto.create(
            line_message_id=f"p{resident_id}-{k}",
            resident_id=resident_id,
            application_id=application.id,
            data=world["photo"],
            thumb=world["photo"],
            width=640,
            height=480,
            size=len(world["photo"]),
        )
    at = now() - timedelta(days=3)
    response = await SurveyResponse.create(
        round_id=world["round"], resident_id=resident_id, started_at=at, answered_at=at
    )
    await SurveyAnswer.bulk_create(
        [
            SurveyAnswer(response_id=response.id, question_id=q, number=4, answered_at=at)
            for q in world["questions"]
        ]
    )
    await ResidentProfile.create(
        resident_id=resident_id, occupation=f"{name}のライター", residency="migrant"
    )
    await ResidentTag.create(resident_id=resident_id, tag="講師")
    entries = [
        AuditLog(
            staff_email="bench@example.jp",
            action="resident.view",
            target_type="resident",
            target_id=str(resident_id),
            created_at=at,
        )
        for _ in range(n)
    ] + [
        AuditLog(
            staff_email="bench@example.jp",
            action="resident.list",
            target_type="resident",
            detail={"q": name, "page": 1},
            created_at=at,
        )
        for _ in range(5)
    ]
    await AuditLog.bulk_create(entries)


async def _shared() -> dict[str, Any]:
    """Slots, sessions, a market and a survey round the residents' rows point to."""
    from models.consultation import ConsultationSlot
    from models.course import Programme, ProgrammeKind, ProgrammeSession, SessionStatus
    from models.market import Market
    from models.survey import SurveyQuestion, SurveyRound
    from shima.domain.survey_standard import standard_survey
    from shima.timeutil import now

    past = now() - timedelta(days=40)
    slots = [
        await ConsultationSlot.create(
            starts_at=past + timedelta(days=i),
            ends_at=past + timedelta(days=i, minutes=50),
            capacity=1000,
        )
        for i in range(10)
    ]
    programme = await Programme.create(kind=ProgrammeKind.TERAKOYA, title="寺子屋")
    sessions = [
        await ProgrammeSession.create(
            programme=programme,
            starts_at=past + timedelta(days=i),
            ends_at=past + timedelta(days=i, hours=2),
            seats=1000,
            deadline=past,
            status=SessionStatus.PUBLISHED,
        )
        for i in range(10)
    ]
    market = await Market.create(
        name="マーケット",
        starts_at=past,
        ends_at=past + timedelta(hours=6),
        venue="名瀬",
        applications_open_at=past - timedelta(days=30),
        applications_close_at=past - timedelta(days=10),
        booths=1000,
    )
    survey = await standard_survey()
    round_ = await SurveyRound.create(
        survey=survey, title="前年度", opens_at=past, closes_at=past + timedelta(days=20)
    )
    questions = await SurveyQuestion.filter(survey_id=survey.id).values_list("id", flat=True)
    return {
        "slots": [s.id for s in slots],
        "sessions": [s.id for s in sessions],
        "market": market.id,
        "round": round_.id,
        "questions": list(questions)[:5],
        "photo": _jpeg((90, 140, 200)),
    }


async def fill(args: argparse.Namespace) -> list[tuple[int, str, str]]:
    """The data; returns the residents to erase (id, LINE id, name)."""
    from models.audit import AuditLog
    from models.residents import Resident
    from shima.timeutil import now

    world = await _shared()
    at = now()
    others = [
        Resident(
            line_user_id="U" + uuid.uuid4().hex,
            display_name=f"島 太郎{i}",
            created_at=at,
            updated_at=at,
        )
        for i in range(args.others)
    ]
    await _bulk(Resident, others)
    other_ids = await Resident.all().order_by("id").values_list("id", "line_user_id")
    rows: Rows = ([], [], [])
    for n, (rid, user) in enumerate(other_ids):
        _traffic(rows, rid, user, f"島 太郎{n}", args.other_events, 0, f"o{rid}-")
        if len(rows[0]) >= BATCH:
            await _insert(rows)
    await _insert(rows)
    await _bulk(
        AuditLog,
        [
            AuditLog(
                staff_email="bench@example.jp",
                action="resident.list" if i % 4 == 0 else "resident.view",
                target_type="resident",
                target_id="" if i % 4 == 0 else str(other_ids[i % len(other_ids)][0]),
                detail={"q": f"島 太郎{i % len(other_ids)}", "page": 1} if i % 4 == 0 else {},
                created_at=at,
            )
            for i in range(args.audit)
        ],
    )
    targets = []
    for run in range(args.runs):
        name = f"奄美 花子{run}"
        resident = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name)
        _traffic(rows, resident.id, resident.line_user_id, name, args.events, 20, f"t{run}n")
        await _insert(rows)
        await _areas(resident.id, name, 50, world)
        targets.append((resident.id, resident.line_user_id, name))
    return targets


async def _left_over(resident_id: int, user: str, name: str) -> int:
    """Rows of the erased resident that still hold the name or the LINE id."""
    from models.chat import ChatMessage
    from models.inbox import InboxEvent
    from models.outbox import OutboxMessage

    return (
        await InboxEvent.filter(line_user_id=user).count()
        + await OutboxMessage.filter(line_user_id=user).count()
        + await ChatMessage.filter(resident_id=resident_id, text__contains=name).count()
    )


async def bench(args: argparse.Namespace, work: Path) -> int:
    from tortoise import Tortoise

    from models.chat import ChatMessage
    from models.inbox import InboxEvent
    from models.residents import Resident
    from shima import areas as registry
    from shima.db import init as init_db
    from shima.domain import personal_data

    os.chdir(work)  # the data folder (chat pictures) under the scratch folder
    databases = Databases(args.database_url or None)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    try:
        url = await databases.fresh(work)
        await migrate(url, work)
        await init_db(url)
        try:
            t0 = time.perf_counter()
            targets = await fill(args)
            conn = Tortoise.get_connection("default")
            await conn.execute_script("ANALYZE")
            filled = time.perf_counter() - t0
            print(
                f"filled in {filled:.1f} s: {await Resident.all().count():,} residents, "
                f"{await InboxEvent.all().count():,} webhook events (and as many outbox rows), "
                f"{await ChatMessage.all().count():,} chat messages"
            )
            parts = registry.personal_data()
            first = await Resident.get(id=targets[0][0])
            t0 = time.perf_counter()
            data = await personal_data.export_zip(first, parts)
            exported = time.perf_counter() - t0
            times = []
            left = 0
            for resident_id, user, name in targets:
                resident = await Resident.get(id=resident_id)
                t0 = time.perf_counter()
                await personal_data.erase(resident, parts)
                times.append(time.perf_counter() - t0)
                left += await _left_over(resident_id, user, name)
            pictures = list((Path("data") / "chat" / "in").glob("t*"))
        finally:
            await Tortoise.close_connections()
    finally:
        await databases.drop_all()
    ms = [t * 1000 for t in times]
    print(f"\n{backend}: erasing a resident with {args.events:,} webhook events")
    for n, value in enumerate(ms, start=1):
        print(f"  run {n}: {value:,.0f} ms")
    print(
        f"  median {statistics.median(ms):,.0f} ms (min {min(ms):,.0f}, max {max(ms):,.0f}) "
        f"over {len(ms)} residents"
    )
    print(f"  export of one (ZIP before erasure): {exported * 1000:,.0f} ms, {len(data):,} bytes")
    ok = left == 0 and not pictures
    print(f"  afterwards: {left} rows with their name or LINE id, {len(pictures)} pictures left")
    return 0 if ok else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="webhook events of each erased")
    parser.add_argument("--others", type=int, default=2000, help="other residents")
    parser.add_argument("--other-events", type=int, default=20, help="events of each other one")
    parser.add_argument("--audit", type=int, default=20000, help="other audit entries")
    parser.add_argument("--runs", type=int, default=5, help="residents erased (one per run)")
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres: a fresh "
        "database is created beside this one and dropped afterwards (default: SQLite)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    args.rounds = args.runs
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    if min(args.events, args.others, args.runs) < 1 or min(args.other_events, args.audit) < 0:
        parser.error("--events, --others and --runs must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    headline = "Erasing residents in {work} ({rounds} runs)…"
    return run_main(args, "shima-erase-", headline, bench)


if __name__ == "__main__":
    sys.exit(main())
