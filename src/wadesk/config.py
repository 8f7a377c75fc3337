"""Settings from `WADESK_*` environment variables; they decide the mode (embedded or production)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Callable
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, field_validator
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
# A UUID written as one (8-4-4-4-12). Not any 32 hex digits: that is also the format of Meta's app secrets.
_UUID_SHAPE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
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
    # > 0: the simulator posts a number's statuses due within this window together, as Meta batches them.
    simulator_status_batch_seconds: float = Field(default=0.0, ge=0, le=10)
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
    # The sweeper re-queues work whose queue entry was lost: how often it looks, and how long a webhook event
    # may wait unprocessed first (longer than a normal backlog takes, or busy events get queued twice).
    sweep_interval_seconds: float = Field(default=10.0, gt=0)
    sweep_webhook_stale_seconds: float = Field(default=30.0, gt=0)
    log_json: bool | None = None
    trusted_proxies: str = ""
    # Connections each process keeps to PostgreSQL, and how many more it may open under load. The pool closes
    # those extra ones as soon as they are returned, so a process under steady load past its pool would connect
    # and disconnect on nearly every request: the default keeps them all instead.
    database_pool_size: int = Field(default=20, ge=1)
    database_max_overflow: int = Field(default=0, ge=0)

    # API rate limits in the `limits` notation ("20/second", several joined by ";"). Meta's webhook
    # deliveries and the health probes are never limited. Counters live in Redis when it is configured, so
    # every API process shares them.
    rate_limit_enabled: bool = True
    # All API requests of the deployment together.
    rate_limit_global: str = "2000/second"
    # Per client address, for requests without a valid access token.
    rate_limit_anonymous: str = "300/minute"
    # Per company, for a plan without its own entry in rate_limit_plans.
    rate_limit_tenant: str = "3000/minute"
    # Per company by plan (tenants.plan), as a JSON object: {"enterprise": "100/second;12000/minute"}.
    rate_limit_plans: str = ""

    # /metrics answers only with `Authorization: Bearer <this token>`; unset, /metrics does not exist.
    metrics_token: str | None = None
    # `wadesk worker` serves its own metrics on this port (keep it on the internal network); unset: none.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("rate_limit_global", "rate_limit_anonymous", "rate_limit_tenant")
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        parse_many(value)  # raises ValueError naming the bad part
        return value

    @field_validator("rate_limit_plans")
    @classmethod
    def _valid_plan_limits(cls, value: str) -> str:
        _plan_limits(value)  # raises ValueError naming the problem
        return value

    @property
    def rate_limit_plan_map(self) -> dict[str, str]:
        """Plan name -> limits, from rate_limit_plans."""
        return _plan_limits(self.rate_limit_plans)

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


def _plan_limits(value: str) -> dict[str, str]:
    if not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"must be a JSON object of plan -> limits: {exc}") from exc
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
    ):
        raise ValueError('must be a JSON object of plan -> limits, e.g. {"enterprise": "100/second"}')
    for limit in parsed.values():
        parse_many(limit)
    return parsed


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
