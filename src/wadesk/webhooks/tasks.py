"""`process_webhook_event`: stored deliveries become rows, then realtime events (after the commit).

On PostgreSQL a job takes its own delivery and up to BATCH_LIMIT - 1 more waiting ones of the same kind (see
STATUSES_MARKER) into one transaction: one commit, one routing lookup per number and one read of the events'
payloads for the lot, instead of one of each per delivery. The jobs of the deliveries taken along find them
processed and stop. A batch that fails is rolled back whole and its deliveries are processed one by one, so
one bad delivery fails alone.

The events' payloads are read in the deliveries' own transaction, just before it commits: what they show is
what the commit makes visible, without a second session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from wadesk.db import raw
from wadesk.db.base import utcnow
from wadesk.db.session import commit, database_unreachable
from wadesk.infra import metrics
from wadesk.infra.jobs import job
from wadesk.infra.runtime import Runtime, current_runtime
from wadesk.realtime.publisher import Payloads, publish_payloads, read_payloads
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus
from wadesk.webhooks.processing import (
    Outcome,
    apply_updates,
    lock_contacts,
    lock_status_targets,
    tenants_concerned,
)
from wadesk.webhooks.repository import WebhookEventRepository, waiting
from wadesk.whatsapp.webhook import WebhookPayloadError, WebhookUpdate, parse_updates

log = structlog.get_logger(__name__)

# Deliveries per transaction. SQLite takes one at a time: its writers queue for the database's only write
# lock, which a batch would hold for longer than the API's writers should wait.
BATCH_LIMIT = 32
# A batch takes every lock it needs up front, in one order: inbound messages lock their customers
# (lock_contacts), statuses their messages and campaign recipients (lock_status_targets). Statuses and inbound
# messages go in separate batches, since an inbound reaction or revocation locks the message it names only
# when it is applied; a delivery carrying both is applied alone. Told apart by the body's keys, in SQL.
STATUSES_MARKER = b'"statuses":'
MESSAGES_MARKER = b'"messages":'


@dataclass
class _Applied:
    """What a committed transaction leaves to do: publish, fetch media, count."""

    payloads: Payloads = field(default_factory=dict)
    media_downloads: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    processed: list[WebhookEvent] = field(default_factory=list)
    unparseable: list[WebhookEvent] = field(default_factory=list)


@job("process_webhook_event")
async def process_webhook_event(event_id: str) -> str:
    """Process one stored delivery (and, on PostgreSQL, others waiting). Safe to run any number of times: a
    delivery's row is locked while it is processed and one no longer `received` is left alone, so it is applied
    once however often its id is queued; every write is idempotent besides. A failure rolls back the delivery's
    writes and marks it failed with the reason, replayable from the API; losing the database on the way is not
    a failure of the delivery, which stays `received` for the sweeper."""
    runtime = current_runtime()
    key = uuid.UUID(event_id)
    batches = runtime.engine.dialect.name == "postgresql"
    if batches and raw.supported(runtime.engine) and not await waiting(runtime.engine, key):
        return "skipped"
    async with runtime.sessionmaker() as session:
        # A delivery whose row another transaction holds is being processed there (a batch took it along, a
        # sweeper re-send overtook its queue entry): that transaction applies it, or records its failure, and
        # should its worker die instead the row is left `received` for the sweeper. SQLite's BEGIN IMMEDIATE
        # serialises jobs instead, and the second sees `processed`.
        event = await session.get(WebhookEvent, key, with_for_update={"skip_locked": True})
        if event is None or event.status != WebhookEventStatus.RECEIVED:
            return "skipped"
        batch = [event]
        if batches:
            batch += await _claim_companions(session, event)
        ids = [e.id for e in batch]
        raw_body = event.raw_body  # a rollback expires the row
        try:
            applied = await _apply(session, batch)
        except Exception as exc:
            if database_unreachable(exc):
                # Not the delivery's fault: left `received`, so the sweeper queues it again once the database
                # is back. Marked failed, it would wait for someone to replay it.
                log.warning("webhook_event_deferred", event_id=event_id, error=f"{type(exc).__name__}: {exc}")
                raise
            await session.rollback()
            if len(batch) == 1:
                await _mark_failed(key, exc, raw_body)
                raise
            log.warning("webhook_batch_failed", event_id=event_id, size=len(batch), error=repr(exc))
            applied = None
    if applied is None:
        return await _one_by_one(key, ids)
    await _finish(runtime, applied)
    return "failed" if event in applied.unparseable else "processed"


async def _claim_companions(session: AsyncSession, event: WebhookEvent) -> list[WebhookEvent]:
    """Up to BATCH_LIMIT - 1 more waiting deliveries of the same kind as `event` (see STATUSES_MARKER)."""
    repository = WebhookEventRepository(session)
    statuses, messages = STATUSES_MARKER in event.raw_body, MESSAGES_MARKER in event.raw_body
    if statuses and messages:
        return []
    if statuses:
        return await repository.claim_received(
            BATCH_LIMIT - 1, exclude=event.id, containing=[STATUSES_MARKER], without=[MESSAGES_MARKER]
        )
    return await repository.claim_received(BATCH_LIMIT - 1, exclude=event.id, without=[STATUSES_MARKER])


async def _apply(session: AsyncSession, events: list[WebhookEvent]) -> _Applied:
    """Apply the deliveries in order in the session's transaction, then commit."""
    applied = _Applied()
    parsed: list[tuple[WebhookEvent, list[WebhookUpdate]]] = []
    for event in events:
        try:
            parsed.append((event, parse_updates(event.raw_body)))
        except WebhookPayloadError as exc:
            _fail(event, f"unparseable: {exc}")
            applied.unparseable.append(event)
    deliveries = [(updates, event.tenant_id) for event, updates in parsed]
    await lock_contacts(session, deliveries)
    await lock_status_targets(session, deliveries)
    changes: list[tuple[uuid.UUID, str, uuid.UUID]] = []
    outcomes = []
    for event, updates in parsed:
        outcome = await apply_updates(session, updates, only_tenant=event.tenant_id)
        outcomes.append((event, outcome))
        for change in ((e.tenant_id, e.kind, e.subject_id) for e in outcome.events):
            _announce_once(changes, change)
        applied.media_downloads += outcome.media_downloads
    await _mark_processed(session, outcomes)
    applied.processed += [event for event, _ in outcomes]
    applied.payloads = await read_payloads(session, changes)
    await commit(session)
    return applied


