"""ハンドメイドマーケット: markets, artists' applications (drafts saved at every step, photos of
their work, the jury's decisions, booths and fees), the jury's private notes and scores, and
the photos themselves (stored in the database, so every web process can serve them).

A market's booths are counted by conditional updates on its own row (never read-modify-write):
`booths_taken` = booths held by 採択 applications and by 補欠 offers that hold them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.residents import Resident

DEFAULT_CATEGORIES = ("アクセサリー", "布小物", "雑貨", "木工", "陶芸", "食品", "その他")


class MarketStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"  # open for applications within its window
    CLOSED = "closed"  # no more applications: the jury decides
    RESULTS_SENT = "results_sent"  # 結果を通知 was sent (booths, fees and withdrawals follow)

    @property
    def label(self) -> str:
        return {
            "draft": "下書き",
            "published": "公開中",
            "closed": "締切",
            "results_sent": "結果通知済み",
        }[self.value]


class ApplicationStatus(StrEnum):
    DRAFT = "draft"  # being entered in LINE (saved at every step)
    SUBMITTED = "submitted"  # 審査中
    RETURNED = "returned"  # 差し戻し: the artist fixes and resubmits
    ACCEPTED = "accepted"  # 採択: holds its booths
    RESERVE = "reserve"  # 補欠
    REJECTED = "rejected"  # 不採択
    OFFERED = "offered"  # a 補欠 offered a freed booth, held until offer_expires_at
    WITHDRAWN = "withdrawn"  # 取り下げ (by the artist, or by staff for them)
    DECLINED = "declined"  # declined a 補欠 offer
    EXPIRED = "expired"  # let a 補欠 offer's deadline pass

    @property
    def label(self) -> str:
        return {
            "draft": "入力中",
            "submitted": "審査中",
            "returned": "差し戻し",
            "accepted": "採択",
            "reserve": "補欠",
            "rejected": "不採択",
            "offered": "繰り上げ案内中",
            "withdrawn": "取り下げ",
            "declined": "辞退",
            "expired": "期限切れ",
        }[self.value]


# The jury's decisions (what 結果を通知 tells).
DECISIONS = (ApplicationStatus.ACCEPTED, ApplicationStatus.RESERVE, ApplicationStatus.REJECTED)
# Statuses that hold booths on the market's counter.
HOLDING = (ApplicationStatus.ACCEPTED, ApplicationStatus.OFFERED)


class Market(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    starts_at = fields.DatetimeField()  # the day and its opening hours
    ends_at = fields.DatetimeField()
    venue = fields.CharField(max_length=200)
    applications_open_at = fields.DatetimeField()
    applications_close_at = fields.DatetimeField()
    booths = fields.IntField()
    booths_taken = fields.IntField(default=0)
    booth_fee = fields.IntField(default=0)  # yen per booth
    fee_due_on = fields.DateField(null=True)  # payment deadline for accepted artists
    categories: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    photos_min = fields.IntField(default=1)
    photos_max = fields.IntField(default=3)
    allow_two_booths = fields.BooleanField(default=False)
    notes = fields.TextField(default="")  # for applicants, shown in LINE
    status = fields.CharEnumField(MarketStatus, max_length=16, default=MarketStatus.DRAFT)
    results_sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "markets"
        indexes = (("status", "applications_close_at"),)

    def __str__(self) -> str:
        return self.name

    @property
    def booths_left(self) -> int:
        return max(self.booths - self.booths_taken, 0)

    @property
    def fee_text(self) -> str:
        return "無料" if self.booth_fee <= 0 else f"1ブース {self.booth_fee:,}円"


class MarketApplication(Model):
    """One artist's application to one market (unique per market and resident), from the
    first step's draft to the booth."""

    id = fields.IntField(primary_key=True)
    market: fields.ForeignKeyRelation[Market] = fields.ForeignKeyField(
        "models.Market", related_name="applications", on_delete=fields.RESTRICT
    )
    market_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="market_applications", on_delete=fields.CASCADE
    )
    resident_id: int
    status = fields.CharEnumField(ApplicationStatus, max_length=16, default=ApplicationStatus.DRAFT)
    step = fields.CharField(max_length=16, default="name")  # where a draft continues
    artist_name = fields.CharField(max_length=100, default="")  # 出店者名・屋号
    category = fields.CharField(max_length=30, default="")
    items = fields.TextField(default="")  # what they sell
    booths_requested = fields.IntField(default=1)
    needs_table = fields.BooleanField(default=False)  # 机・椅子の貸出
    needs_power = fields.BooleanField(default=False)  # 電源
    url = fields.CharField(max_length=500, default="")  # SNS or shop
    request_key = fields.CharField(max_length=64, null=True, unique=True)  # the 申し込む nonce
    submitted_at = fields.DatetimeField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decided_by_id = fields.IntField(null=True)  # staff id
    return_message = fields.TextField(default="")  # 差し戻し: what to fix
    returned_at = fields.DatetimeField(null=True)
    result_notified_at = fields.DatetimeField(null=True)  # claimed once by 結果を通知
    booth_number = fields.CharField(max_length=20, default="")
    fee_paid = fields.BooleanField(default=False)
    fee_paid_at = fields.DatetimeField(null=True)
    offered_at = fields.DatetimeField(null=True)
    offer_expires_at = fields.DatetimeField(null=True)
    withdrawn_at = fields.DatetimeField(null=True)
    withdraw_reason = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "market_applications"
        unique_together = (("market_id", "resident_id"),)
        indexes = (("market_id", "status"), ("status", "offer_expires_at"))

    @property
    def name(self) -> str:
        return self.artist_name or "（出店者名未入力）"


class MarketPhoto(Model):
    """A photo of an artist's work, fetched from LINE and re-encoded (no EXIF, at most
    2048 px) with a thumbnail. Stored before its event is handled (`application` is NULL
    until the flow takes it), or a record that the fetch failed for good (`error`)."""

    id = fields.IntField(primary_key=True)
    line_message_id = fields.CharField(max_length=64, unique=True)
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="market_photos", on_delete=fields.CASCADE
    )
    resident_id: int
    application: fields.ForeignKeyNullableRelation[MarketApplication] = fields.ForeignKeyField(
        "models.MarketApplication", related_name="photos", null=True, on_delete=fields.CASCADE
    )
    application_id: int | None
    # LINE's imageSet (several photos sent at once): their order within the set.
    image_set_id = fields.CharField(max_length=64, default="")
    image_set_index = fields.IntField(default=0)
    error = fields.CharField(max_length=16, default="")  # "" = stored, else why not
    data = fields.BinaryField(null=True)  # JPEG
    thumb = fields.BinaryField(null=True)  # JPEG, at most 320 px
    width = fields.IntField(default=0)
    height = fields.IntField(default=0)
    size = fields.IntField(default=0)  # bytes of `data`
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "market_photos"
        indexes = (("application_id", "id"), ("resident_id", "created_at"))


class MarketReview(Model):
    """One reviewer's private note and score (1–5) on one application."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[MarketApplication] = fields.ForeignKeyField(
        "models.MarketApplication", related_name="reviews", on_delete=fields.CASCADE
    )
    application_id: int
    staff_id = fields.IntField()
    score = fields.IntField(null=True)
    note = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "market_reviews"
        unique_together = (("application_id", "staff_id"),)
