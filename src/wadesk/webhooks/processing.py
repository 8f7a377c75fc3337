"""Turning a stored webhook delivery into contacts, conversations, messages and status changes.

Every handler is idempotent: Meta retries for days and the queue delivers at least once. Messages are
inserted with ON CONFLICT (phone_number_id, wamid) DO NOTHING, and only the delivery that inserted a message
updates the conversation and publishes events, so a duplicate changes nothing and announces nothing. On
PostgreSQL an advisory lock per contact serialises concurrent deliveries from one customer.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.contacts.service import upsert_contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.conversations.repository import ConversationRepository
from wadesk.conversations.window import customer_window_expiry
from wadesk.db.session import scope_to_tenant
from wadesk.db.upsert import insert_if_absent
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.messages.service import message_preview, message_text
from wadesk.messages.status import META_STATUSES, advance
from wadesk.phone_numbers.models import PhoneNumber, PhoneNumberStatus
from wadesk.templates.models import Template
from wadesk.tenants.models import Tenant
from wadesk.tenants.service import tenant_setting
from wadesk.whatsapp import webhook as wa
from wadesk.whatsapp.errors import explain

log = structlog.get_logger(__name__)

# Keys of an inbound message kept next to the type's own object, under content["meta"].
_EXTRA_KEYS = ("context", "referral", "errors", "identity")
PUBLIC_STATUSES = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED}


@dataclass(frozen=True, slots=True)
class PendingEvent:
    tenant_id: uuid.UUID
    kind: str
    subject_id: uuid.UUID


@dataclass
class Outcome:
    """What processing one delivery did: the events to publish after commit, and notes on what was skipped."""

    events: list[PendingEvent] = field(default_factory=list)
    media_downloads: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tenant_ids: list[uuid.UUID] = field(default_factory=list)

    def touch(self, tenant_id: uuid.UUID) -> None:
        if tenant_id not in self.tenant_ids:
            self.tenant_ids.append(tenant_id)

    def emit(self, tenant_id: uuid.UUID, kind: str, subject_id: uuid.UUID) -> None:
        event = PendingEvent(tenant_id, kind, subject_id)
        # One event per subject and kind per delivery; a later change supersedes an earlier one.
        if event not in self.events:
            self.events.append(event)


Handler = Callable[[AsyncSession, Any, Outcome], Awaitable[None]]


async def apply_updates(session: AsyncSession, updates: list[wa.WebhookUpdate]) -> Outcome:
    """Apply every update of one delivery, in Meta's order, inside the caller's transaction."""
    outcome = Outcome()
    for update in updates:
        handler = _HANDLERS.get(type(update))
        if handler is None:
            outcome.notes.append(f"ignored {type(update).__name__}")
            continue
        await handler(session, update, outcome)
    return outcome


async def _number_by_meta_id(session: AsyncSession, phone_number_id: str) -> PhoneNumber | None:
    stmt = select(PhoneNumber).where(PhoneNumber.phone_number_id == phone_number_id)
    return (await session.execute(stmt.execution_options(skip_tenant_scope=True))).scalar_one_or_none()


async def _numbers_of_waba(session: AsyncSession, waba_id: str) -> list[PhoneNumber]:
    stmt = select(PhoneNumber).where(PhoneNumber.waba_id == waba_id).order_by(PhoneNumber.created_at)
    return list((await session.execute(stmt.execution_options(skip_tenant_scope=True))).scalars())


async def _lock_contact(session: AsyncSession, number: PhoneNumber, identity: wa.ContactIdentity) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite writers are serialised by BEGIN IMMEDIATE already
    key = f"{number.id}:{identity.bsuid or identity.wa_id}"
    lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def _inbound_content(message: wa.BaseMessage) -> tuple[str, dict[str, Any]]:
    raw = message.raw()
    kind = message.type if not isinstance(message, wa.UnsupportedMessage) else "unsupported"
    if kind == "unsupported":
        content: dict[str, Any] = {"original_type": message.type, "raw": raw}
    elif kind == "contacts":
        content = {"contacts": raw.get("contacts", [])}
    else:
        body = raw.get(kind)
        content = dict(body) if isinstance(body, dict) else {}
    extras = {key: raw[key] for key in _EXTRA_KEYS if key in raw}
    if extras:
        content["meta"] = extras
    return kind, content


async def _inbound_message(session: AsyncSession, update: wa.InboundMessage, outcome: Outcome) -> None:
    number = await _number_by_meta_id(session, update.phone_number_id)
    if number is None:
        outcome.notes.append(f"message {update.wamid}: no company owns phone number {update.phone_number_id}")
        return
    identity = update.identity
    if identity.is_empty:
        outcome.notes.append(f"message {update.wamid}: no sender id")
        return
    tenant_id = number.tenant_id
    scope_to_tenant(session, tenant_id)
    outcome.touch(tenant_id)
    await _lock_contact(session, number, identity)
    contact, contact_created = await upsert_contact(
        session,
        wa_id=identity.wa_id,
        bsuid=identity.bsuid,
        profile_name=update.profile_name,
        username=identity.username,
    )
    sent_at = update.sent_at
    kind, content = _inbound_content(update.message)
    conversations = ConversationRepository(session)
    conversation = await conversations.find_active(contact.id, number.id)
    created_conversation = False
    if conversation is not None and conversation.status == ConversationStatus.RESOLVED:
        tenant = await session.get(Tenant, tenant_id)
        if tenant is not None and not tenant_setting(tenant, "reopen_resolved_conversations"):
            conversation = None
    # Insert first: when the wamid is already stored this delivery is a duplicate and changes nothing.
    if conversation is None:
        conversation = Conversation(
            tenant_id=tenant_id,
            contact_id=contact.id,
            phone_number_id=number.id,
            status=ConversationStatus.OPEN,
            last_message_at=sent_at,
        )
        session.add(conversation)
        await session.flush()
        created_conversation = True
    reply_to = update.message.reply_to
    reply_target = None
    if reply_to:
        reply_target = await _message_by_wamid(session, number.id, reply_to)
    message_id = await insert_if_absent(
        session,
        Message,
        {
            "tenant_id": tenant_id,
            "conversation_id": conversation.id,
            "phone_number_id": number.id,
            "contact_id": contact.id,
            "direction": Direction.INBOUND,
            "type": kind,
            "content": content,
            "body_text": message_text(kind, content),
            "wamid": update.wamid,
            "status": MessageStatus.RECEIVED,
            "created_at": sent_at,
            "meta_timestamp": sent_at,
            "reply_to_wamid": reply_to,
            "reply_to_message_id": reply_target.id if reply_target else None,
        },
        ["phone_number_id", "wamid"],
    )
    if message_id is None:
        if created_conversation:
            await session.delete(conversation)
        return
    if contact_created:
        outcome.emit(tenant_id, "contact.created", contact.id)
    contact.last_seen_at = max(contact.last_seen_at or sent_at, sent_at)
    if conversation.status in (ConversationStatus.RESOLVED, ConversationStatus.PENDING):
        conversation.status = ConversationStatus.OPEN
        conversation.resolved_at = None
    if kind == "reaction":
        await _apply_reaction(session, number, content, outcome, tenant_id)
    elif kind == "revoke":
        await _apply_revoke(session, number, update.message, outcome, tenant_id)
    else:
        conversation.unread_count += 1
    if sent_at >= conversation.last_message_at or created_conversation:
        conversation.last_message_at = sent_at
        conversation.last_message_preview = message_preview(kind, content)
    if conversation.last_inbound_at is None or sent_at > conversation.last_inbound_at:
        conversation.last_inbound_at = sent_at
        conversation.customer_window_expires_at = customer_window_expiry(sent_at)
    outcome.emit(tenant_id, "message.created", message_id)
    outcome.emit(
        tenant_id, "conversation.created" if created_conversation else "conversation.updated", conversation.id
    )
    if wa.message_media(update.message) is not None:
        outcome.media_downloads.append((tenant_id, message_id))
    await session.flush()


async def _message_by_wamid(session: AsyncSession, number_id: uuid.UUID, wamid: str) -> Message | None:
    stmt = select(Message).where(Message.phone_number_id == number_id, Message.wamid == wamid)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _apply_reaction(
    session: AsyncSession,
    number: PhoneNumber,
    content: dict[str, Any],
    outcome: Outcome,
    tenant_id: uuid.UUID,
) -> None:
    target_wamid = content.get("message_id")
    target = await _message_by_wamid(session, number.id, str(target_wamid)) if target_wamid else None
    if target is None:
        outcome.notes.append(f"reaction to unknown message {target_wamid}")
        return
    reactions = [r for r in (target.reactions or []) if r.get("from") != "customer"]
    if content.get("emoji"):
        reactions.append({"from": "customer", "emoji": content["emoji"]})
    target.reactions = reactions
    outcome.emit(tenant_id, "message.updated", target.id)


async def _apply_revoke(
    session: AsyncSession,
    number: PhoneNumber,
    message: wa.BaseMessage,
    outcome: Outcome,
    tenant_id: uuid.UUID,
) -> None:
    revoked = message.raw().get("revoke", {}).get("original_message_id")
    target = await _message_by_wamid(session, number.id, str(revoked)) if revoked else None
    if target is not None:
        target.content = {**target.content, "revoked": True}
        outcome.emit(tenant_id, "message.updated", target.id)


async def _status_update(session: AsyncSession, update: wa.StatusUpdate, outcome: Outcome) -> None:
    number = await _number_by_meta_id(session, update.phone_number_id)
    if number is None:
        outcome.notes.append(f"status {update.wamid}: no company owns phone number {update.phone_number_id}")
        return
    scope_to_tenant(session, number.tenant_id)
    outcome.touch(number.tenant_id)
    status = update.status
    incoming = META_STATUSES.get(status.status)
    message = await _find_status_target(session, number, update)
    if message is None:
        outcome.notes.append(f"status {status.status} for unknown message {update.wamid}")
        return
    if incoming is None:
        outcome.notes.append(f"status {status.status!r} of {update.wamid} is not one wadesk tracks")
        return
    if message.wamid is None:
        message.wamid = update.wamid
    at = update.occurred_at
    changed = False
    if incoming == MessageStatus.SENT and message.sent_at is None:
        message.sent_at, changed = at, True
    if incoming == MessageStatus.DELIVERED and message.delivered_at is None:
        message.delivered_at, changed = at, True
    if incoming == MessageStatus.READ and message.read_at is None:
        message.read_at, changed = at, True
    if status.pricing is not None:
        message.pricing = status.pricing.raw()
    new_status = advance(message.status, incoming)
    if new_status is not None:
        message.status = new_status
        changed = True
        if new_status == MessageStatus.FAILED:
            error = status.errors[0] if status.errors else None
            message.failed_at = at
            message.error_code = error.code if error else None
            message.error_title = (error.title or error.message) if error else "Failed"
            message.error_details = error.details if error else None
            if error is not None and explain(error.code).category == "auth":
                await _flag_credentials(session, number, outcome)
    if changed:
        outcome.emit(number.tenant_id, "message.updated", message.id)


async def _find_status_target(
    session: AsyncSession, number: PhoneNumber, update: wa.StatusUpdate
) -> Message | None:
    message = await _message_by_wamid(session, number.id, update.wamid)
    callback = update.status.biz_opaque_callback_data
    if message is None and callback:
        # The status can overtake the send job's commit of the wamid: our id travels in the callback data.
        try:
            message = await session.get(Message, uuid.UUID(callback))
        except ValueError:
            message = None
        if message is not None and (
            message.phone_number_id != number.id or message.wamid not in (None, update.wamid)
        ):
            message = None
    if message is not None:
        await session.refresh(message, with_for_update=True)
    return message


async def _flag_credentials(session: AsyncSession, number: PhoneNumber, outcome: Outcome) -> None:
    if number.status != PhoneNumberStatus.NEEDS_CREDENTIALS:
        number.status = PhoneNumberStatus.NEEDS_CREDENTIALS
        outcome.emit(number.tenant_id, "phone_number.updated", number.id)


async def _error_notice(session: AsyncSession, update: wa.ErrorNotice, outcome: Outcome) -> None:
    error = update.error
    outcome.notes.append(
        f"Meta reported error {error.code} for number {update.phone_number_id}: {error.title}"
    )
    number = await _number_by_meta_id(session, update.phone_number_id)
    if number is not None:
        outcome.touch(number.tenant_id)


async def _user_preferences(
    session: AsyncSession, update: wa.UserPreferencesUpdate, outcome: Outcome
) -> None:
    number = await _number_by_meta_id(session, update.phone_number_id)
    if number is None or update.identity.is_empty:
        outcome.notes.append("user preference for an unknown number or user")
        return
    scope_to_tenant(session, number.tenant_id)
    outcome.touch(number.tenant_id)
    contact, created = await upsert_contact(session, wa_id=update.identity.wa_id, bsuid=update.identity.bsuid)
    value = (update.preference.value or "").lower()
    category = update.preference.category or "marketing_messages"
    preferences = dict(contact.attributes.get("messaging_preferences", {}))
    preferences[category] = value
    contact.attributes = {**contact.attributes, "messaging_preferences": preferences}
    if category.startswith("marketing"):
        contact.opted_out = value == "stop"
    outcome.emit(number.tenant_id, "contact.created" if created else "contact.updated", contact.id)


async def _templates_by_meta_id(session: AsyncSession, waba_id: str, template_id: str) -> list[Template]:
    stmt = select(Template).where(Template.waba_id == waba_id, Template.meta_template_id == template_id)
    return list((await session.execute(stmt.execution_options(skip_tenant_scope=True))).scalars())


async def _template_change(
    session: AsyncSession,
    update: wa.TemplateStatusUpdate | wa.TemplateCategoryUpdate | wa.TemplateQualityUpdate,
    outcome: Outcome,
) -> None:
    templates = await _templates_by_meta_id(session, update.waba_id, update.template_id)
    if not templates:
        outcome.notes.append(f"template {update.template_id} is not synced yet")
        return
    for template in templates:
        outcome.touch(template.tenant_id)
        value = update.value
        if isinstance(value, wa.TemplateStatusValue):
            template.status = value.event.upper()
            reason = value.reason or (value.rejection_info.reason if value.rejection_info else None)
            template.rejected_reason = reason if reason and reason.upper() != "NONE" else None
        elif isinstance(value, wa.TemplateCategoryValue):
            if value.new_category:
                template.category = value.new_category.upper()
        elif value.new_quality_score:
            template.quality_score = value.new_quality_score.upper()
        outcome.emit(template.tenant_id, "template.updated", template.id)


def _digits(value: str | None) -> str:
    return "".join(ch for ch in value or "" if ch.isdigit())


async def _phone_number_quality(
    session: AsyncSession, update: wa.PhoneNumberQualityUpdate, outcome: Outcome
) -> None:
    numbers = [
        n for n in await _numbers_of_waba(session, update.waba_id)
        if _digits(n.display_phone_number) == _digits(update.value.display_phone_number)
    ]  # fmt: skip
    if not numbers:
        outcome.notes.append(f"quality update for unknown number {update.value.display_phone_number}")
        return
    for number in numbers:
        outcome.touch(number.tenant_id)
        event = (update.value.event or "").upper()
        if update.value.current_limit:
            number.messaging_limit_tier = update.value.current_limit
        if event in {"FLAGGED", "DOWNGRADE"}:
            number.quality_rating = "RED" if event == "DOWNGRADE" else "YELLOW"
        elif event in {"UNFLAGGED", "UPGRADE"}:
            number.quality_rating = "GREEN"
        if event == "THROUGHPUT_UPGRADE":
            number.messages_per_second = max(number.messages_per_second, 1000)
        outcome.emit(number.tenant_id, "phone_number.updated", number.id)


async def _account_update(session: AsyncSession, update: wa.AccountUpdate, outcome: Outcome) -> None:
    numbers = await _numbers_of_waba(session, update.waba_id)
    event = update.value.event.upper()
    outcome.notes.append(f"account {update.waba_id}: {event}")
    for number in numbers:
        outcome.touch(number.tenant_id)
        if event in {"DISABLED_UPDATE", "ACCOUNT_DELETED"} or (
            update.value.ban_info and event == "DISABLED_UPDATE"
        ):
            number.status = PhoneNumberStatus.DISABLED
            outcome.emit(number.tenant_id, "phone_number.updated", number.id)


async def _noted(session: AsyncSession, update: Any, outcome: Outcome) -> None:
    label = getattr(update, "field", None) or type(update).__name__
    outcome.notes.append(f"recorded {label} for {getattr(update, 'waba_id', '?')}")
    for number in await _numbers_of_waba(session, getattr(update, "waba_id", "")):
        outcome.touch(number.tenant_id)


_HANDLERS: dict[type, Handler] = {
    wa.InboundMessage: _inbound_message,
    wa.StatusUpdate: _status_update,
    wa.ErrorNotice: _error_notice,
    wa.UserPreferencesUpdate: _user_preferences,
    wa.TemplateStatusUpdate: _template_change,
    wa.TemplateCategoryUpdate: _template_change,
    wa.TemplateQualityUpdate: _template_change,
    wa.PhoneNumberQualityUpdate: _phone_number_quality,
    wa.AccountUpdate: _account_update,
    wa.PhoneNumberNameUpdate: _noted,
    wa.AccountReviewUpdate: _noted,
    wa.AccountAlert: _noted,
    wa.BusinessCapabilityUpdate: _noted,
    wa.UnknownChange: _noted,
}
