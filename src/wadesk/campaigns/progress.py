"""Live campaign progress: `campaign.updated` events (the stats) on the company's realtime channel, for admins,
and to the company's outbound webhooks subscribed to them.

A running campaign changes hundreds of times a second (sends, then delivery and read webhooks), so events are
throttled per campaign: at most one per second, and the last change in a burst is always published (trailing
edge), so a client never stays on a stale figure.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from wadesk.infra.runtime import Runtime
from wadesk.integrations.service import dispatch_events

log = structlog.get_logger(__name__)

EVENT = "campaign.updated"
MIN_INTERVAL_SECONDS = 1.0
# Only admins see campaigns: an empty audience means "admins only" on the realtime bus.
ADMINS_ONLY: frozenset[uuid.UUID] = frozenset()

PayloadBuilder = Callable[[Runtime, uuid.UUID, uuid.UUID], Awaitable[dict[str, Any] | None]]


class ProgressPublisher:
    def __init__(self, runtime: Runtime, build: PayloadBuilder) -> None:
        self._runtime = runtime
        self._build = build
        self._last: dict[uuid.UUID, float] = {}
        self._pending: dict[uuid.UUID, asyncio.Task[None]] = {}

    def notify(self, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> None:
        """Publish this campaign's progress soon (coalesced with other changes of the next second)."""
        if campaign_id in self._pending:
            return
        delay = max(0.0, self._last.get(campaign_id, 0.0) + MIN_INTERVAL_SECONDS - time.monotonic())
        task = asyncio.get_running_loop().create_task(self._publish(tenant_id, campaign_id, delay))
        self._pending[campaign_id] = task

    @property
    def idle(self) -> bool:
        return not self._pending

    async def wait_idle(self) -> None:
        """Return once every scheduled event has gone out (the trailing one may be a second away)."""
        while self._pending:
            await asyncio.gather(*self._pending.values(), return_exceptions=True)

    async def _publish(self, tenant_id: uuid.UUID, campaign_id: uuid.UUID, delay: float) -> None:
        me = asyncio.current_task()
        try:
            if delay:
                await asyncio.sleep(delay)
        finally:
            # Changes from here on get an event of their own; this one reads the state as of now.
            if self._pending.get(campaign_id) is me:
                del self._pending[campaign_id]
        self._last[campaign_id] = time.monotonic()
        try:
            payload = await self._build(self._runtime, tenant_id, campaign_id)
            if payload is not None:
                await self._runtime.bus.publish(tenant_id, EVENT, payload, ADMINS_ONLY)
                # Integrations subscribed to campaign progress get the same throttled figures.
                await dispatch_events(self._runtime, tenant_id, [(EVENT, payload)])
        except Exception as exc:  # progress is best effort; the stats endpoint has the truth
            log.warning("campaign_progress_failed", campaign_id=str(campaign_id), error=str(exc))
