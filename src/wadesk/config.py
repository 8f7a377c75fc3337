"""Settings from `WADESK_*` environment variables; they decide the mode (embedded or production)."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Callable
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Sample values from the seed document: never acceptable as real secrets.
KNOWN_SAMPLE_SECRETS = frozenset(
    {
        "supersecretjwtkeyforproductionchangeit",
        "16be837f-4ae8-468f-a6cd-8347021b1202",
        "changeme",
        "secret",
    }
)
_UUID_SHAPE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
MIN_JWT_SECRET_LENGTH = 32


class Mode(StrEnum):
    EMBEDDED = "embedded"
    PRODUCTION = "production"


class InsecureSettingsError(RuntimeError):
    """The configuration is unsafe for production; the message says which setting and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WADESK_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None
    jwt_secret: str | None = None
    encryption_key: str | None = None
    # Older keys (base64, comma separated) still accepted for decryption until `wadesk rotate-key` has run.
    previous_encryption_keys: str = ""
    meta_app_secret: str | None = None
    # Extra app secrets accepted on webhooks during a rotation, comma separated.
    meta_previous_app_secrets: str = ""
    meta_verify_token: str | None = None
    graph_api_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v23.0"
    simulator: bool = False
    # Seconds between the simulated customers' spontaneous messages in the demo; 0 turns them off.
    simulator_ambient_seconds: float = 0
    simulator_duplicate_ratio: float = Field(default=0.05, ge=0, le=1)
    simulator_out_of_order_ratio: float = Field(default=0.05, ge=0, le=1)
    public_url: str = "http://127.0.0.1:8000"

    access_token_ttl_seconds: int = Field(default=900, ge=10)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    jwt_issuer: str = "wadesk"
    jwt_audience: str = "wadesk-api"

    cors_origins: str = ""
    max_body_bytes: int = 3 * 1024 * 1024
    login_failures_per_account_per_minute: int = 5
    login_failures_per_ip_per_minute: int = 20
    reopen_resolved_conversations: bool = True
    worker_concurrency: int = 16
    log_json: bool | None = None
    trusted_proxies: str = ""

    @property
    def mode(self) -> Mode:
        return Mode.PRODUCTION if self.redis_url else Mode.EMBEDDED

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'wadesk.db').resolve()}"

    @property
    def graph_base_url(self) -> str:
        if self.simulator:
            return f"{self.public_url.rstrip('/')}/simulator"
        return self.graph_api_url.rstrip("/")

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def meta_app_secrets(self) -> list[str]:
        current = [self.meta_app_secret] if self.meta_app_secret else []
        previous = [s.strip() for s in self.meta_previous_app_secrets.split(",") if s.strip()]
        return current + previous

    def with_generated_secrets(self) -> Settings:
        """Fill missing development secrets from files under the data dir, creating them once.

        Production never generates: a missing or weak secret is refused by `check_production_secrets`.
        """
        if self.is_production:
            check_production_secrets(self)
            return self
        updates: dict[str, str] = {}
        if not self.jwt_secret:
            updates["jwt_secret"] = self._kept_secret("jwt_secret", lambda: secrets.token_urlsafe(48))
        if not self.encryption_key:
            updates["encryption_key"] = self._kept_secret(
                "encryption_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
            )
        if not self.meta_app_secret:
            updates["meta_app_secret"] = self._kept_secret("meta_app_secret", lambda: secrets.token_hex(16))
        if not self.meta_verify_token:
            updates["meta_verify_token"] = self._kept_secret(
                "meta_verify_token", lambda: secrets.token_urlsafe(24)
            )
        return self.model_copy(update=updates) if updates else self

    def _kept_secret(self, name: str, generate: Callable[[], str]) -> str:
        path = self.data_dir / "secrets" / name
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = generate()
        path.write_text(value)
        path.chmod(0o600)
        return value


def decode_encryption_key(value: str) -> bytes:
    """Decode a base64 AES-256 key; raises ValueError unless it is exactly 32 bytes."""
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be base64") from exc
    if len(key) != 32:
        raise ValueError(f"must decode to 32 bytes, got {len(key)}")
    return key


def _weakness(value: str | None, *, min_length: int) -> str | None:
    if not value:
        return "is missing"
    if value.strip().lower() in KNOWN_SAMPLE_SECRETS:
        return "is a published sample value"
    if _UUID_SHAPE.match(value.strip()):
        return "is UUID-shaped (guessable structure, too little entropy)"
    if len(value) < min_length:
        return f"is shorter than {min_length} characters"
    return None


def check_production_secrets(settings: Settings) -> None:
    """Refuse weak or missing secrets in production, naming every problem at once."""
    problems: list[str] = []
    if reason := _weakness(settings.jwt_secret, min_length=MIN_JWT_SECRET_LENGTH):
        problems.append(f"WADESK_JWT_SECRET {reason}")
    if reason := _weakness(settings.encryption_key, min_length=40):
        problems.append(f"WADESK_ENCRYPTION_KEY {reason}")
    elif settings.encryption_key:
        try:
            decode_encryption_key(settings.encryption_key)
        except ValueError as exc:
            problems.append(f"WADESK_ENCRYPTION_KEY {exc}")
    if reason := _weakness(settings.meta_app_secret, min_length=16):
        problems.append(f"WADESK_META_APP_SECRET {reason}")
    if reason := _weakness(settings.meta_verify_token, min_length=16):
        problems.append(f"WADESK_META_VERIFY_TOKEN {reason}")
    if problems:
        raise InsecureSettingsError("refusing to start in production: " + "; ".join(problems))
