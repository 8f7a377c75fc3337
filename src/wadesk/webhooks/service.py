"""Webhook ingest: verify the raw bytes, store them, and only then acknowledge (persist first)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.db.base import utcnow
from wadesk.errors import NotFound, Unauthorized
from wadesk.infra.runtime import Runtime
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.phone_numbers.service import decrypt_credential
from wadesk.tenants.models import Tenant
from wadesk.webhooks import repository
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus
from wadesk.webhooks.repository import WebhookEventRepository
from wadesk.whatsapp.signature import SIGNATURE_HEADER, verify_signature

PROCESS_JOB = "process_webhook_event"
KEPT_HEADERS = ("content-type", "user-agent", "x-hub-signature-256", "x-request-id")


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant:
    tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
    if tenant is None:
        raise NotFound("Unknown webhook address.")
    return tenant


async def tenant_app_secrets(session: AsyncSession, runtime: Runtime, tenant: Tenant) -> list[str]:
    """The app secrets of a tenant that brings its own Meta app: one per number that has one."""
    stored = (
        await session.execute(
            select(PhoneNumber.app_secret_encrypted).where(
                PhoneNumber.tenant_id == tenant.id, PhoneNumber.app_secret_encrypted.is_not(None)
            )
        )
    ).scalars()
    return [decrypt_credential(runtime.keyring, tenant.id, s) for s in stored if s]


async def ingest(
    runtime: Runtime,
    raw_body: bytes,
    headers: Mapping[str, str],
    app_secrets: list[str],
    tenant_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Store a delivery whose signature verifies, then queue its processing (the row is committed first, so a
    worker never looks for a row that is not there; if queueing fails, the sweeper queues it later). The
    stored event's id."""
    if not verify_signature(raw_body, headers.get(SIGNATURE_HEADER.lower()), app_secrets):
        raise Unauthorized(
            "The X-Hub-Signature-256 signature is missing or does not match.", code="invalid_signature"
        )
    event_id = uuid.uuid4()
    values = {
        "id": event_id,
        "tenant_id": tenant_id,
        "raw_body": raw_body,
        "headers": {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS},
        "body_sha256": hashlib.sha256(raw_body).hexdigest(),
        "status": WebhookEventStatus.RECEIVED,
        "received_at": utcnow(),
    }
    await repository.store(runtime.engine, values)
    # On the request's own log line rather than one more line per delivery.
    structlog.contextvars.bind_contextvars(event_id=str(event_id), bytes=len(raw_body))
    await runtime.jobs.send_now(PROCESS_JOB, event_id=str(event_id))
    return event_id


async def replay(
    session: AsyncSession, runtime: Runtime, tenant_id: uuid.UUID, event_id: uuid.UUID
) -> WebhookEvent:
    event = await WebhookEventRepository(session).get_for_tenant(tenant_id, event_id)
    if event is None:
        raise NotFound("Webhook event not found.")
    event.status = WebhookEventStatus.RECEIVED
    event.error = None
    runtime.jobs.enqueue_after_commit(session, PROCESS_JOB, event_id=str(event.id))
    return event
