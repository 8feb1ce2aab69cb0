"""Staff passwords: argon2id hashes (argon2-cffi) and creating staff accounts."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from tortoise.exceptions import IntegrityError

from models.staff import StaffRole, StaffUser

MIN_PASSWORD_LENGTH = 10

# argon2-cffi's defaults are RFC 9106's "low memory" profile of argon2id (64 MiB, t=3, p=4).
_hasher = PasswordHasher()
# Verified against for unknown accounts, so "no such user" costs as long as "wrong password".
_DUMMY_HASH = _hasher.hash("dummy-password-for-timing-only")


class PasswordCheck(NamedTuple):
    ok: bool
    # A fresh hash when the stored one uses older parameters; the caller stores it.
    new_hash: str | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> PasswordCheck:
    """Check `password`; on success also say whether the hash should be upgraded."""
    try:
        _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return PasswordCheck(False)
    if _hasher.check_needs_rehash(password_hash):
        return PasswordCheck(True, _hasher.hash(password))
    return PasswordCheck(True)


def dummy_verify(password: str) -> None:
    """Spend the time of one real verification (for accounts that do not exist)."""
    verify_password(_DUMMY_HASH, password)


async def verify_password_async(password_hash: str | None, password: str) -> PasswordCheck:
    """`verify_password` off the event loop (argon2 takes tens of milliseconds by design);
    `None` runs the dummy verification and always fails."""
    if password_hash is None:
        await asyncio.to_thread(dummy_verify, password)
        return PasswordCheck(False)
    return await asyncio.to_thread(verify_password, password_hash, password)


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_staff(
    email: str, password: str, role: str = "staff", display_name: str = ""
) -> StaffUser:
    """Create a staff account. Raises ValueError (Japanese message) for a bad or duplicate
    email, a password shorter than MIN_PASSWORD_LENGTH, or an unknown role."""
    email = normalise_email(email)
    if not email or "@" not in email or len(email) > 254:
        raise ValueError("メールアドレスの形式が正しくありません。")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")
    try:
        staff_role = StaffRole(role)
    except ValueError:
        raise ValueError("役割は admin または staff を指定してください。") from None
    if await StaffUser.filter(email=email).exists():
        raise ValueError("このメールアドレスはすでに登録されています。")
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        return await StaffUser.create(
            email=email,
            password_hash=password_hash,
            role=staff_role,
            display_name=display_name.strip()[:100],
        )
    except IntegrityError:  # created concurrently between the check and the insert
        raise ValueError("このメールアドレスはすでに登録されています。") from None
