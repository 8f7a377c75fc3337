"""AES-256-GCM credentials at rest: round trip, tamper detection, tenant binding and key rotation."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from wadesk.cli import main
from wadesk.db.models import Base
from wadesk.db.session import create_engine, make_sessionmaker, unit_of_work
from wadesk.kit.crypto import DecryptionError, Keyring, key_id_for
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.phone_numbers.service import decrypt_credential, encrypt_credential, reencrypt_credentials
from wadesk.tenants.models import Tenant

TENANT = str(uuid.uuid4())
OTHER_TENANT = str(uuid.uuid4())


def new_key() -> bytes:
    return secrets.token_bytes(32)


def flip(stored: str, index: int) -> str:
    """The stored value with one byte of its sealed part changed."""
    version, key_id, blob = stored.split(":", 2)
    raw = bytearray(base64.b64decode(blob))
    raw[index % len(raw)] ^= 0x01
    return f"{version}:{key_id}:{base64.b64encode(bytes(raw)).decode()}"


@given(st.text(max_size=500), st.text(min_size=1, max_size=40))
def test_what_is_encrypted_decrypts_to_the_same_text(plaintext: str, associated: str) -> None:
    keyring = Keyring(current=bytes(range(32)))
    assert keyring.decrypt(
        keyring.encrypt(plaintext, associated_data=associated), associated_data=associated
    ) == (plaintext)


def test_the_stored_form_names_its_version_and_key_and_hides_the_plaintext() -> None:
    keyring = Keyring(current=new_key())
    stored = keyring.encrypt("EAAG-access-token", associated_data=TENANT)
    version, key_id, _ = stored.split(":", 2)
    assert version == "v1"
    assert key_id == keyring.current_key_id == key_id_for(keyring.current)
    assert "EAAG-access-token" not in stored
    # A fresh nonce each time: the same plaintext never encrypts the same way twice.
    assert keyring.encrypt("EAAG-access-token", associated_data=TENANT) != stored


def test_any_flipped_byte_is_detected() -> None:
    keyring = Keyring(current=new_key())
    stored = keyring.encrypt("EAAG-access-token", associated_data=TENANT)
    sealed_length = len(base64.b64decode(stored.split(":", 2)[2]))
    for index in (0, 11, 12, sealed_length // 2, sealed_length - 1):
        with pytest.raises(DecryptionError):
            keyring.decrypt(flip(stored, index), associated_data=TENANT)


def test_a_value_copied_to_another_tenant_does_not_decrypt() -> None:
    keyring = Keyring(current=new_key())
    stored = keyring.encrypt("EAAG-access-token", associated_data=TENANT)
    with pytest.raises(DecryptionError):
        keyring.decrypt(stored, associated_data=OTHER_TENANT)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plaintext-token",
        "v2:abcd1234:AAAA",
        "v1:abcd1234:AAAA",
        "v1:{kid}:not base64!",
        "v1:{kid}:AAAA",
        "v1:{kid}:",
    ],
)
def test_garbage_is_a_decryption_error(stored: str) -> None:
    keyring = Keyring(current=new_key())
    with pytest.raises(DecryptionError):
        keyring.decrypt(stored.format(kid=keyring.current_key_id), associated_data=TENANT)


def test_keys_must_be_256_bits() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring(current=secrets.token_bytes(16))
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring(current=new_key(), previous=[b"short"])


def test_after_a_rotation_old_values_still_decrypt_and_are_flagged_for_reencryption() -> None:
    old, new = new_key(), new_key()
    before = Keyring(current=old)
    stored_old = before.encrypt("EAAG-access-token", associated_data=TENANT)

    rotated = Keyring(current=new, previous=[old])
    assert rotated.decrypt(stored_old, associated_data=TENANT) == "EAAG-access-token"
    assert rotated.needs_rotation(stored_old)
    stored_new = rotated.encrypt("EAAG-access-token", associated_data=TENANT)
    assert not rotated.needs_rotation(stored_new)
    assert stored_new.split(":")[1] == key_id_for(new)

    # Once the old key is dropped from the configuration, old values are unreadable.
    with pytest.raises(DecryptionError, match="no key"):
        Keyring(current=new).decrypt(stored_old, associated_data=TENANT)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[str, AsyncEngine]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crypto.db'}"
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    try:
        yield url, engine
    finally:
        await engine.dispose()


async def _store_numbers(engine: AsyncEngine, keyring: Keyring) -> list[uuid.UUID]:
    """Two tenants, each with a number whose access token and app secret are encrypted by `keyring`."""
    async with unit_of_work(make_sessionmaker(engine)) as session:
        tenants = [Tenant(name=f"Company {i}", slug=f"company-{i}") for i in range(2)]
        session.add_all(tenants)
        await session.flush()
        for index, tenant in enumerate(tenants):
            session.add(
                PhoneNumber(
                    tenant_id=tenant.id,
                    waba_id="9876543210",
                    phone_number_id=f"55500000{index}",
                    display_phone_number=f"+1 555-000-000{index}",
                    access_token_encrypted=encrypt_credential(keyring, tenant.id, f"token-{index}"),
                    app_secret_encrypted=encrypt_credential(keyring, tenant.id, f"secret-{index}"),
                )
            )
        return [t.id for t in tenants]


async def _stored(engine: AsyncEngine) -> list[PhoneNumber]:
    async with unit_of_work(make_sessionmaker(engine)) as session:
        return list(
            (await session.execute(select(PhoneNumber).order_by(PhoneNumber.phone_number_id))).scalars()
        )


async def test_reencrypting_moves_every_credential_to_the_current_key(
    database: tuple[str, AsyncEngine],
) -> None:
    _, engine = database
    old, new = new_key(), new_key()
    await _store_numbers(engine, Keyring(current=old))
    rotated = Keyring(current=new, previous=[old])

    async with unit_of_work(make_sessionmaker(engine)) as session:
        assert await reencrypt_credentials(session, rotated) == 4

    only_new = Keyring(current=new)
    for index, number in enumerate(await _stored(engine)):
        assert (
            decrypt_credential(only_new, number.tenant_id, number.access_token_encrypted) == f"token-{index}"
        )
        assert number.app_secret_encrypted is not None
        assert (
            decrypt_credential(only_new, number.tenant_id, number.app_secret_encrypted) == f"secret-{index}"
        )

    async with unit_of_work(make_sessionmaker(engine)) as session:
        assert await reencrypt_credentials(session, rotated) == 0


def test_the_rotate_key_command_reencrypts_the_stored_credentials(
    database: tuple[str, AsyncEngine],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = database
    old, new = new_key(), new_key()
    asyncio.run(_store_numbers(engine, Keyring(current=old)))
    for name in list(os.environ):
        if name.startswith("WADESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WADESK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("WADESK_DATABASE_URL", url)
    monkeypatch.setenv("WADESK_ENCRYPTION_KEY", base64.b64encode(new).decode())
    monkeypatch.setenv("WADESK_PREVIOUS_ENCRYPTION_KEYS", base64.b64encode(old).decode())
    sigpipe = signal.getsignal(signal.SIGPIPE)
    try:
        assert main(["rotate-key"]) == 0
    finally:
        signal.signal(signal.SIGPIPE, sigpipe)
    assert "re-encrypted 4 credential(s)" in capsys.readouterr().out

    only_new = Keyring(current=new)
    numbers = asyncio.run(_stored(engine))
    assert not any(only_new.needs_rotation(n.access_token_encrypted) for n in numbers)
    assert decrypt_credential(only_new, numbers[0].tenant_id, numbers[0].access_token_encrypted) == "token-0"
