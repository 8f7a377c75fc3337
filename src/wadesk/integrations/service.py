"""Outbound webhooks: subscriptions, turning events into signed deliveries, attempts with retries, replays.

Every delivery is a row (the database is the record; the queue only carries its id). An event produces one
delivery per matching subscription, with the exact body that will be signed and sent. An attempt claims the
row (compare-and-set), POSTs outside any transaction, logs the attempt, and either marks it succeeded or
schedules the next attempt with exponential backoff; after 24 hours it gives up. Attempts run as queue jobs;
since the queue cannot delay by seconds, a periodic job picks deliveries whose next attempt is due.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.auth.dependencies import Ctx
from wadesk.db.base import utcnow
from wadesk.db.session import run_after_commit, scope_to_tenant, unit_of_work
from wadesk.errors import NotFound
from wadesk.infra.runtime import Runtime
from wadesk.integrations.models import DeliveryStatus, OutboundAttempt, OutboundDelivery, OutboundWebhook
from wadesk.integrations.repository import OutboundDeliveryRepository, OutboundWebhookRepository
from wadesk.integrations.schemas import (
    ALL_EVENTS,
    EVENT_TYPES,
    TEST_EVENT,
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
)
from wadesk.integrations.signing import SIGNATURE_HEADER, new_signing_secret, signature_header
from wadesk.integrations.targets import check_target
from wadesk.kit.crypto import Keyring
from wadesk.kit.pagination import Cursor
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit

log = structlog.get_logger(__name__)

DELIVER_JOB = "deliver_outbound_webhook"
RETRY_WINDOW = timedelta(hours=24)
FIRST_RETRY_SECONDS = 30.0
MAX_RETRY_SECONDS = 3600.0
DUE_BATCH = 500
SNIPPET_LENGTH = 1000
USER_AGENT = "wadesk-webhooks/1.0"
# How long a process trusts its cached view of which tenants subscribe to what.
SUBSCRIPTION_CACHE_SECONDS = 5.0


# --- sending --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str | None
    snippet: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class OutboundSender:
    """POSTs one delivery. Redirects are not followed (a moved endpoint is a failure the tenant must fix);
    only the start of the answer is read."""

    timeout: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        started = time.perf_counter()
        try:
            async with (
                httpx.AsyncClient(
                    transport=self.transport,
                    timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
                    follow_redirects=False,
                ) as client,
                client.stream("POST", url, content=body, headers=headers) as response,
            ):
                received = bytearray()
                async for chunk in response.aiter_bytes():
                    received += chunk
                    if len(received) >= SNIPPET_LENGTH * 4:
                        break
                snippet = bytes(received).decode("utf-8", "replace")[:SNIPPET_LENGTH]
                return AttemptResult(response.status_code, _elapsed_ms(started), None, snippet or None)
        except httpx.TimeoutException:
            return AttemptResult(None, _elapsed_ms(started), f"timed out after {self.timeout:g} s", None)
        except httpx.HTTPError as exc:
            return AttemptResult(None, _elapsed_ms(started), f"{type(exc).__name__}: {exc}"[:500], None)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def sender_for(runtime: Runtime) -> OutboundSender:
    """The process's sender; tests (or a deployment) may put their own in `runtime.extras`."""
    sender = runtime.extras.get("outbound_sender")
    if not isinstance(sender, OutboundSender):
        sender = OutboundSender()
        runtime.extras["outbound_sender"] = sender
    return sender


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 30 s doubling to at most an hour, ±20% jitter so a
    receiver's outage does not end in a thundering herd."""
    base = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


# --- subscriptions --------------------------------------------------------------------------------------------


def _secret_context(tenant_id: uuid.UUID) -> str:
    return f"{tenant_id}:outbound_webhook"


def _encrypt_secret(keyring: Keyring, tenant_id: uuid.UUID, secret: str) -> str:
    return keyring.encrypt(secret, associated_data=_secret_context(tenant_id))


def _decrypt_secret(keyring: Keyring, tenant_id: uuid.UUID, stored: str) -> str:
    return keyring.decrypt(stored, associated_data=_secret_context(tenant_id))


def webhook_to_out(webhook: OutboundWebhook) -> WebhookOut:
    return WebhookOut.model_validate(webhook)


async def _check_url(runtime: Runtime, url: str) -> None:
    await check_target(url, allow_internal=not runtime.settings.is_production)


async def list_webhooks(ctx: Ctx) -> list[OutboundWebhook]:
    return await OutboundWebhookRepository(ctx.session).list_all()


