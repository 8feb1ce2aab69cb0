"""Consultation desk: slots staff open, residents' bookings, and the centre's closures."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.residents import Resident
from models.staff import StaffUser


class Method(StrEnum):
    VISIT = "visit"
    ONLINE = "online"
    PHONE = "phone"

    @property
    def label(self) -> str:
        return {"visit": "来所", "online": "オンライン", "phone": "電話"}[self.value]


class Topic(StrEnum):
    START = "start"
    SALES = "sales"
    SKILL = "skill"
    MIGRATION = "migration"
    PARENTING = "parenting"
    OTHER = "other"

    @property
    def label(self) -> str:
        return TOPIC_LABELS[self]


TOPIC_LABELS = {
    Topic.START: "開業・独立",
    Topic.SALES: "仕事の受注・営業",
    Topic.SKILL: "スキルアップ",
    Topic.MIGRATION: "移住・島での暮らし",
    Topic.PARENTING: "子育てと仕事の両立",
    Topic.OTHER: "その他",
}


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"

    @property
    def label(self) -> str:
        return {
            "booked": "予約中",
            "cancelled": "キャンセル",
            "attended": "来所済み",
            "no_show": "無断キャンセル",
        }[self.value]


class BookedBy(StrEnum):
    """Who made a booking. The stored values predate the enum ("line" is the resident)."""

    RESIDENT = "line"  # the resident, through LINE
    STAFF = "staff"  # 代理予約 (a phone call, a walk-in) or a staff move

    @property
    def label(self) -> str:
        return {"line": "LINE", "staff": "スタッフ"}[self.value]


class CancelledBy(StrEnum):
    """Who cancelled a booking; NOBODY ("") while it is not cancelled."""

    NOBODY = ""
    RESIDENT = "resident"
    STAFF = "staff"

    @property
    def label(self) -> str:
        return {"": "", "resident": "利用者", "staff": "スタッフ"}[self.value]


class ConsultationSlot(Model):
    id = fields.IntField(primary_key=True)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    counsellor = fields.CharField(max_length=100, default="")
    # Comma-separated Method values the slot allows, e.g. "visit,online".
    methods = fields.CharField(max_length=64, default="visit,online,phone")
    capacity = fields.IntField(default=1)
    # Kept equal to the number of active bookings by conditional updates (never read-modify-write).
    booked_count = fields.IntField(default=0)
    is_active = fields.BooleanField(default=True)
    note = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consultation_slots"
        indexes = (("starts_at", "is_active"),)

    @property
    def method_list(self) -> list[Method]:
        return [Method(m) for m in self.methods.split(",") if m in Method._value2member_map_]


class Booking(Model):
    id = fields.IntField(primary_key=True)
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="bookings", on_delete=fields.CASCADE
    )
    slot: fields.ForeignKeyRelation[ConsultationSlot] = fields.ForeignKeyField(
        "models.ConsultationSlot", related_name="bookings", on_delete=fields.RESTRICT
    )
    resident_id: int
    slot_id: int
    topic = fields.CharEnumField(Topic, max_length=16)
    method = fields.CharEnumField(Method, max_length=16)
    note = fields.CharField(max_length=500, default="")
    status = fields.CharEnumField(BookingStatus, max_length=16, default=BookingStatus.BOOKED)
    # "<slot>:<resident>" while booked, NULL otherwise: the database refuses a second active
    # booking of one slot by one resident.
    active_key = fields.CharField(max_length=40, null=True, unique=True)
    # The confirm button's nonce: a double tap (or a redelivered tap) books once.
    request_key = fields.CharField(max_length=64, null=True, unique=True)
    booked_by = fields.CharEnumField(BookedBy, max_length=16, default=BookedBy.RESIDENT)
    # 電話 bookings: the number the resident gave in the flow (optional), for staff to call.
    phone = fields.CharField(max_length=20, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancelled_by = fields.CharEnumField(CancelledBy, max_length=16, default=CancelledBy.NOBODY)
    cancel_reason = fields.CharField(max_length=300, default="")
    reminder_queued_at = fields.DatetimeField(null=True)

    class Meta:
        table = "consultation_bookings"
        # slot_id: the foreign key has no index of its own; lists join bookings to slots.
        indexes = (("status", "created_at"), ("resident_id", "status"), ("slot_id", "status"))


class Closure(Model):
    """A day the centre is closed (besides national holidays and 12/29–1/3)."""

    id = fields.IntField(primary_key=True)
    date = fields.DateField(unique=True)
    reason = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "centre_closures"
        ordering = ["date"]


class BookingMove(Model):
    """One change of a booking's time by staff: the booking stays one row (its slot is
    updated) and each move leaves this history line — what it was, what it became, who
    moved it and when. A slot whose time staff edit moves its bookings too (from_slot and
    to_slot are then the same slot)."""

    id = fields.IntField(primary_key=True)
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="moves", on_delete=fields.CASCADE
    )
    booking_id: int
    from_slot: fields.ForeignKeyRelation[ConsultationSlot] = fields.ForeignKeyField(
        "models.ConsultationSlot", related_name="moves_out", on_delete=fields.RESTRICT
    )
    from_slot_id: int
    to_slot: fields.ForeignKeyRelation[ConsultationSlot] = fields.ForeignKeyField(
        "models.ConsultationSlot", related_name="moves_in", on_delete=fields.RESTRICT
    )
    to_slot_id: int
    # The times and counsellors as they were at the move (a slot may change later).
    from_starts_at = fields.DatetimeField()
    from_ends_at = fields.DatetimeField()
    to_starts_at = fields.DatetimeField()
    to_ends_at = fields.DatetimeField()
    from_counsellor = fields.CharField(max_length=100, default="")
    to_counsellor = fields.CharField(max_length=100, default="")
    reason = fields.CharField(max_length=300, default="")
    moved_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="booking_moves", null=True, on_delete=fields.SET_NULL
    )
    moved_by_id: int | None
    moved_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consultation_booking_moves"
        indexes = (("booking_id", "moved_at"),)

    @property
    def counsellor_changed(self) -> bool:
        return self.from_counsellor != self.to_counsellor
