"""Residents' requests about their data (個人情報保護法): マイページ → データの確認・削除の申請."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class RequestKind(StrEnum):
    EXPORT = "export"  # 確認 (a copy of what we hold)
    ERASURE = "erasure"  # 削除


class RequestStatus(StrEnum):
    OPEN = "open"
    DONE = "done"  # handled; the resident was told
    WITHDRAWN = "withdrawn"  # the resident or staff closed it without action


class DataRequest(Model):
    id = fields.IntField(primary_key=True)
    resident_id = fields.IntField(db_index=True)  # kept after erasure (pseudonymised resident)
    kind = fields.CharEnumField(RequestKind, max_length=16)
    status = fields.CharEnumField(RequestStatus, max_length=16, default=RequestStatus.OPEN)
    requested_at = fields.DatetimeField()
    handled_at = fields.DatetimeField(null=True)
    handled_by = fields.CharField(max_length=254, default="")  # staff email

    class Meta:
        table = "data_requests"
        ordering = ["-id"]