async def get_webhook(ctx: Ctx, webhook_id: uuid.UUID) -> OutboundWebhook:
    return await OutboundWebhookRepository(ctx.session).get_or_404(webhook_id)


async def create_webhook(ctx: Ctx, data: WebhookCreate) -> tuple[OutboundWebhook, str]:
    """Subscribe a URL; returns the webhook and its signing secret (shown to the tenant this once)."""
    await _check_url(ctx.runtime, data.url)
    secret = new_signing_secret()
    repository = OutboundWebhookRepository(ctx.session)
    webhook = repository.add(
        OutboundWebhook(
            tenant_id=ctx.tenant_id,
            url=data.url,
            events=list(data.events),
            description=data.description,
            is_active=data.is_active,
            secret_encrypted=_encrypt_secret(ctx.runtime.keyring, ctx.tenant_id, secret),
            created_by_id=ctx.user_id,
        )
    )
    await repository.flush()
    _audit(ctx, AuditAction.WEBHOOK_CREATED, webhook, {"url": webhook.url, "events": webhook.events})
    _forget_after_commit(ctx)
    return webhook, secret


async def update_webhook(ctx: Ctx, webhook_id: uuid.UUID, data: WebhookUpdate) -> OutboundWebhook:
    webhook = await get_webhook(ctx, webhook_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes:
        await _check_url(ctx.runtime, changes["url"])
    for key, value in changes.items():
        setattr(webhook, key, value)
    webhook.updated_at = utcnow()
    _audit(ctx, AuditAction.WEBHOOK_UPDATED, webhook, {"fields": sorted(changes)})
    _forget_after_commit(ctx)
    return webhook


async def delete_webhook(ctx: Ctx, webhook_id: uuid.UUID) -> None:
    webhook = await get_webhook(ctx, webhook_id)
    _audit(ctx, AuditAction.WEBHOOK_DELETED, webhook, {"url": webhook.url})
    await ctx.session.delete(webhook)
    _forget_after_commit(ctx)


async def rotate_secret(ctx: Ctx, webhook_id: uuid.UUID) -> str:
    """A new signing secret; the old one stops working at once."""
    webhook = await get_webhook(ctx, webhook_id)
    secret = new_signing_secret()
    webhook.secret_encrypted = _encrypt_secret(ctx.runtime.keyring, ctx.tenant_id, secret)
    webhook.updated_at = utcnow()
    _audit(ctx, AuditAction.WEBHOOK_SECRET_ROTATED, webhook, {})
    return secret


def _audit(ctx: Ctx, action: AuditAction, webhook: OutboundWebhook, details: dict[str, Any]) -> None:
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=action,
        target_type="webhook",
        target_id=webhook.id,
        details=details,
    )


async def reencrypt_webhook_secrets(session: AsyncSession, keyring: Keyring) -> int:
    """Re-encrypt every signing secret under the current key (all tenants); how many changed."""
    changed = 0
    rows = (
        await session.execute(select(OutboundWebhook).execution_options(skip_tenant_scope=True))
    ).scalars()
    for webhook in rows:
        if keyring.needs_rotation(webhook.secret_encrypted):
            plain = _decrypt_secret(keyring, webhook.tenant_id, webhook.secret_encrypted)
            webhook.secret_encrypted = _encrypt_secret(keyring, webhook.tenant_id, plain)
            changed += 1
    return changed


# --- events into deliveries -----------------------------------------------------------------------------------

_subscriptions: dict[uuid.UUID, tuple[float, frozenset[str]]] = {}


def forget_subscriptions(tenant_id: uuid.UUID) -> None:
    _subscriptions.pop(tenant_id, None)


def _forget_after_commit(ctx: Ctx) -> None:
    tenant_id = ctx.tenant_id

    async def forget() -> None:
        forget_subscriptions(tenant_id)

    run_after_commit(ctx.session, forget)


async def _subscribed_events(runtime: Runtime, tenant_id: uuid.UUID) -> frozenset[str]:
    """The event types some active subscription of the tenant wants, cached briefly: every realtime event
    asks, and most tenants subscribe to nothing."""
    cached = _subscriptions.get(tenant_id)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    async with runtime.sessionmaker() as session:
        scope_to_tenant(session, tenant_id)
        rows = (
            await session.execute(select(OutboundWebhook.events).where(OutboundWebhook.is_active.is_(True)))
        ).scalars()
        events = frozenset(str(event) for row in rows for event in row or [])
        await session.rollback()
    _subscriptions[tenant_id] = (now + SUBSCRIPTION_CACHE_SECONDS, events)
    return events


