"""Residents' data rights (shima.domain.personal_data), with the parts as the app wires them
(`app.state.personal_data`): a resident with data in every area — their webhook events
through the signed webhook and the worker, their pictures fetched from the fake LINE platform
into the data folder, staff's messages through line_app.notices.chat, the areas' rows as each
area stores them — is exported and erased.

- Erasure: afterwards every row of every table Tortoise knows, and every file of the data
  folder, is searched for their name, their LINE id and phone-like strings: none is found;
  the plan's goals show the same figures; nothing is queued or sent to the pseudonym.
- Export: for every table with a resident, resident_id or line_user_id column, the export
  has as many rows as the table holds about them (a new table without an export fails), and
  the ZIP holds a CSV (BOM) and a JSON per table, the photos and the readme.
- Blocked: an upcoming booking, a sign-up and an application in hand stop the erasure with a
  reason each, and nothing changes; once staff cancel them it goes through.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image
from tortoise import Tortoise
from tortoise.models import Model
from tortoise.transactions import in_transaction

from admin.chat import images as chat_images
from line_app import outbox, profiles
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from line_app.notices import chat as chat_notices
from models.announcements import (
    Announcement,
    AnnouncementBatch,
    AnnouncementRecipient,
    AnnouncementStatus,
    BatchStatus,
    RecipientStatus,
)
from models.audit import AuditLog
from models.chat import ChatMessage
from models.consultation import (
    BookedBy,
    Booking,
    BookingMove,
    BookingStatus,
    CancelledBy,
    ConsultationSlot,
    Method,
    Topic,
)
from models.conversation import ConversationState
from models.course import (
    Attendance,
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.inbox import InboxEvent, InboxStatus
from models.market import ApplicationStatus, Market, MarketApplication, MarketPhoto, MarketReview
from models.outbox import OutboxMessage, OutboxStatus
from models.privacy import DataRequest, RequestKind
from models.profiles import ResidentProfile
from models.residents import PSEUDONYM_PREFIX, Resident
from models.staff import StaffUser
from models.survey import Survey, SurveyAnswer
from shima import areas as registry
from shima.domain import consultation, goals, market, personal_data
from shima.domain import course as course_rules
from shima.domain import profiles as profile_rules
from shima.domain.personal_data import ErasureBlocked, Part
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker
from tests.line_app import events
from tests.shima.domain.survey_fixtures import kinds_survey, open_round, respond

SECRET = "test-channel-secret"
NAME = "奄美 花子"
PHONE = "090-1234-5678"
ARTIST = "花子工房"
# A Japanese phone number, with or without hyphens, not inside a longer run of letters,
# digits, underscores or hyphens (a UUID's groups, a webhook id, a token).
PHONE_LIKE = re.compile(r"(?<![0-9A-Za-z_-])0\d{1,4}-?\d{1,4}-?\d{3,4}(?![0-9A-Za-z_-])")


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pictures go under ./data: each test in its own folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Worker]:
    line = LineClient(settings)
    yield Worker(settings, line)
    await line.close()


def jpeg(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "JPEG")
    return out.getvalue()


def parts_of(client: httpx2.AsyncClient) -> tuple[Part, ...]:
    parts: tuple[Part, ...] = client.app.state.personal_data  # type: ignore[attr-defined]
    return parts


# ---------- the resident's world ----------


@dataclass
class World:
    resident: Resident
    other: Resident
    user: str  # the resident's LINE id
    picture: Path  # their picture in the chat
    staff_pictures: list[Path]  # the picture staff sent them (original, preview)
    counts: dict[str, int]


async def _post(client: httpx2.AsyncClient, *body: dict[str, Any]) -> None:
    answer = await events.post(client, SECRET, *body)
    assert answer.status_code == 200


async def _conversation(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker, user: str
) -> None:
    """Follow, a message with the name and phone (handed to the desk), a picture, マイページ."""
    await _post(client, events.follow(user, fake_line.issue_reply_token(user)))
    await worker.drain()
    token = fake_line.issue_reply_token(user)
    await _post(client, events.text(user, token, f"{NAME}です。電話は{PHONE}です。"))
    await worker.drain()
    message_id = str(uuid.uuid4().int)[:18]
    fake_line.add_content(message_id, jpeg())
    picture = events.text(user, fake_line.issue_reply_token(user), "")
    picture["message"] = {"id": message_id, "type": "image", "contentProvider": {"type": "line"}}
    await _post(client, picture)
    await worker.drain()
    await _post(client, events.text(user, fake_line.issue_reply_token(user), "マイページ"))
    await worker.drain()


async def _chat_from_staff(resident: Resident, staff: StaffUser) -> list[Path]:
    """A picture and a text from staff (left pending: the erasure cancels them)."""
    name = chat_images.store(jpeg("blue"))
    base = "https://testserver/admin/chat/public"
    await chat_notices.send(
        resident, staff.id, "n-picture", image=(f"{base}/{name}.jpg", f"{base}/{name}_p.jpg")
    )
    await chat_notices.send(
        resident, staff.id, "n-text", body=f"{NAME}様、{PHONE}に折り返しお電話します。"
    )
    return [
        chat_notices.media_path("out", f"{name}.jpg"),
        chat_notices.media_path("out", f"{name}_p.jpg"),
    ]


async def _consult(resident: Resident) -> list[Booking]:
    start = now() - timedelta(days=3)
    slot = await ConsultationSlot.create(
        starts_at=start, ends_at=start + timedelta(minutes=50), counsellor="田中", booked_count=1
    )
    other = await ConsultationSlot.create(
        starts_at=start + timedelta(hours=1), ends_at=start + timedelta(hours=2), counsellor="森"
    )
    attended = await Booking.create(
        resident=resident,
        slot=slot,
        topic=Topic.START,
        method=Method.PHONE,
        note=f"{NAME}より: 開業の相談",
        phone=PHONE,
        status=BookingStatus.ATTENDED,
        booked_by=BookedBy.STAFF,
    )
    await BookingMove.create(
        booking=attended,
        from_slot=other,
        to_slot=slot,
        from_starts_at=other.starts_at,
        from_ends_at=other.ends_at,
        to_starts_at=slot.starts_at,
        to_ends_at=slot.ends_at,
        reason=f"{NAME}さんのご都合（{PHONE}）",
    )
    cancelled = await Booking.create(
        resident=resident,
        slot=other,
        topic=Topic.PARENTING,
        method=Method.VISIT,
        status=BookingStatus.CANCELLED,
        cancelled_by=CancelledBy.STAFF,
        cancel_reason=f"{NAME}さんから電話 {PHONE}",
    )
    return [attended, cancelled]


async def _course(resident: Resident) -> Registration:
    programme = await Programme.create(kind=ProgrammeKind.TERAKOYA, title="Webサイト制作入門")
    start = now() - timedelta(days=7)
    session = await ProgrammeSession.create(
        programme=programme,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        seats=10,
        taken=2,
        deadline=start,
        status=SessionStatus.PUBLISHED,
    )
    await Registration.create(
        session=session,
        resident=None,
        walk_in_name="龍郷 みのり",  # a walk-in: counted by name, not the resident's
        attendance=Attendance.PRESENT,
    )
    return await Registration.create(
        session=session,
        resident=resident,
        children=1,
        children_ages="3歳",
        attendance=Attendance.PRESENT,
        attendance_by="line",
        attendance_at=start,
        satisfaction=5,
        comment=f"{NAME}: とても良かったです。{PHONE}",
        registered_at=start - timedelta(days=3),
    )


async def _market(resident: Resident, staff: StaffUser) -> MarketApplication:
    held = now() - timedelta(days=20)
    fair = await Market.create(
        name="島のハンドメイドマーケット",
        starts_at=held,
        ends_at=held + timedelta(hours=6),
        venue="名瀬",
        applications_open_at=held - timedelta(days=60),
        applications_close_at=held - timedelta(days=30),
        booths=20,
        booths_taken=1,
    )
    application = await MarketApplication.create(
        market=fair,
        resident=resident,
        status=ApplicationStatus.ACCEPTED,
        artist_name=f"{ARTIST}（{NAME}）",
        category="アクセサリー",
        items=f"{NAME}の手作りアクセサリー",
        url="https://example.jp/hanako",
        return_message=f"{NAME}さん、写真を足してください",
        booth_number="A-1",
        submitted_at=held - timedelta(days=40),
    )
    for colour in ("red", "green"):
        await MarketPhoto.create(
            line_message_id=str(uuid.uuid4().int)[:18],
            resident=resident,
            application=application,
            data=jpeg(colour),
            thumb=jpeg(colour),
            width=40,
            height=30,
            size=100,
        )
    await MarketReview.create(
        application=application, staff_id=staff.id, score=5, note=f"{NAME}さんの作品は丁寧"
    )
    return application


async def _survey(resident: Resident) -> None:
    survey, questions = await kinds_survey()
    await Survey.filter(id=survey.id).update(is_standard=True)  # goal 4 reads it
    round_ = await open_round(survey)
    await respond(
        round_,
        resident,
        dict(
            zip(
                questions,
                [5, 8, 7, True, "Inno", ["SNS"], 2025, f"{NAME}です。連絡先は{PHONE}"],
                strict=True,
            )
        ),
    )
    await profile_rules.update(
        resident.id,
        {
            "residency": "migrant",
            "moved_year": 2025,
            "skills": ["writer"],
            "freelance_income": True,
            "raising_children": True,
            "side_job": False,
            "occupation": f"{NAME}のライター業",
            "district": "naze",
            "income_band": "60to150",
        },
        by=profile_rules.BY_SURVEY,
    )
    for tag in (profile_rules.LEADER_TAG, "講師", f"{NAME}さん紹介"):
        await profile_rules.add_tag(resident, tag, by="staff@example.jp")


async def _announcement(resident: Resident) -> None:
    sent = await Announcement.create(
        title="寺子屋のご案内",
        body="{名前}さん、託児付きの寺子屋を開きます。",
        status=AnnouncementStatus.SENT,
    )
    batch = await AnnouncementBatch.create(
        announcement=sent,
        seq=1,
        retry_key=str(uuid.uuid4()),
        status=BatchStatus.SENT,
        size=1,
        next_attempt_at=now(),
        sent_at=now(),
    )
    await AnnouncementRecipient.create(
        announcement=sent, batch=batch, resident_id=resident.id, status=RecipientStatus.DELIVERED
    )


async def _platform(resident: Resident, user: str, staff: StaffUser, booking: Booking) -> None:
    await ConversationState.create(
        line_user_id=user,
        flow="consult",
        step="note",
        data={"note": f"{NAME} {PHONE}"},
        expires_at=now() + timedelta(hours=1),
    )
    await DataRequest.create(
        resident_id=resident.id, kind=RequestKind.ERASURE, requested_at=now() - timedelta(days=1)
    )
    await OutboxMessage.create(
        line_user_id=user,
        messages=[{"type": "text", "text": f"{NAME}さん、明日のご予約です"}],
        retry_key=str(uuid.uuid4()),
        next_attempt_at=now(),
        status=OutboxStatus.DEAD,
        kind="consult_reminder",
    )
    email = staff.email
    await AuditLog.create(staff_email=email, action="resident.list", detail={"q": NAME, "page": 1})
    await AuditLog.create(
        staff_email=email, action="resident.view", target_type="resident", target_id=resident.id
    )
    await AuditLog.create(
        staff_email=email,
        action="consult.booking.view",
        target_type="booking",
        target_id=booking.id,
    )


async def build_world(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> World:
    user, other_user = "U" + uuid.uuid4().hex, "U" + uuid.uuid4().hex
    fake_line.add_user(user, NAME)
    fake_line.add_user(other_user, "徳之島 太郎")
    await _conversation(client, fake_line, worker, user)
    await _post(client, events.follow(other_user, fake_line.issue_reply_token(other_user)))
    await _post(
        client, events.text(other_user, fake_line.issue_reply_token(other_user), "こんにちは")
    )
    await worker.drain()
    resident = await Resident.get(line_user_id=user)
    assert resident.display_name == NAME
    other = await Resident.get(line_user_id=other_user)
    staff = await StaffUser.create(email="staff@example.jp", password_hash="x")
    staff_pictures = await _chat_from_staff(resident, staff)
    bookings = await _consult(resident)
    await _course(resident)
    await _market(resident, staff)
    await _survey(resident)
    await _announcement(resident)
    await _platform(resident, user, staff, bookings[0])
    # An event still waiting for the worker when the erasure comes.
    await _post(client, events.text(user, fake_line.issue_reply_token(user), f"{NAME}です"))
    picture = next(iter((Path("data") / "chat" / "in").iterdir()))
    counts = {
        "bookings": await Booking.filter(resident_id=resident.id).count(),
        "registrations": await Registration.all().count(),
        "applications": await MarketApplication.filter(resident_id=resident.id).count(),
        "photos": await MarketPhoto.filter(resident_id=resident.id).count(),
        "answers": await SurveyAnswer.filter(response__resident_id=resident.id).count(),
        "chat": await ChatMessage.filter(resident_id=resident.id).count(),
        "events": await InboxEvent.all().count(),
        "messages": await OutboxMessage.all().count(),
    }
    assert all(staff_pictures[i].is_file() for i in (0, 1)) and picture.is_file()
    return World(resident, other, user, picture, staff_pictures, counts)


# ---------- searching everything ----------


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return None  # numbers, times, flags, bytes (photo bytes are checked apart)


def _models() -> list[type[Model]]:
    return list(Tortoise.apps["models"].values())


async def dump() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (as the database holds it)."""
    return {m._meta.db_table: await m.all().order_by(m._meta.pk_attr).values() for m in _models()}


