"""`process_webhook_event`: a stored delivery becomes rows, then realtime events (after the commit).

The events' payloads are read in the delivery's own transaction, just before it commits: what they show is
what the commit makes visible, without a second session per delivery."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import update

from wadesk.db.base import utcnow
from wadesk.db.session import commit
from wadesk.infra import metrics
from wadesk.infra.jobs import job
from wadesk.infra.runtime import current_runtime
from wadesk.realtime.publisher import publish_payloads, read_payloads
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus
from wadesk.webhooks.processing import apply_updates, tenants_concerned
from wadesk.whatsapp.webhook import WebhookPayloadError, WebhookUpdate, parse_updates

log = structlog.get_logger(__name__)


@job("process_webhook_event")
async def process_webhook_event(event_id: str) -> str:
    """Process one stored delivery. Safe to run any number of times: the event's row is locked while it is
    processed and a processed event is left alone, so a delivery is applied once however often its id is
    queued; every write is idempotent besides. A failure rolls back the delivery's writes and marks the event
    failed with the reason, replayable from the API."""
    runtime = current_runtime()
    key = uuid.UUID(event_id)
    log_ctx = {"event_id": event_id}
    async with runtime.sessionmaker() as session:
        # The row lock makes a second run of the same event (a sweeper re-send, a reclaimed stream entry)
        # wait here and then see `processed`; SQLite's BEGIN IMMEDIATE serialises the same way.
        event = await session.get(WebhookEvent, key, with_for_update=True)
        if event is None or event.status == WebhookEventStatus.PROCESSED:
            return "skipped"
        try:
            updates = parse_updates(event.raw_body)
        except WebhookPayloadError as exc:
            _fail(event, f"unparseable: {exc}")
            await commit(session)
            log.warning("webhook_event_unparseable", error=str(exc), **log_ctx)
            metrics.record_webhook_failed("unparseable")
            return "failed"
        try:
            outcome = await apply_updates(session, updates, only_tenant=event.tenant_id)
            event.status = WebhookEventStatus.PROCESSED
            event.processed_at = utcnow()
            event.attempts += 1
            event.error = None
            event.notes = "; ".join(outcome.notes)[:4000] or None
            if event.tenant_id is None and outcome.tenant_ids:
                event.tenant_id = outcome.tenant_ids[0]
            payloads = await read_payloads(
                session, [(e.tenant_id, e.kind, e.subject_id) for e in outcome.events]
            )
            await commit(session)
        except Exception as exc:
            await session.rollback()
            await _mark_failed(key, f"{type(exc).__name__}: {exc}", updates)
            log.exception("webhook_event_failed", **log_ctx)
            metrics.record_webhook_failed("error")
            raise
    log.info("webhook_event_processed", updates=len(updates), notes=len(outcome.notes), **log_ctx)
    metrics.record_webhook_processed(event.received_at)
    await publish_payloads(runtime, payloads)
    for tenant_id, message_id in outcome.media_downloads:
        await runtime.jobs.send_now("download_media", message_id=str(message_id), tenant_id=str(tenant_id))
    return "processed"


def _fail(event: WebhookEvent, reason: str) -> None:
    event.status = WebhookEventStatus.FAILED
    event.error = reason[:4000]
    event.attempts += 1


async def _mark_failed(event_id: uuid.UUID, reason: str, updates: list[WebhookUpdate]) -> None:
    """Record the failure in a fresh transaction. The event is attributed to the company whose number or
    account it concerns, so that company's admins see it in their list and can replay it."""
    runtime = current_runtime()
    async with runtime.sessionmaker() as session:
        tenant_ids = await tenants_concerned(session, updates)
        values: dict[str, object] = {
            "status": WebhookEventStatus.FAILED,
            "error": reason[:4000],
            "attempts": WebhookEvent.attempts + 1,
        }
        statement = update(WebhookEvent).where(
            WebhookEvent.id == event_id, WebhookEvent.status != WebhookEventStatus.PROCESSED
        )
        await session.execute(statement.values(**values))
        if tenant_ids:
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id, WebhookEvent.tenant_id.is_(None))
                .values(tenant_id=tenant_ids[0])
            )
        await session.commit()
