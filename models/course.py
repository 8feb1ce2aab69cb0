"""寺子屋・交流会・ワークショップ: programmes, their sessions, residents' registrations (with
託児, the waitlist and its offers, attendance and the after-session 満足度), and the news items
staff post for イベント・お知らせ.

A session's seats are counted by conditional updates on its own row (never read-modify-write):
`taken` = registrations holding a seat (申込済み, and 繰り上げ案内中 offers that hold one),
`childcare_taken` = children placed among those, `waiting` = residents on the waitlist."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.consultation import BookedBy, CancelledBy
from models.residents import Resident


class ProgrammeKind(StrEnum):
    TERAKOYA = "terakoya"
    MEETUP = "meetup"
    WORKSHOP = "workshop"

    @property
    def label(self) -> str:
        return {"terakoya": "寺子屋", "meetup": "交流会", "workshop": "ワークショップ"}[self.value]


class SessionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"draft": "下書き", "published": "公開中", "cancelled": "中止"}[self.value]


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"  # holds a seat
    WAITING = "waiting"  # on the waitlist (an everyone-at-once offer keeps it here)
    OFFERED = "offered"  # a seat held for this resident until offer_expires_at
    CANCELLED = "cancelled"  # cancelled, or left the waitlist
    DECLINED = "declined"  # declined an offer
    EXPIRED = "expired"  # let an offer's deadline pass

    @property
    def label(self) -> str:
        return {
            "registered": "申込済み",
            "waiting": "キャンセル待ち",
            "offered": "繰り上げ案内中",
            "cancelled": "キャンセル",
            "declined": "辞退",
            "expired": "期限切れ",
        }[self.value]


# The statuses that keep a resident in a session (one such row per resident and session).
ACTIVE_STATUSES = (
    RegistrationStatus.REGISTERED,
    RegistrationStatus.WAITING,
    RegistrationStatus.OFFERED,
)


class Attendance(StrEnum):
    UNKNOWN = ""
    PRESENT = "present"
    ABSENT = "absent"

    @property
    def label(self) -> str:
        return {"": "未記録", "present": "出席", "absent": "欠席"}[self.value]


class Programme(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ProgrammeKind, max_length=16)
    title = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    instructor = fields.CharField(max_length=100, default="")
    audience = fields.CharField(max_length=200, default="")  # who it is for
    fee = fields.IntField(default=0)  # yen, paid on the day; 0 = free
    # An https URL of the programme's picture (re-encoded on upload), "" for none.
    image_url = fields.CharField(max_length=500, default="")
    is_archived = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "programmes"

    def __str__(self) -> str:
        return self.title

    @property
    def fee_text(self) -> str:
        return "無料" if self.fee <= 0 else f"{self.fee:,}円（当日お支払い）"


class ProgrammeSession(Model):
    id = fields.IntField(primary_key=True)
    programme: fields.ForeignKeyRelation[Programme] = fields.ForeignKeyField(
        "models.Programme", related_name="sessions", on_delete=fields.RESTRICT
    )
    programme_id: int
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    venue = fields.CharField(max_length=200, default="WorkStyle Lab Inno")
    online = fields.BooleanField(default=False)
    online_url = fields.CharField(max_length=500, default="")
    seats = fields.IntField()
    childcare_places = fields.IntField(default=0)  # children; 0 = no 託児
    deadline = fields.DatetimeField()  # sign-up closes (the waitlist's offers go on)
    status = fields.CharEnumField(SessionStatus, max_length=16, default=SessionStatus.DRAFT)
    taken = fields.IntField(default=0)
    childcare_taken = fields.IntField(default=0)
    waiting = fields.IntField(default=0)
    cancel_reason = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "programme_sessions"
        indexes = (("status", "starts_at"), ("programme_id", "starts_at"))

    @property
    def seats_left(self) -> int:
        return max(self.seats - self.taken, 0)

    @property
    def childcare_left(self) -> int:
        return max(self.childcare_places - self.childcare_taken, 0)

    @property
    def place(self) -> str:
        return "オンライン" if self.online else self.venue


class Registration(Model):
    id = fields.IntField(primary_key=True)
    session: fields.ForeignKeyRelation[ProgrammeSession] = fields.ForeignKeyField(
        "models.ProgrammeSession", related_name="registrations", on_delete=fields.CASCADE
    )
    session_id: int
    # None for a walk-in staff added by name at the door.
    resident: fields.ForeignKeyNullableRelation[Resident] = fields.ForeignKeyField(
        "models.Resident",
        related_name="programme_registrations",
        null=True,
        on_delete=fields.CASCADE,
    )
    resident_id: int | None
    walk_in_name = fields.CharField(max_length=100, default="")
    status = fields.CharEnumField(
        RegistrationStatus, max_length=16, default=RegistrationStatus.REGISTERED
    )
    # 託児: how many children and their ages as the resident said. On a registered row (or a
    # held offer) the children are placed; on a waiting row they wait for places too.
    children = fields.IntField(default=0)
    children_ages = fields.CharField(max_length=100, default="")
    # "<session>:<resident>" while registered, waiting or offered; NULL otherwise.
    active_key = fields.CharField(max_length=40, null=True, unique=True)
    request_key = fields.CharField(max_length=64, null=True, unique=True)  # the 確定 nonce
    registered_by = fields.CharEnumField(BookedBy, max_length=16, default=BookedBy.RESIDENT)
    queued_at = fields.DatetimeField(null=True)  # joined the waitlist (its order, with id)
    registered_at = fields.DatetimeField(null=True)  # got the seat
    offered_at = fields.DatetimeField(null=True)
    offer_expires_at = fields.DatetimeField(null=True)
    # An everyone-at-once offer was pushed (the row stays WAITING); cleared when it is taken.
    open_offer_at = fields.DatetimeField(null=True)
    attendance = fields.CharEnumField(Attendance, max_length=16, default=Attendance.UNKNOWN)
    attendance_by = fields.CharField(max_length=8, default="")  # "line" (チェックイン) or "staff"
    attendance_at = fields.DatetimeField(null=True)
    reminder_queued_at = fields.DatetimeField(null=True)
    followup_queued_at = fields.DatetimeField(null=True)
    satisfaction = fields.IntField(null=True)  # 1–5, after the session
    comment = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancelled_by = fields.CharEnumField(CancelledBy, max_length=16, default=CancelledBy.NOBODY)
    cancel_reason = fields.CharField(max_length=300, default="")

    class Meta:
        table = "programme_registrations"
        indexes = (
            ("session_id", "status"),
            ("resident_id", "status"),
            ("status", "offer_expires_at"),
        )

    @property
    def name(self) -> str:
        """Who it is, as staff read it (the resident must be loaded, or it is a walk-in)."""
        if self.resident_id is None:
            return self.walk_in_name or "当日参加"
        return str(self.resident)


class NewsItem(Model):
    """A news item staff post (イベント・お知らせ shows the published ones, newest first)."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)
    body = fields.TextField(default="")
    url = fields.CharField(max_length=500, default="")
    is_published = fields.BooleanField(default=False)
    published_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "news_items"
        indexes = (("is_published", "published_at"),)
