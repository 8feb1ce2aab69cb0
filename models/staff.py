"""Staff accounts, their server-side sessions and login attempts (for throttling)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class StaffRole(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"


class StaffUser(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    display_name = fields.CharField(max_length=100, default="")
    password_hash = fields.CharField(max_length=255)  # argon2id
    role = fields.CharEnumField(StaffRole, max_length=16, default=StaffRole.STAFF)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_users"

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN


class StaffSession(Model):
    # SHA-256 of the random token in the cookie: a leaked table cannot be replayed.
    id = fields.CharField(max_length=64, primary_key=True)
    staff: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name="sessions", on_delete=fields.CASCADE
    )
    csrf_token = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()  # absolute limit; idle timeout uses last_seen_at
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=300, default="")

    class Meta:
        table = "staff_sessions"


class LoginAttempt(Model):
    # Written as a failure before the password is checked (admin/throttle.py), so concurrent
    # guesses see each other; a refused attempt's row is deleted, a right password's updated.
    id = fields.BigIntField(primary_key=True)
    email = fields.CharField(max_length=254)
    ip = fields.CharField(max_length=64)
    # SHA-256 of the nonce of a valid device cookie for `email` (admin/device_cookies.py);
    # null for an untrusted browser.
    device = fields.CharField(max_length=64, null=True)
    succeeded = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff_login_attempts"
        indexes = (("email", "created_at"), ("ip", "created_at"), ("device", "created_at"))