def _announce_once(
    changes: list[tuple[uuid.UUID, str, uuid.UUID]], change: tuple[uuid.UUID, str, uuid.UUID]
) -> None:
    """One event per subject for a batch, its payload read after every change: a subject created in the
    batch is announced as created, whatever happened to it next."""
    tenant_id, kind, subject_id = change
    created = (tenant_id, kind.replace(".updated", ".created"), subject_id)
    if change not in changes and created not in changes:
        changes.append(change)


async def _one_by_one(key: uuid.UUID, ids: list[uuid.UUID]) -> str:
    """Process a failed batch's deliveries each in a transaction of its own, in order. This job's own
    delivery decides its result; the others' failures are recorded on them."""
    result = "skipped"
    runtime = current_runtime()
    for event_id in ids:
        async with runtime.sessionmaker() as session:
            event = await session.get(WebhookEvent, event_id, with_for_update=True)
            if event is None or event.status != WebhookEventStatus.RECEIVED:
                continue
            raw_body = event.raw_body
            try:
                applied = await _apply(session, [event])
            except Exception as exc:
                if database_unreachable(exc):
                    raise  # left `received` for the sweeper, as above
                await session.rollback()
                await _mark_failed(event_id, exc, raw_body)
                if event_id == key:
                    raise
                continue
        await _finish(runtime, applied)
        if event_id == key:
            result = "failed" if applied.unparseable else "processed"
    return result


async def _finish(runtime: Runtime, applied: _Applied) -> None:
    for event in applied.unparseable:
        log.warning("webhook_event_unparseable", event_id=str(event.id), error=event.error)
        metrics.record_webhook_failed("unparseable")
    for event in applied.processed:
        log.info("webhook_event_processed", event_id=str(event.id), notes=bool(event.notes))
        metrics.record_webhook_processed(event.received_at)
    await publish_payloads(runtime, applied.payloads)
    for tenant_id, message_id in applied.media_downloads:
        await runtime.jobs.send_now("download_media", message_id=str(message_id), tenant_id=str(tenant_id))


async def _mark_processed(session: AsyncSession, outcomes: list[tuple[WebhookEvent, Outcome]]) -> None:
    """Mark the batch's deliveries processed with one UPDATE per distinct outcome (usually one for the whole
    batch: the same company, no notes) rather than one per row; the loaded rows are given the same values."""
    now = utcnow()
    groups: dict[tuple[str | None, uuid.UUID | None], list[WebhookEvent]] = {}
    for event, outcome in outcomes:
        notes = "; ".join(outcome.notes)[:4000] or None
        tenant_id = event.tenant_id or (outcome.tenant_ids[0] if outcome.tenant_ids else None)
        groups.setdefault((notes, tenant_id), []).append(event)
    for (notes, tenant_id), events in groups.items():
        values = {
            "status": WebhookEventStatus.PROCESSED,
            "processed_at": now,
            "error": None,
            "notes": notes,
            "tenant_id": tenant_id,
        }
        await session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_([event.id for event in events]))
            .values(attempts=WebhookEvent.attempts + 1, **values)
            .execution_options(synchronize_session=False)
        )
        for event in events:
            for name, value in (*values.items(), ("attempts", event.attempts + 1)):
                set_committed_value(event, name, value)


def _fail(event: WebhookEvent, reason: str) -> None:
    event.status = WebhookEventStatus.FAILED
    event.error = reason[:4000]
    event.attempts += 1


def _updates_or_none(raw_body: bytes) -> list[WebhookUpdate]:
    try:
        return parse_updates(raw_body)
    except WebhookPayloadError:
        return []


async def _mark_failed(event_id: uuid.UUID, exc: Exception, raw_body: bytes) -> None:
    """Log and count the failure, and record it in a fresh transaction. The event is attributed to the company
    whose number or account it concerns, so that company's admins see it in their list and can replay it."""
    log.error("webhook_event_failed", event_id=str(event_id), exc_info=exc)
    metrics.record_webhook_failed("error")
    reason = f"{type(exc).__name__}: {exc}"
    runtime = current_runtime()
    async with runtime.sessionmaker() as session:
        tenant_ids = await tenants_concerned(session, _updates_or_none(raw_body))
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