def findings(
    tables: dict[str, list[dict[str, Any]]], needles: Sequence[str], allowed: Sequence[str]
) -> list[str]:
    found = []
    for table, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                text = _text(value)
                if not text:
                    continue
                for needle in needles:
                    if needle in text:
                        found.append(f"{table}.{column}: {needle}")
                for word in allowed:
                    text = text.replace(word, "")
                for phone in PHONE_LIKE.findall(text):
                    found.append(f"{table}.{column}: phone-like {phone}")
    return found


def files_holding(folder: Path, needles: Sequence[str]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for needle in needles:
            if needle in path.name or needle.encode() in data:
                found.append(f"{path}: {needle}")
    return found


async def board() -> list[tuple[Any, ...]]:
    plan = await goals.plan()
    return [
        (g.number, g.value, g.respondents, tuple((m.label, m.value, m.count) for m in g.series))
        for g in await goals.board(plan)
    ]


# ---------- erasure ----------


async def test_erasure_leaves_no_name_id_or_phone_anywhere_and_the_goals_unmoved(
    client: httpx2.AsyncClient,
    fake_line: FakeLinePlatform,
    worker: Worker,
    settings: Settings,
    data_dir: Path,
) -> None:
    world = await build_world(client, fake_line, worker)
    resident, user = world.resident, world.user
    needles = [NAME, user, ARTIST]
    before = await board()
    assert all(value for _, value, _, _ in before), before  # the resident counts in each goal
    # Before: the search does find them (so finding nothing afterwards means something).
    everything = await dump()
    found = findings(everything, needles, [settings.desk_phone])
    for table in ("residents", "inbox_events", "outbox_messages", "chat_messages"):
        assert any(f.startswith(f"{table}.") for f in found), table
    assert any("phone-like" in f for f in found)
    assert files_holding(data_dir, [user]) == [] and world.picture.is_file()

    await personal_data.erase(resident, parts_of(client))

    assert resident.line_user_id == user  # the caller's object keeps the real id
    assert findings(await dump(), needles, [settings.desk_phone]) == []
    assert files_holding(data_dir, needles) == []
    assert not world.picture.exists()
    assert not any(p.exists() for p in world.staff_pictures)
    assert await board() == before

    erased = await Resident.get(id=resident.id)
    assert erased.line_user_id.startswith(PSEUDONYM_PREFIX)
    assert (erased.display_name, erased.is_following, erased.announcements_opt_out) == (
        "",
        False,
        True,
    )
    assert erased.erased_at is not None
    assert str(erased) == f"利用者 #{resident.id}"
    # Counts stay: every row is still there, as what it was.
    assert world.counts == {
        "bookings": await Booking.filter(resident_id=resident.id).count(),
        "registrations": await Registration.all().count(),
        "applications": await MarketApplication.filter(resident_id=resident.id).count(),
        "photos": await MarketPhoto.filter(resident_id=resident.id).count(),
        "answers": await SurveyAnswer.filter(response__resident_id=resident.id).count(),
        "chat": await ChatMessage.filter(resident_id=resident.id).count(),
        "events": await InboxEvent.all().count(),
        "messages": await OutboxMessage.all().count(),
    }
    booking = await Booking.filter(resident_id=resident.id, status=BookingStatus.ATTENDED).get()
    assert (booking.phone, booking.note, booking.topic) == (None, "", Topic.START)
    registration = await Registration.get(resident_id=resident.id)
    assert (registration.attendance, registration.satisfaction, registration.comment) == (
        Attendance.PRESENT,
        5,
        "",
    )
    photos = await MarketPhoto.filter(resident_id=resident.id).values("data", "thumb", "error")
    assert photos == [{"data": None, "thumb": None, "error": "erased"}] * 2
    profile = await ResidentProfile.get(resident_id=resident.id)
    assert (profile.residency, profile.moved_year, profile.skills, profile.freelance_income) == (
        "migrant",
        2025,
        ["writer"],
        True,
    )
    assert (profile.occupation, profile.district, profile.income_band) == ("", "", "")
    assert "occupation" not in profile.filled and "residency" in profile.filled
    assert await profile_rules.tags_of(resident.id) == [profile_rules.LEADER_TAG]
    scrubbed = await AuditLog.get(action="resident.list")
    assert scrubbed.detail == {"q": "（削除済み）", "page": 1}
    # Nothing is left to go: pending messages cancelled, the waiting event ignored, the
    # conversation state gone.
    assert not await OutboxMessage.filter(
        line_user_id=erased.line_user_id, status__in=outbox.OPEN
    ).exists()
    assert await OutboxMessage.filter(
        line_user_id=erased.line_user_id, status=OutboxStatus.SENT
    ).exists()
    assert not await InboxEvent.filter(
        line_user_id=erased.line_user_id, status__in=(InboxStatus.PENDING,)
    ).exists()
    assert not await ConversationState.filter(line_user_id__in=(user, erased.line_user_id)).exists()
    # The other resident is untouched.
    other = await Resident.get(id=world.other.id)
    assert other.display_name == "徳之島 太郎" and other.erased_at is None
    assert await InboxEvent.filter(line_user_id=other.line_user_id).exclude(payload={}).count() == 2

    # Afterwards nothing reaches the pseudonym, nor LINE about it: the worker's rounds and
    # jobs, a notice queued to it, a name look-up.
    sent_before = len(fake_line.deliveries)
    await worker.drain()
    await worker.run_schedule_once()
    await worker.drain()
    assert await outbox.enqueue(erased.line_user_id, [{"type": "text", "text": "x"}]) == []
    assert len(fake_line.deliveries) == sent_before
    assert not [c for c in fake_line.calls if erased.line_user_id in c.path]
    assert not [d for d in fake_line.deliveries if d.user_id == erased.line_user_id]


async def test_an_erased_resident_is_never_asked_for_by_name(
    db: str, fake_line: FakeLinePlatform, settings: Settings
) -> None:
    # Even in a state erasure never leaves (following, nameless): LINE is not asked.
    await Resident.create(line_user_id=f"{PSEUDONYM_PREFIX}0123456789abcdef", erased_at=now())
    await Resident.create(line_user_id="U" + uuid.uuid4().hex)
    line = LineClient(settings)
    try:
        await profiles.fill_missing(line)
    finally:
        await line.close()
    asked = [c.path for c in fake_line.calls if c.path.startswith("/v2/bot/profile/")]
    assert len(asked) == 1 and PSEUDONYM_PREFIX not in asked[0]


async def test_a_message_to_a_pseudonym_is_never_queued_nor_resent(db: str) -> None:
    pseudonym = f"{PSEUDONYM_PREFIX}0123456789abcdef"
    assert await outbox.enqueue(pseudonym, [{"type": "text", "text": "x"}]) == []
    assert outbox.build_rows(pseudonym, [{"type": "text", "text": "x"}]) == []
    dead = await OutboxMessage.create(
        line_user_id=pseudonym,
        messages=[],
        retry_key=str(uuid.uuid4()),
        next_attempt_at=now(),
        status=OutboxStatus.DEAD,
    )
    assert not await outbox.requeue_dead(dead.id)
    assert (await OutboxMessage.get(id=dead.id)).status == OutboxStatus.DEAD


async def test_erasing_again_keeps_the_pseudonym(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    world = await build_world(client, fake_line, worker)
    await personal_data.erase(world.resident, parts_of(client))
    erased = await Resident.get(id=world.resident.id)
    await personal_data.erase(erased, parts_of(client))
    again = await Resident.get(id=world.resident.id)
    assert (again.line_user_id, again.erased_at) == (erased.line_user_id, erased.erased_at)


# ---------- export ----------


def _about(model: type[Model], resident: Resident) -> dict[str, Any] | None:
    """How to find a table's rows about the resident, from its columns alone."""
    meta = model._meta
    for name in (*meta.fk_fields, *meta.o2o_fields):
        if meta.fields_map[name].related_model is Resident:
            return {f"{name}_id": resident.id}
    if "resident_id" in meta.fields_map:
        return {"resident_id": resident.id}
    if "line_user_id" in meta.fields_map:
        return {"line_user_id": resident.line_user_id}
    return None


async def test_the_export_holds_every_row_of_every_table_about_the_resident(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    world = await build_world(client, fake_line, worker)
    resident = await Resident.get(id=world.resident.id)
    parts = parts_of(client)
    tables = [t for part in parts for t in await part.export(resident)]
    checked = []
    for model in _models():
        where = _about(model, resident)
        if where is None:
            continue
        held = await model.filter(**where).count()
        exported = sum(len(t.rows) for t in tables if t.model is model)
        assert held > 0, f"the world has no {model.__name__} row: add one to build_world"
        assert exported == held, f"{model.__name__}: {held} rows, {exported} exported"
        checked.append(model.__name__)
    assert {"Resident", "InboxEvent", "OutboxMessage", "Booking", "MarketPhoto"} <= set(checked)
    # Rows reached through another table: the moves, answers, jury notes and audit entries.
    by_model = {t.model: t for t in tables}
    assert len(by_model[BookingMove].rows) == 1
    assert len(by_model[SurveyAnswer].rows) == 8
    assert len(by_model[MarketReview].rows) == 1
    assert [r["操作"] for r in by_model[AuditLog].rows] == [
        "resident.view",
        "consult.booking.view",
    ]

    data = await personal_data.export_zip(
        resident, parts, labels={"resident.view": "利用者詳細の閲覧", "resident": "利用者"}
    )
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert names[0] == "はじめにお読みください.txt"
    readme = archive.read(names[0]).decode("utf-8-sig")
    assert NAME in readme and "相談予約" in readme
    for number, table in enumerate(tables, start=1):
        stem = f"{number:02d}_{table.name}"
        raw = archive.read(f"{stem}.csv")
        assert raw.startswith("\ufeff".encode())
        records = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert records[0] == list(table.columns)
        assert len(records) == len(table.rows) + 1
        assert len(json.loads(archive.read(f"{stem}.json"))) == len(table.rows)
    bookings = json.loads(archive.read(_member(names, "相談予約", ".json")))
    attended = next(b for b in bookings if b["状態"] == "来所済み")
    assert (attended["電話番号"], attended["相談の方法"], attended["相談内容"]) == (
        PHONE,
        "電話",
        "開業・独立",
    )
    assert re.fullmatch(r"\d{1,2}月\d{1,2}日\(.\) \d\d:\d\d〜\d\d:\d\d", attended["日時"])
    audit = json.loads(archive.read(_member(names, "スタッフの閲覧", ".json")))
    assert [(a["操作"], a["対象"]) for a in audit] == [
        ("利用者詳細の閲覧", "利用者"),
        ("consult.booking.view", "booking"),
    ]
    photos = [n for n in names if n.startswith("写真/")]
    assert len([n for n in photos if n.startswith("写真/マーケット/")]) == 2
    assert len([n for n in photos if n.startswith("写真/チャット/")]) == 2  # theirs, staff's
    assert archive.read(photos[0])[:3] == b"\xff\xd8\xff"
    profile = json.loads(archive.read(_member(names, "プロフィール", ".json")))
    assert profile[0]["地元／移住"] == "移住" and profile[0]["お住まいの地区"] == "名瀬"


def _member(names: list[str], table: str, suffix: str) -> str:
    return next(n for n in names if n.endswith(suffix) and n.split("_", 1)[1].startswith(table))


# ---------- what must wait ----------


async def test_upcoming_bookings_and_applications_block_the_erasure_and_nothing_changes(
    client: httpx2.AsyncClient, settings: Settings
) -> None:
    resident = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=NAME)
    soon = now() + timedelta(days=7)
    slot = await ConsultationSlot.create(
        starts_at=soon, ends_at=soon + timedelta(minutes=50), counsellor="田中", booked_count=1
    )
    booking = await Booking.create(
        resident=resident,
        slot=slot,
        topic=Topic.SALES,
        method=Method.PHONE,
        phone=PHONE,
        active_key=f"{slot.id}:{resident.id}",
    )
    programme = await Programme.create(kind=ProgrammeKind.MEETUP, title="島フリーランス交流会")
    session = await ProgrammeSession.create(
        programme=programme,
        starts_at=soon,
        ends_at=soon + timedelta(hours=2),
        seats=5,
        taken=1,
        deadline=soon,
        status=SessionStatus.PUBLISHED,
    )
    registration = await Registration.create(
        session=session,
        resident=resident,
        status=RegistrationStatus.REGISTERED,
        active_key=f"{session.id}:{resident.id}",
    )
    fair = await Market.create(
        name="冬のマーケット",
        starts_at=soon + timedelta(days=7),
        ends_at=soon + timedelta(days=7, hours=6),
        venue="名瀬",
        applications_open_at=now() - timedelta(days=10),
        applications_close_at=now() + timedelta(days=1),
        booths=10,
    )
    application = await MarketApplication.create(
        market=fair,
        resident=resident,
        status=ApplicationStatus.SUBMITTED,
        artist_name=ARTIST,
        submitted_at=now(),
    )
    parts = parts_of(client)
    reasons = await personal_data.blockers(resident, parts)
    assert len(reasons) == 3
    assert reasons[0].endswith("の相談予約が残っています") and "月" in reasons[0]
    assert "「島フリーランス交流会」のお申し込み（申込済み）が残っています" in reasons[1]
    assert reasons[2].endswith("「冬のマーケット」の出店申込み（審査中）が残っています")
    before = await dump()
    with pytest.raises(ErasureBlocked) as blocked:
        await personal_data.erase(resident, parts)
    assert blocked.value.reasons == reasons
    assert await dump() == before

    # Staff cancel them on their pages; then it goes through.
    async with in_transaction():
        await consultation.cancel_by_staff(booking.id, "ご本人の申し出")
    async with in_transaction():
        await course_rules.cancel_by_staff(registration.id, "ご本人の申し出", settings)
    async with in_transaction():
        await market.withdraw_by_staff(application.id, "ご本人の申し出", settings)
    assert await personal_data.blockers(resident, parts) == []
    await personal_data.erase(resident, parts)
    assert (await Resident.get(id=resident.id)).erased_at is not None
    assert (await Booking.get(id=booking.id)).phone is None


def test_the_name_is_confirmed_whatever_its_width_and_spaces() -> None:
    resident = Resident(id=7, line_user_id="U1", display_name="奄美 花子")
    assert personal_data.name_confirms(resident, "奄美花子")
    assert personal_data.name_confirms(resident, " 奄美　花子 ")
    assert not personal_data.name_confirms(resident, "奄美")
    assert not personal_data.name_confirms(resident, "")
    nameless = Resident(id=7, line_user_id="U1", display_name="")
    assert personal_data.name_confirms(nameless, "利用者＃７")
    assert not personal_data.name_confirms(nameless, "")


def test_every_area_with_residents_data_gives_its_part() -> None:
    parts = registry.personal_data()
    assert [p.key for p in parts] == [
        "consult",
        "chat",
        "course",
        "market",
        "survey",
        "announce",
        "platform",
    ]
    assert "privacy.retention" in [job.name for job in registry.jobs()]
