"""What a process holds while it runs: settings, database, queue, realtime bus, Graph client.

The API lifespan and the worker each build one; jobs reach it through `current_runtime()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from wadesk.config import Settings, decode_encryption_key
from wadesk.infra.jobs import JobQueue
from wadesk.infra.pacing import SendPacer
from wadesk.infra.realtime import RealtimeBus
from wadesk.kit.crypto import Keyring
from wadesk.kit.tokens import TokenSigner
from wadesk.whatsapp.graph import GraphClient


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    keyring: Keyring
    signer: TokenSigner
    bus: RealtimeBus
    jobs: JobQueue
    graph: GraphClient
    pacer: SendPacer
    extras: dict[str, Any] = field(default_factory=dict)


_current: Runtime | None = None


def set_current_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current_runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("no runtime: the app or worker has not started")
    return _current


def keyring_from_settings(settings: Settings) -> Keyring:
    if not settings.encryption_key:
        raise RuntimeError("WADESK_ENCRYPTION_KEY is not set")
    previous = [
        decode_encryption_key(k.strip()) for k in settings.previous_encryption_keys.split(",") if k.strip()
    ]
    return Keyring(current=decode_encryption_key(settings.encryption_key), previous=previous)


def signer_from_settings(settings: Settings) -> TokenSigner:
    if not settings.jwt_secret:
        raise RuntimeError("WADESK_JWT_SECRET is not set")
    return TokenSigner(
        secret=settings.jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
