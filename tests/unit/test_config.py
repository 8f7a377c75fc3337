"""Settings: production refuses weak or missing secrets; development makes its own once and keeps them."""

from __future__ import annotations

import base64
import os
import secrets
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from wadesk.config import InsecureSettingsError, Settings, decode_encryption_key

WADESK = Path(sys.executable).with_name("wadesk")


def strong_secrets() -> dict[str, str]:
    return {
        "jwt_secret": secrets.token_urlsafe(48),
        "encryption_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "meta_app_secret": secrets.token_hex(16),
        "meta_verify_token": secrets.token_urlsafe(24),
    }


def production(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"env": "production", "data_dir": tmp_path, **strong_secrets()}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(autouse=True)
def no_wadesk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WADESK_"):
            monkeypatch.delenv(name)


def test_production_accepts_strong_secrets_and_generates_nothing(tmp_path: Path) -> None:
    settings = production(tmp_path)
    assert settings.with_generated_secrets() is settings
    assert not (tmp_path / "secrets").exists()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("jwt_secret", None, "missing"),
        ("jwt_secret", "", "missing"),
        ("jwt_secret", "short-but-not-empty", "shorter than 32"),
        ("jwt_secret", str(uuid.uuid4()), "UUID"),
        ("jwt_secret", "supersecretjwtkeyforproductionchangeit", "sample"),
        ("jwt_secret", "SuperSecretJWTKeyForProductionChangeIt", "sample"),
        ("encryption_key", None, "missing"),
        ("encryption_key", "16be837f-4ae8-468f-a6cd-8347021b1202", "sample"),
        ("encryption_key", str(uuid.uuid4()), "UUID"),
        ("encryption_key", base64.b64encode(secrets.token_bytes(16)).decode(), "shorter"),
        ("encryption_key", base64.b64encode(secrets.token_bytes(48)).decode(), "32 bytes"),
        ("encryption_key", "!" * 44, "base64"),
        ("meta_app_secret", None, "missing"),
        ("meta_app_secret", "changeme", "sample"),
        ("meta_app_secret", "abc123", "shorter"),
        ("meta_verify_token", None, "missing"),
        ("meta_verify_token", str(uuid.uuid4()), "UUID"),
    ],
)
def test_production_refuses_a_missing_or_weak_secret_naming_it(
    tmp_path: Path, field: str, value: str | None, reason: str
) -> None:
    settings = production(tmp_path, **{field: value})
    with pytest.raises(InsecureSettingsError) as raised:
        settings.with_generated_secrets()
    message = str(raised.value)
    assert f"WADESK_{field.upper()}" in message
    assert reason.lower() in message.lower()
    # Only the bad one is named.
    others = {"jwt_secret", "encryption_key", "meta_app_secret", "meta_verify_token"} - {field}
    assert not [other for other in others if f"WADESK_{other.upper()} " in message]
    assert not (tmp_path / "secrets").exists()


def test_production_accepts_a_meta_app_secret_in_metas_own_format(tmp_path: Path) -> None:
    # Meta's app secrets are 32 hexadecimal digits: as many as a UUID, but not UUID-shaped.
    settings = production(tmp_path, meta_app_secret=secrets.token_hex(16))
    assert settings.with_generated_secrets() is settings


def test_production_names_every_problem_at_once(tmp_path: Path) -> None:
    settings = Settings(env="production", data_dir=tmp_path, jwt_secret="weak")
    with pytest.raises(InsecureSettingsError) as raised:
        settings.with_generated_secrets()
    for name in (
        "WADESK_JWT_SECRET",
        "WADESK_ENCRYPTION_KEY",
        "WADESK_META_APP_SECRET",
        "WADESK_META_VERIFY_TOKEN",
    ):
        assert name in str(raised.value)


def _environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WADESK_")}
    env.update({"WADESK_DATA_DIR": str(tmp_path), **variables})
    return env


def test_serve_in_production_with_a_weak_secret_exits_with_a_clear_message(tmp_path: Path) -> None:
    strong = strong_secrets()
    result = subprocess.run(
        [str(WADESK), "serve", "--port", "0"],
        env=_environment(
            tmp_path,
            WADESK_ENV="production",
            WADESK_JWT_SECRET="changeme-please",
            WADESK_ENCRYPTION_KEY=strong["encryption_key"],
            WADESK_META_APP_SECRET=strong["meta_app_secret"],
            WADESK_META_VERIFY_TOKEN=strong["meta_verify_token"],
            WADESK_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'never-created.db'}",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "WADESK_JWT_SECRET" in result.stderr
    assert "production" in result.stderr
    assert "Traceback" not in result.stderr
    assert "WADESK_ENCRYPTION_KEY" not in result.stderr
    assert not (tmp_path / "secrets").exists()


def test_development_generates_secrets_once_and_reuses_them(tmp_path: Path) -> None:
    first = Settings(env="development", data_dir=tmp_path).with_generated_secrets()
    second = Settings(env="development", data_dir=tmp_path).with_generated_secrets()

    for field in ("jwt_secret", "encryption_key", "meta_app_secret", "meta_verify_token"):
        value = getattr(first, field)
        assert value, field
        assert getattr(second, field) == value, field
        stored = tmp_path / "secrets" / field
        assert stored.read_text().strip() == value
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert first.jwt_secret is not None
    assert len(first.jwt_secret) >= 32
    assert first.encryption_key is not None
    assert len(decode_encryption_key(first.encryption_key)) == 32


def test_development_keeps_secrets_that_are_given(tmp_path: Path) -> None:
    given = Settings(
        env="development", data_dir=tmp_path, jwt_secret="given-jwt-secret"
    ).with_generated_secrets()
    assert given.jwt_secret == "given-jwt-secret"
    assert not (tmp_path / "secrets" / "jwt_secret").exists()
    assert (tmp_path / "secrets" / "encryption_key").exists()


def test_different_data_dirs_get_different_secrets(tmp_path: Path) -> None:
    one = Settings(env="development", data_dir=tmp_path / "one").with_generated_secrets()
    two = Settings(env="development", data_dir=tmp_path / "two").with_generated_secrets()
    assert one.jwt_secret != two.jwt_secret
    assert one.encryption_key != two.encryption_key
