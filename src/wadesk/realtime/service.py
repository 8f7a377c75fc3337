"""Realtime events are published after the transaction that caused them commits, never before."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.db.session import run_after_commit
from wadesk.infra.runtime import Runtime
from wadesk.integrations.service import dispatch_events

log = structlog.get_logger(__name__)
# A realtime event is not worth holding a response or a job for: past this, it is dropped (and logged).
PUBLISH_TIMEOUT_SECONDS = 2.0


async def publish_event(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    audience: frozenset[uuid.UUID] | None = None,
) -> bool:
    """Publish on the realtime bus; False (logged) when the bus is unreachable. The change is committed
    already, so its caller carries on: a client that missed the event sees the change on its next read."""
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await runtime.bus.publish(tenant_id, event_type, data, audience)
    except Exception as exc:
        log.warning("realtime_publish_failed", event_type=event_type, error=f"{type(exc).__name__}: {exc}")
        return False
    return True


async def publish_events(
    runtime: Runtime, tenant_id: uuid.UUID, events: list[tuple[str, dict[str, Any]]]
) -> bool:
    """Publish several events of one tenant, for everyone in it, in order and in one go; as publish_event."""
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await runtime.bus.publish_many(tenant_id, events)
    except Exception as exc:
        log.warning(
            "realtime_publish_failed",
            event_type=",".join(sorted({kind for kind, _ in events})),
            error=f"{type(exc).__name__}: {exc}",
        )
        return False
    return True


def publish_after_commit(
    session: AsyncSession,
    runtime: Runtime,
    tenant_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    audience: frozenset[uuid.UUID] | None = None,
) -> None:
    async def publish() -> None:
        await publish_event(runtime, tenant_id, event_type, data, audience)
        if audience is None:  # events addressed to some users stay inside the team
            await dispatch_events(runtime, tenant_id, [(event_type, data)])

    run_after_commit(session, publish)
