"""`process_webhook_event`: a stored delivery becomes rows, then realtime events (after the commit)."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import update

from wadesk.db.base import utcnow
from wadesk.db.session import commit
from wadesk.infra.jobs import job
from wadesk.infra.runtime import current_runtime
from wadesk.realtime.publisher import publish_changes
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus
from wadesk.webhooks.processing import apply_updates
from wadesk.whatsapp.webhook import WebhookPayloadError, parse_updates

log = structlog.get_logger(__name__)


@job("process_webhook_event")
async def process_webhook_event(event_id: str) -> str:
    """Process one stored delivery. Safe to run any number of times: a processed event is left alone, and
    every write is idempotent. A failure rolls back the delivery's writes and marks the event failed with
    the reason, replayable from the API."""
    runtime = current_runtime()
    key = uuid.UUID(event_id)
    async with runtime.sessionmaker() as session:
        event = await session.get(WebhookEvent, key)
        if event is None or event.status == WebhookEventStatus.PROCESSED:
            return "skipped"
        raw = event.raw_body
        try:
            updates = parse_updates(raw)
        except WebhookPayloadError as exc:
            await _mark_failed(key, f"unparseable: {exc}")
            log.warning("webhook_event_unparseable", event_id=event_id, error=str(exc))
            return "failed"
        try:
            outcome = await apply_updates(session, updates)
            event.status = WebhookEventStatus.PROCESSED
            event.processed_at = utcnow()
            event.attempts += 1
            event.error = None
            event.notes = "; ".join(outcome.notes)[:4000] or None
            if event.tenant_id is None and outcome.tenant_ids:
                event.tenant_id = outcome.tenant_ids[0]
            await commit(session)
        except Exception as exc:
            await session.rollback()
            await _mark_failed(key, f"{type(exc).__name__}: {exc}")
            log.exception("webhook_event_failed", event_id=event_id)
            raise
    log.info("webhook_event_processed", event_id=event_id, updates=len(updates), notes=len(outcome.notes))
    await publish_changes(runtime, [(e.tenant_id, e.kind, e.subject_id) for e in outcome.events])
    for tenant_id, message_id in outcome.media_downloads:
        await runtime.jobs.send_now("download_media", message_id=str(message_id), tenant_id=str(tenant_id))
    return "processed"


async def _mark_failed(event_id: uuid.UUID, reason: str) -> None:
    runtime = current_runtime()
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id, WebhookEvent.status != WebhookEventStatus.PROCESSED)
            .values(status=WebhookEventStatus.FAILED, error=reason[:4000], attempts=WebhookEvent.attempts + 1)
        )
        await session.commit()