def _wants(events: Sequence[str] | frozenset[str], event_type: str) -> bool:
    """Only the public event types leave the platform; team-internal ones (notes, presence, ...) never do."""
    return event_type in EVENT_TYPES and (event_type in events or ALL_EVENTS in events)


def _body(event_id: uuid.UUID, event_type: str, tenant_id: uuid.UUID, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "id": str(event_id),
            "type": event_type,
            "createdAt": utcnow().isoformat(),
            "tenantId": str(tenant_id),
            "data": data,
        },
        separators=(",", ":"),
        default=str,
    )


def add_deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    webhooks: Sequence[OutboundWebhook],
    events: Sequence[tuple[str, dict[str, Any]]],
) -> list[OutboundDelivery]:
    """One delivery per (event, subscribed webhook); the event id is shared by its deliveries."""
    now = utcnow()
    deliveries = []
    for event_type, data in events:
        targets = [w for w in webhooks if _wants(w.events or [], event_type) or event_type == TEST_EVENT]
        if not targets:
            continue
        event_id = uuid.uuid4()
        body = _body(event_id, event_type, tenant_id, data)
        for webhook in targets:
            delivery = OutboundDelivery(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                webhook_id=webhook.id,
                event_id=event_id,
                event_type=event_type,
                body=body,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(delivery)
            deliveries.append(delivery)
    return deliveries


def _enqueue(session: AsyncSession, runtime: Runtime, deliveries: Sequence[OutboundDelivery]) -> None:
    for delivery in deliveries:
        runtime.jobs.enqueue_after_commit(
            session, DELIVER_JOB, delivery_id=str(delivery.id), tenant_id=str(delivery.tenant_id)
        )


async def dispatch_events(
    runtime: Runtime, tenant_id: uuid.UUID, events: Sequence[tuple[str, dict[str, Any]]]
) -> int:
    """Record deliveries of committed events for the tenant's subscriptions and queue their first attempt.

    Called after the change's transaction committed (with the realtime event), so it never fails the
    change: problems are logged and the events are lost to webhooks only. Returns how many deliveries.
    """
    try:
        subscribed = await _subscribed_events(runtime, tenant_id)
        wanted = [(t, d) for t, d in events if _wants(subscribed, t)]
        if not wanted:
            return 0
        async with unit_of_work(runtime.sessionmaker, tenant_id) as session:
            webhooks = await OutboundWebhookRepository(session).active()
            deliveries = add_deliveries(session, tenant_id, webhooks, wanted)
            _enqueue(session, runtime, deliveries)
        return len(deliveries)
    except Exception as exc:  # webhooks must never break the change that caused the event
        log.warning("outbound_webhook_dispatch_failed", tenant_id=str(tenant_id), error=str(exc))
        return 0


# --- attempts -------------------------------------------------------------------------------------------------


async def attempt_delivery(runtime: Runtime, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> str:
    """One attempt of a delivery if it is due: 'succeeded', 'retrying', 'failed' or 'skipped' (not due, done,
    or taken by another worker). Safe to run any number of times."""
    now = utcnow()
    async with unit_of_work(runtime.sessionmaker, tenant_id) as session:
        deliveries = OutboundDeliveryRepository(session)
        if not await deliveries.claim(delivery_id, now):
            return "skipped"
        delivery = await deliveries.get(delivery_id)
        webhook = await session.get(OutboundWebhook, delivery.webhook_id) if delivery else None
        if delivery is None or webhook is None:
            return "skipped"
        number = delivery.attempts + 1
        body = delivery.body.encode()
        event_type, event_id, created_at = delivery.event_type, delivery.event_id, delivery.created_at
        url, active = webhook.url, webhook.is_active
        secret = _decrypt_secret(runtime.keyring, tenant_id, webhook.secret_encrypted)
    if not active:
        result = AttemptResult(None, 0, "the webhook is disabled", None)
        final = True
    else:
        refusal = None
        try:
            await _check_url(runtime, url)
        except Exception as exc:
            refusal = str(getattr(exc, "message", exc))
        if refusal is not None:
            result, final = AttemptResult(None, 0, refusal[:500], None), True
        else:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Wadesk-Event": event_type,
                "X-Wadesk-Event-Id": str(event_id),
                "X-Wadesk-Delivery-Id": str(delivery_id),
                SIGNATURE_HEADER: signature_header(secret, body),
            }
            result = await sender_for(runtime).post(url, body, headers)
            final = False
    return await _record_attempt(runtime, tenant_id, delivery_id, number, created_at, result, final=final)


async def _record_attempt(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    number: int,
    created_at: datetime,
    result: AttemptResult,
    *,
    final: bool,
) -> str:
    now = utcnow()
    async with unit_of_work(runtime.sessionmaker, tenant_id) as session:
        delivery = await OutboundDeliveryRepository(session).get(delivery_id)
        if delivery is None:
            return "skipped"
        session.add(
            OutboundAttempt(
                tenant_id=tenant_id,
                delivery_id=delivery_id,
                number=number,
                requested_at=now - timedelta(milliseconds=result.latency_ms),
                status_code=result.status_code,
                latency_ms=result.latency_ms,
                error=result.error,
                response_snippet=result.snippet,
            )
        )
        delivery.attempts = number
        delivery.last_status_code = result.status_code
        delivery.claimed_at = None
        delivery.updated_at = now
        if result.succeeded:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.delivered_at = now
            delivery.last_error = None
            delivery.next_attempt_at = None
            outcome = "succeeded"
        else:
            delivery.last_error = result.error or f"HTTP {result.status_code}"
            next_at = now + retry_delay(number)
            if final or next_at - created_at > RETRY_WINDOW:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                outcome = "failed"
            else:
                delivery.status = DeliveryStatus.PENDING
                delivery.next_attempt_at = next_at
                outcome = "retrying"
    log.info(
        "outbound_webhook_attempt",
        delivery_id=str(delivery_id),
        attempt=number,
        status=result.status_code,
        outcome=outcome,
        latency_ms=result.latency_ms,
    )
    return outcome


async def queue_due_deliveries(runtime: Runtime) -> int:
    """Queue an attempt for every delivery whose next attempt is due (all tenants); how many."""
    async with runtime.sessionmaker() as session:
        due = await OutboundDeliveryRepository(session).due(utcnow(), DUE_BATCH)
        await session.rollback()
    for delivery_id, tenant_id in due:
        await runtime.jobs.send_now(DELIVER_JOB, delivery_id=str(delivery_id), tenant_id=str(tenant_id))
    return len(due)


# --- the delivery log -----------------------------------------------------------------------------------------


def delivery_to_out(delivery: OutboundDelivery) -> DeliveryOut:
    return DeliveryOut.model_validate(delivery)


async def list_deliveries(
    ctx: Ctx, webhook_id: uuid.UUID, status: DeliveryStatus | None, *, limit: int, cursor: str | None
) -> tuple[list[DeliveryOut], str | None]:
    await get_webhook(ctx, webhook_id)
    before = Cursor.decode(cursor) if cursor else None
    rows = await OutboundDeliveryRepository(ctx.session).list_page(
        webhook_id, status, limit=limit + 1, before=before
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1].created_at, rows[-1].id).encode()
    return [delivery_to_out(d) for d in rows], next_cursor


