"""Argon2id password hashing, plus the rules for new passwords."""

from __future__ import annotations

import asyncio

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
# A fixed hash to verify against when the account does not exist, so unknown emails cost the same time.
_DUMMY_HASH = _hasher.hash("wadesk-timing-equaliser")

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = frozenset(
    [
        "123456",
        "123456789",
        "12345678",
        "password",
        "qwerty123",
        "qwerty1",
        "111111",
        "12345",
        "secret",
        "123123",
        "1234567890",
        "1234567",
        "000000",
        "qwerty",
        "abc123",
        "password1",
        "iloveyou",
        "11111111",
        "dragon",
        "monkey",
        "123123123",
        "admin123",
        "admin1234",
        "welcome",
        "welcome123",
        "letmein",
        "letmein123",
        "passw0rd",
        "password123",
        "password12",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "qwertyuiop",
        "zaq12wsx",
        "changeme",
        "changeme123",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "trustno1",
        "superman",
        "987654321",
        "asdfghjkl",
        "1qaz2wsx",
        "qwerty12345",
        "whatsapp123",
        "whatsapp",
        "administrator",
        "0123456789",
        "abcdefghij",
        "abcd1234",
        "passwordpassword",
        "iloveyou123",
        "computer",
        "internet",
        "starwars00",
        "michael123",
        "1111111111",
        "5555555555",
    ]
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-work check: an absent hash still runs one Argon2 verification."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # a malformed stored hash is a failed login, not a crash
        return False


async def hash_password_async(password: str) -> str:
    """`hash_password` on a worker thread: Argon2 is slow by design and would stall every other request."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, password_hash: str | None) -> bool:
    """`verify_password` on a worker thread, for the same reason."""
    return await asyncio.to_thread(verify_password, password, password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is unacceptable, or None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if password.lower() in COMMON_PASSWORDS:
        return "This password is too common; choose another."
    return None
