from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.market import ApplicationStatus, MarketStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0013_course")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Market",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(max_length=100)),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("venue", fields.CharField(max_length=200)),
                ("applications_open_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("applications_close_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("booths", fields.IntField()),
                ("booths_taken", fields.IntField(default=0)),
                ("booth_fee", fields.IntField(default=0)),
                ("fee_due_on", fields.DateField(null=True)),
                (
                    "categories",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("photos_min", fields.IntField(default=1)),
                ("photos_max", fields.IntField(default=3)),
                ("allow_two_booths", fields.BooleanField(default=False)),
                ("notes", fields.TextField(default="", unique=False)),
                (
                    "status",
                    fields.CharEnumField(
                        default=MarketStatus.DRAFT,
                        description="DRAFT: draft\nPUBLISHED: published\nCLOSED: closed\nRESULTS_SENT: results_sent",
                        enum_type=MarketStatus,
                        max_length=16,
                    ),
                ),
                (
                    "results_sent_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "markets",
                "app": "models",
                "indexes": [Index(fields=["status", "applications_close_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MarketApplication",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "market",
                    fields.ForeignKeyField(
                        "models.Market",
                        source_field="market_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="applications",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="market_applications",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=ApplicationStatus.DRAFT,
                        description="DRAFT: draft\nSUBMITTED: submitted\nRETURNED: returned\nACCEPTED: accepted\nRESERVE: reserve\nREJECTED: rejected\nOFFERED: offered\nWITHDRAWN: withdrawn\nDECLINED: declined\nEXPIRED: expired",
                        enum_type=ApplicationStatus,
                        max_length=16,
                    ),
                ),
                ("step", fields.CharField(default="name", max_length=16)),
                ("artist_name", fields.CharField(default="", max_length=100)),
                ("category", fields.CharField(default="", max_length=30)),
                ("items", fields.TextField(default="", unique=False)),
                ("booths_requested", fields.IntField(default=1)),
                ("needs_table", fields.BooleanField(default=False)),
                ("needs_power", fields.BooleanField(default=False)),
                ("url", fields.CharField(default="", max_length=500)),
                ("request_key", fields.CharField(null=True, unique=True, max_length=64)),
                (
                    "submitted_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("decided_by_id", fields.IntField(null=True)),
                ("return_message", fields.TextField(default="", unique=False)),
                (
                    "returned_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "result_notified_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("booth_number", fields.CharField(default="", max_length=20)),
                ("fee_paid", fields.BooleanField(default=False)),
                (
                    "fee_paid_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("offered_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "offer_expires_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "withdrawn_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("withdraw_reason", fields.CharField(default="", max_length=300)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "market_applications",
                "app": "models",
                "unique_together": (("market_id", "resident_id"),),
                "indexes": [
                    Index(fields=["market_id", "status"]),
                    Index(fields=["status", "offer_expires_at"]),
                ],
                "pk_attr": "id",
                "table_description": "One artist's application to one market (unique per market and resident), from the",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MarketPhoto",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("line_message_id", fields.CharField(unique=True, max_length=64)),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="market_photos",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "application",
                    fields.ForeignKeyField(
                        "models.MarketApplication",
                        source_field="application_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="photos",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("image_set_id", fields.CharField(default="", max_length=64)),
                ("image_set_index", fields.IntField(default=0)),
                ("error", fields.CharField(default="", max_length=16)),
                ("data", fields.BinaryField(null=True)),
                ("thumb", fields.BinaryField(null=True)),
                ("width", fields.IntField(default=0)),
                ("height", fields.IntField(default=0)),
                ("size", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "market_photos",
                "app": "models",
                "indexes": [
                    Index(fields=["application_id", "id"]),
                    Index(fields=["resident_id", "created_at"]),
                ],
                "pk_attr": "id",
                "table_description": "A photo of an artist's work, fetched from LINE and re-encoded (no EXIF, at most",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MarketReview",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "application",
                    fields.ForeignKeyField(
                        "models.MarketApplication",
                        source_field="application_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="reviews",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("staff_id", fields.IntField()),
                ("score", fields.IntField(null=True)),
                ("note", fields.TextField(default="", unique=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "market_reviews",
                "app": "models",
                "unique_together": (("application_id", "staff_id"),),
                "pk_attr": "id",
                "table_description": "One reviewer's private note and score (1–5) on one application.",
            },
            bases=["Model"],
        ),
    ]
