"""Passwords are hashed with Argon2id at a real cost; new passwords must be long and uncommon."""

from __future__ import annotations

import pytest

from conftest import PasswordHashing
from wadesk.kit import passwords
from wadesk.kit.passwords import (
    COMMON_PASSWORDS,
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_password_async,
    password_problem,
    verify_password,
    verify_password_async,
)


@pytest.fixture
def production_hashing(cheap_password_hashing: PasswordHashing, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hasher the application ships with, not the cheap one the rest of the tests use."""
    monkeypatch.setattr(passwords, "_hasher", cheap_password_hashing.hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap_password_hashing.dummy_hash)


def _parameters(encoded: str) -> dict[str, int]:
    # $argon2id$v=19$m=65536,t=3,p=4$salt$hash
    return {k: int(v) for k, v in (part.split("=") for part in encoded.split("$")[3].split(","))}


def test_hashes_are_argon2id_at_least_at_the_owasp_minimum_cost(production_hashing: None) -> None:
    encoded = hash_password("correct horse battery")
    assert encoded.startswith("$argon2id$")
    cost = _parameters(encoded)
    assert cost["m"] >= 19 * 1024  # KiB
    assert cost["t"] >= 2
    assert verify_password("correct horse battery", encoded)
    assert passwords._DUMMY_HASH.startswith("$argon2id$")
    assert _parameters(passwords._DUMMY_HASH) == cost


def test_a_password_verifies_only_against_its_own_hash() -> None:
    encoded = hash_password("correct horse battery")
    assert verify_password("correct horse battery", encoded)
    assert not verify_password("correct horse batterY", encoded)
    assert not verify_password("", encoded)
    assert "correct horse battery" not in encoded


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("correct horse battery") != hash_password("correct horse battery")


def test_long_and_non_ascii_passwords_work_in_full() -> None:
    long_password = "ünïcødé-🔑-" + "x" * 500
    encoded = hash_password(long_password)
    assert verify_password(long_password, encoded)
    # Unlike bcrypt, nothing past byte 72 is ignored.
    assert not verify_password(long_password[:-1] + "y", encoded)


def test_an_unknown_account_still_costs_one_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[str] = []
    real = passwords._hasher.verify

    def counting(password: str, encoded: str) -> bool:
        verified.append(encoded)
        return bool(real(password, encoded))

    monkeypatch.setattr(passwords._hasher, "verify", counting)
    assert verify_password("whatever-it-is", None) is False
    assert verified == [passwords._DUMMY_HASH]


def test_a_malformed_stored_hash_is_a_failed_check_not_a_crash() -> None:
    for stored in ("", "plaintext", "$argon2id$v=19$broken", "$2b$12$notreallybcrypt"):
        assert verify_password("correct horse battery", stored) is False


async def test_the_async_variants_give_the_same_answers() -> None:
    encoded = await hash_password_async("correct horse battery")
    assert await verify_password_async("correct horse battery", encoded)
    assert not await verify_password_async("wrong horse battery", encoded)
    assert not await verify_password_async("correct horse battery", None)


@pytest.mark.parametrize(
    "password",
    ["", "short", "x" * (MIN_PASSWORD_LENGTH - 1), "password123", "PASSWORD123", "1234567890", "qwertyuiop"],
)
def test_short_or_common_passwords_are_refused(password: str) -> None:
    assert password_problem(password) is not None


@pytest.mark.parametrize("password", ["x" * MIN_PASSWORD_LENGTH, "correct horse battery", "Tr0ub4dor&3-xyz"])
def test_long_uncommon_passwords_are_accepted(password: str) -> None:
    assert password_problem(password) is None


def test_every_listed_common_password_that_is_long_enough_is_refused() -> None:
    for common in COMMON_PASSWORDS:
        assert password_problem(common) is not None, common
        assert password_problem(common.upper()) is not None, common