async def _delivery_of(ctx: Ctx, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> OutboundDelivery:
    delivery = await OutboundDeliveryRepository(ctx.session).get_or_404(delivery_id)
    if delivery.webhook_id != webhook_id:
        raise NotFound("Delivery not found.")
    return delivery


async def get_delivery(ctx: Ctx, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryDetail:
    delivery = await _delivery_of(ctx, webhook_id, delivery_id)
    attempts = await OutboundDeliveryRepository(ctx.session).attempts_of(delivery.id)
    return DeliveryDetail(
        **delivery_to_out(delivery).model_dump(),
        body=json.loads(delivery.body),
        attempt_log=[AttemptOut.model_validate(a) for a in attempts],
    )


async def replay_delivery(ctx: Ctx, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> OutboundDelivery:
    """Send a delivery again as a new delivery with the same event id and the very same body."""
    original = await _delivery_of(ctx, webhook_id, delivery_id)
    now = utcnow()
    replay = OutboundDelivery(
        id=uuid.uuid4(),
        tenant_id=ctx.tenant_id,
        webhook_id=original.webhook_id,
        event_id=original.event_id,
        event_type=original.event_type,
        body=original.body,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        replay_of_id=original.id,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(replay)
    await ctx.session.flush()
    _enqueue(ctx.session, ctx.runtime, [replay])
    return replay


async def send_test_event(ctx: Ctx, webhook_id: uuid.UUID) -> OutboundDelivery:
    """A `webhook.test` delivery to check the receiver and its signature verification."""
    webhook = await get_webhook(ctx, webhook_id)
    deliveries = add_deliveries(
        ctx.session,
        ctx.tenant_id,
        [webhook],
        [(TEST_EVENT, {"webhookId": str(webhook.id), "message": "A test delivery from wadesk."})],
    )
    await ctx.session.flush()
    _enqueue(ctx.session, ctx.runtime, deliveries)
    return deliveries[0]
