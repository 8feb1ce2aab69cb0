"""Audit log: who viewed, exported or changed what, and when."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.staff import StaffUser


class AuditLog(Model):
    id = fields.BigIntField(primary_key=True)
    staff: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    staff_email = fields.CharField(max_length=254, default="")  # kept if the account goes
    action = fields.CharField(max_length=64)  # e.g. "resident.view", "login.success"
    target_type = fields.CharField(max_length=64, default="")
    target_id = fields.CharField(max_length=64, default="")
    detail: fields.Field[Any] = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"
        ordering = ["-id"]
        indexes = (("target_type", "target_id"),)
