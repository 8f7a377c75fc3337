"""Realtime events are published after the transaction that caused them commits, never before."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.db.session import run_after_commit
from wadesk.infra.runtime import Runtime


def publish_after_commit(
    session: AsyncSession,
    runtime: Runtime,
    tenant_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    audience: frozenset[uuid.UUID] | None = None,
) -> None:
    async def publish() -> None:
        await runtime.bus.publish(tenant_id, event_type, data, audience)

    run_after_commit(session, publish)
