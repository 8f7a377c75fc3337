"""The sweeper: re-enqueues work whose queue entry was lost (Redis restart, worker killed).

The rows are the truth. A webhook event still `received`, or a message still `queued`/`sending`, past its
timeout is sent to the queue again; the handlers are idempotent, so a duplicate costs nothing. In production
a Redis lock lets one sweeper act per interval, however many workers run.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from sqlalchemy import select

from wadesk.db.base import utcnow
from wadesk.infra.runtime import Runtime
from wadesk.messages.models import Message, MessageStatus
from wadesk.ops.periodic import queue_periodic_jobs
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus

log = structlog.get_logger(__name__)

# How often the sweeper looks and how long a webhook event may wait are settings
# (sweep_interval_seconds, sweep_webhook_stale_seconds). Longer than a send with its in-job retries may take, so a slow send is not sent twice.
MESSAGE_STALE_AFTER = timedelta(seconds=90)
BATCH = 500


async def sweep_once(runtime: Runtime) -> dict[str, int]:
    """Re-enqueue stale rows once; returns how many of each kind were re-sent."""
    now = utcnow()
    webhook_stale_after = timedelta(seconds=runtime.settings.sweep_webhook_stale_seconds)
    async with runtime.sessionmaker() as session:
        event_ids = (
            (
                await session.execute(
                    select(WebhookEvent.id)
                    .where(
                        WebhookEvent.status == WebhookEventStatus.RECEIVED,
                        WebhookEvent.received_at < now - webhook_stale_after,
                    )
                    .order_by(WebhookEvent.received_at)
                    .limit(BATCH)
                )
            )
            .scalars()
            .all()
        )
        messages = (
            await session.execute(
                select(Message.id, Message.tenant_id)
                .where(
                    Message.status.in_((MessageStatus.QUEUED, MessageStatus.SENDING)),
                    Message.updated_at < now - MESSAGE_STALE_AFTER,
                )
                .order_by(Message.updated_at)
                .limit(BATCH)
            )
        ).all()
    for event_id in event_ids:
        await runtime.jobs.send_now("process_webhook_event", event_id=str(event_id))
    for message_id, tenant_id in messages:
        await runtime.jobs.send_now("send_message", message_id=str(message_id), tenant_id=str(tenant_id))
    if event_ids or messages:
        log.info("sweeper_requeued", webhook_events=len(event_ids), messages=len(messages))
    return {"webhook_events": len(event_ids), "messages": len(messages)}


async def _acquire_turn(runtime: Runtime, interval: float) -> bool:
    redis = runtime.extras.get("redis")
    if redis is None:
        return True
    # Held for most of an interval: however many processes run a sweeper, one of them acts per interval.
    lease_ms = max(int(interval * 900), 100)
    return bool(await redis.set("wadesk:sweeper:lock", "1", nx=True, px=lease_ms))


async def run_sweeper(runtime: Runtime, stop: asyncio.Event, interval: float | None = None) -> None:
    every = interval if interval is not None else runtime.settings.sweep_interval_seconds
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        if stop.is_set():
            return
        try:
            if await _acquire_turn(runtime, every):
                await sweep_once(runtime)
                await queue_periodic_jobs(runtime)
        except Exception as exc:  # a database or Redis outage: try again next interval
            log.warning("sweeper_failed", error=str(exc))
