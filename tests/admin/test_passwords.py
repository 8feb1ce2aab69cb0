from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from admin.passwords import create_staff, hash_password, verify_password
from models.staff import StaffRole, StaffUser


def test_hash_is_argon2id_and_verifies() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery").ok
    assert not verify_password(hashed, "correct horse batterY").ok
    assert not verify_password("not-a-hash", "anything").ok


def test_verify_offers_a_new_hash_for_old_parameters() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("pw-123456789")
    check = verify_password(weak, "pw-123456789")
    assert check.ok and check.new_hash is not None
    assert verify_password(check.new_hash, "pw-123456789") == (True, None)
    assert verify_password(weak, "wrong-password").new_hash is None


async def test_create_staff_normalises_email(db: str) -> None:
    staff = await create_staff("  Hanako@Example.JP ", "0123456789", display_name="島 花子")
    stored = await StaffUser.get(id=staff.id)
    assert stored.email == "hanako@example.jp"
    assert stored.role == StaffRole.STAFF
    assert stored.display_name == "島 花子"
    assert stored.password_hash.startswith("$argon2id$")
    assert "0123456789" not in stored.password_hash
    admin = await create_staff("boss@example.jp", "0123456789", role="admin")
    assert admin.is_admin


async def test_create_staff_refuses_duplicates_short_passwords_and_bad_roles(db: str) -> None:
    await create_staff("hanako@example.jp", "0123456789")
    with pytest.raises(ValueError, match="すでに登録されています"):
        await create_staff("HANAKO@example.jp", "another-password")
    with pytest.raises(ValueError, match="10文字以上"):
        await create_staff("taro@example.jp", "123456789")
    with pytest.raises(ValueError, match="役割"):
        await create_staff("taro@example.jp", "0123456789", role="root")
    with pytest.raises(ValueError, match="メールアドレス"):
        await create_staff("not-an-email", "0123456789")
    assert await StaffUser.all().count() == 1
