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
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus

log = structlog.get_logger(__name__)

SWEEP_INTERVAL_SECONDS = 10.0
WEBHOOK_STALE_AFTER = timedelta(seconds=30)
# Longer than a send with its in-job retries may take, so a slow send is not sent twice.
MESSAGE_STALE_AFTER = timedelta(seconds=90)
BATCH = 500


async def sweep_once(runtime: Runtime) -> dict[str, int]:
    """Re-enqueue stale rows once; returns how many of each kind were re-sent."""
    now = utcnow()
    async with runtime.sessionmaker() as session:
        event_ids = (
            (
                await session.execute(
                    select(WebhookEvent.id)
                    .where(
                        WebhookEvent.status == WebhookEventStatus.RECEIVED,
                        WebhookEvent.received_at < now - WEBHOOK_STALE_AFTER,
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


async def _acquire_turn(runtime: Runtime) -> bool:
    redis = runtime.extras.get("redis")
    if redis is None:
        return True
    return bool(await redis.set("wadesk:sweeper:lock", "1", nx=True, ex=int(SWEEP_INTERVAL_SECONDS) - 1))


async def run_sweeper(
    runtime: Runtime, stop: asyncio.Event, interval: float = SWEEP_INTERVAL_SECONDS
) -> None:
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        try:
            if await _acquire_turn(runtime):
                await sweep_once(runtime)
        except Exception as exc:  # a database or Redis outage: try again next interval
            log.warning("sweeper_failed", error=str(exc))
