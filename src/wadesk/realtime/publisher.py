"""Turns "this row changed" into the realtime event clients receive, with the row's current wire form."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.contacts.models import Contact
from wadesk.conversations.repository import ConversationRepository, ConversationRow
from wadesk.conversations.service import contact_ref, to_out
from wadesk.db.session import scope_to_tenant
from wadesk.infra.runtime import Runtime
from wadesk.integrations.service import dispatch_events
from wadesk.messages.models import Message
from wadesk.messages.service import message_to_out
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.phone_numbers.service import to_out as phone_number_out
from wadesk.realtime.service import publish_events
from wadesk.templates.models import Template


async def event_payload(
    session: AsyncSession,
    kind: str,
    subject_id: uuid.UUID,
    messages: dict[uuid.UUID, Message],
    conversations: dict[uuid.UUID, ConversationRow],
) -> dict[str, Any] | None:
    """The current state of the subject of an event, as the API shows it; None when it is gone.
    Messages and conversations come from `messages` and `conversations`, read beforehand in a statement each."""
    if kind.startswith("message."):
        message = messages.get(subject_id)
        return message_to_out(message).model_dump(mode="json", by_alias=True) if message else None
    if kind.startswith("conversation."):
        row = conversations.get(subject_id)
        return to_out(row).model_dump(mode="json", by_alias=True) if row else None
    if kind.startswith("contact."):
        contact = await session.get(Contact, subject_id)
        return contact_ref(contact).model_dump(mode="json", by_alias=True) if contact else None
    if kind.startswith("phone_number."):
        number = await session.get(PhoneNumber, subject_id)
        return phone_number_out(number).model_dump(mode="json", by_alias=True) if number else None
    if kind.startswith("template."):
        template = await session.get(Template, subject_id)
        if template is None:
            return None
        return {
            "id": str(template.id),
            "name": template.name,
            "language": template.language,
            "status": template.status,
            "category": template.category,
            "qualityScore": template.quality_score,
            "rejectedReason": template.rejected_reason,
        }
    return None


Payloads = dict[uuid.UUID, list[tuple[str, dict[str, Any]]]]


async def read_payloads(session: AsyncSession, changes: list[tuple[uuid.UUID, str, uuid.UUID]]) -> Payloads:
    """The wire form of each changed subject, read in the caller's session (left scoped to the last company
    read), by company and in order; subjects gone are left out. Read in the transaction that made the changes,
    just before its commit, they are what the commit makes visible, and cost no session of their own."""
    by_tenant: dict[uuid.UUID, list[tuple[str, uuid.UUID]]] = {}
    for tenant_id, kind, subject_id in changes:
        by_tenant.setdefault(tenant_id, []).append((kind, subject_id))
    if by_tenant:
        await session.flush()
    payloads: Payloads = {}
    for tenant_id, subjects in by_tenant.items():
        scope_to_tenant(session, tenant_id)
        # The two common subjects are read in one statement each, whatever their number.
        message_ids = {subject for kind, subject in subjects if kind.startswith("message.")}
        messages = {}
        if message_ids:
            found = await session.execute(select(Message).where(Message.id.in_(message_ids)))
            messages = {m.id: m for m in found.scalars()}
        conversation_ids = {subject for kind, subject in subjects if kind.startswith("conversation.")}
        conversations = (
            await ConversationRepository(session).get_rows(conversation_ids) if conversation_ids else {}
        )
        read = [
            (kind, await event_payload(session, kind, subject_id, messages, conversations))
            for kind, subject_id in subjects
        ]
        payloads[tenant_id] = [(kind, payload) for kind, payload in read if payload is not None]
    return payloads


async def publish_payloads(runtime: Runtime, payloads: Payloads) -> None:
    """Publish what read_payloads read (once its transaction committed): the bus, then each company's
    outbound webhooks in one go."""
    for tenant_id, published in payloads.items():
        if published:
            await publish_events(runtime, tenant_id, published)
            await dispatch_events(runtime, tenant_id, published)


async def publish_changes(runtime: Runtime, changes: list[tuple[uuid.UUID, str, uuid.UUID]]) -> None:
    """Publish committed (tenant, kind, subject id) changes, in order, with each subject's current wire form:
    one session per company to read them all, then the bus, then the company's outbound webhooks in one go."""
    by_tenant: dict[uuid.UUID, list[tuple[uuid.UUID, str, uuid.UUID]]] = {}
    for change in changes:
        by_tenant.setdefault(change[0], []).append(change)
    for tenant_changes in by_tenant.values():
        async with runtime.sessionmaker() as session:
            payloads = await read_payloads(session, tenant_changes)
        await publish_payloads(runtime, payloads)
