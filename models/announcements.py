"""お知らせ配信 (segment messages): what staff compose, who it goes to, and the multicast
batches that carry it. Every recipient is a row; every batch has its own stored
X-Line-Retry-Key, so a retry after a crash, a timeout or a 5xx is answered 409 by LINE when the
first attempt was taken — nobody gets a message twice."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class AnnouncementStatus(StrEnum):
    DRAFT = "draft"  # being composed; nothing decided
    AWAITING_APPROVAL = "awaiting_approval"  # over the size that needs an admin's approval
    SCHEDULED = "scheduled"  # to start at `send_at` (now, or a JST time staff chose)
    SENDING = "sending"  # recipients fixed, batches going out
    SENT = "sent"  # every batch finished (some may have failed: see the counts)
    CANCELLED = "cancelled"  # staff cancelled it before it started
    REFUSED = "refused"  # stopped at the start: the month's quota would not cover it


class Announcement(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)  # staff's own name for it (not sent)
    # The text; `{名前}` is replaced by each resident's LINE name (then it goes by push, one
    # request per resident, since multicast sends the same message to all).
    body = fields.TextField(default="")
    # Re-encoded JPEG (original ≤ 2048 px and preview ≤ 480 px), served publicly at an
    # unguessable token because LINE fetches image URLs itself.
    image = fields.BinaryField(null=True)
    image_preview = fields.BinaryField(null=True)
    image_token = fields.CharField(max_length=64, null=True, unique=True)
    # A simple card with one link button (all three, or none).
    card_title = fields.CharField(max_length=40, default="")
    card_text = fields.CharField(max_length=160, default="")
    card_label = fields.CharField(max_length=20, default="")
    card_url = fields.CharField(max_length=1000, default="")
    # Who it goes to: shima.domain.segments.Segment as JSON ({} = every follower).
    audience: dict[str, Any] = fields.JSONField(default=dict)  # type: ignore[assignment]
    status = fields.CharEnumField(
        AnnouncementStatus, max_length=20, default=AnnouncementStatus.DRAFT
    )
    send_at = fields.DatetimeField(null=True)  # when it starts (UTC; shown in JST)
    created_by = fields.CharField(max_length=254, default="")  # staff email
    requested_by = fields.CharField(max_length=254, default="")  # who asked to send it
    approved_by = fields.CharField(max_length=254, default="")
    approved_at = fields.DatetimeField(null=True)
    cancelled_by = fields.CharField(max_length=254, default="")
    # Figures, set when it starts and as batches finish.
    recipients = fields.IntField(default=0)  # rows in announcement_recipients
    delivered = fields.IntField(default=0)
    failed = fields.IntField(default=0)
    skipped = fields.IntField(default=0)  # unfollowed / opted out / erased before their batch
    messages_per_recipient = fields.IntField(default=1)  # message objects (quota cost each)
    quota_note = fields.CharField(max_length=300, default="")  # why it was REFUSED
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "announcements"
        ordering = ["-id"]
        indexes = (("status", "send_at"),)


class BatchStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker (lease)
    SENT = "sent"  # LINE took it (2xx, or 409 to a retry)
    FAILED = "failed"  # LINE refused it (4xx) or retries ran out
    # No answer came back and the retry key's life ran out: LINE may or may not have it.
    UNKNOWN = "unknown"


class AnnouncementBatch(Model):
    """At most 500 recipients (one multicast request), or one (a personalised push)."""

    id = fields.BigIntField(primary_key=True)
    announcement: fields.ForeignKeyRelation[Announcement] = fields.ForeignKeyField(
        "models.Announcement", related_name="batches", on_delete=fields.CASCADE
    )
    announcement_id: int
    seq = fields.IntField()  # 1, 2, … within the announcement
    retry_key = fields.CharField(max_length=36, unique=True)  # sent on every attempt
    status = fields.CharEnumField(BatchStatus, max_length=16, default=BatchStatus.PENDING)
    size = fields.IntField(default=0)  # recipients actually sent to (after skips)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    worker_id = fields.CharField(max_length=64, null=True)
    # Recipients were checked (unfollowed/opted-out/erased skipped) before the first attempt;
    # later attempts send to exactly the same list, so the retry key always matches it.
    frozen_at = fields.DatetimeField(null=True)
    failing_since = fields.DatetimeField(null=True)
    outcome_unknown = fields.BooleanField(default=False)  # a timeout: LINE may have taken it
    last_error = fields.TextField(null=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "announcement_batches"
        unique_together = (("announcement", "seq"),)
        indexes = (("status", "next_attempt_at"),)


class RecipientStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class AnnouncementRecipient(Model):
    id = fields.BigIntField(primary_key=True)
    announcement: fields.ForeignKeyRelation[Announcement] = fields.ForeignKeyField(
        "models.Announcement", related_name="recipient_rows", on_delete=fields.CASCADE
    )
    # Which batch carries it (the LINE id is read from the resident when the batch goes, so
    # an erased resident's pseudonym is never sent and no LINE id is copied here).
    batch: fields.ForeignKeyRelation[AnnouncementBatch] = fields.ForeignKeyField(
        "models.AnnouncementBatch", related_name="recipients", on_delete=fields.CASCADE
    )
    batch_id: int
    resident_id = fields.IntField()
    status = fields.CharEnumField(RecipientStatus, max_length=16, default=RecipientStatus.PENDING)

    class Meta:
        table = "announcement_recipients"
        unique_together = (("announcement", "resident_id"),)
        indexes = (("resident_id",),)
