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
from sqlalchemy import ColumnElement, and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.campaigns import service as campaigns
from wadesk.collaboration.assignment import assign_new_conversation
from wadesk.contacts.models import Contact
from wadesk.contacts.service import identity_conditions, upsert_contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.conversations.repository import ConversationRepository
from wadesk.conversations.window import customer_window_expiry
from wadesk.db.session import scope_to_tenant, transaction_cache
from wadesk.db.upsert import insert_if_absent
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.messages.service import message_preview, message_text
from wadesk.messages.status import META_STATUSES, advance
from wadesk.phone_numbers.models import PhoneNumber, PhoneNumberStatus
from wadesk.templates.models import Template
from wadesk.tenants.service import setting_in_transaction
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
    """What processing one delivery did: the events to publish after commit, and notes on what was skipped.

    `only_tenant` is set for a delivery received on a company's own webhook URL (signed with that company's
    app secret): it may only change that company's rows, whatever numbers or accounts it names.
    """

    only_tenant: uuid.UUID | None = None
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


async def apply_updates(
    session: AsyncSession, updates: list[wa.WebhookUpdate], *, only_tenant: uuid.UUID | None = None
) -> Outcome:
    """Apply every update of one delivery, in Meta's order, inside the caller's transaction.

    With `only_tenant`, numbers, accounts and templates of other companies are ignored (and noted).
    """
    outcome = Outcome(only_tenant=only_tenant)
    for update in updates:
        handler = _HANDLERS.get(type(update))
        if handler is None:
            outcome.notes.append(f"ignored {type(update).__name__}")
            continue
        await handler(session, update, outcome)
    return outcome


async def _number_by_meta_id(
    session: AsyncSession, phone_number_id: str, outcome: Outcome | None = None
) -> PhoneNumber | None:
    # Routing a delivery crosses tenants by design: the number says whose it is. Looked up once per
    # transaction: a batch of deliveries mostly names the same few numbers.
    routing: dict[str, PhoneNumber | None] = transaction_cache(session, "number_routing")
    if phone_number_id in routing:
        number = routing[phone_number_id]
    else:
        stmt = select(PhoneNumber).where(PhoneNumber.phone_number_id == phone_number_id)
        number = (await session.execute(stmt.execution_options(skip_tenant_scope=True))).scalar_one_or_none()
        routing[phone_number_id] = number
    if number is not None and outcome is not None and not _allowed(outcome, number.tenant_id):
        outcome.notes.append(f"phone number {phone_number_id} belongs to another company; ignored")
        return None
    return number


async def _numbers_of_waba(session: AsyncSession, waba_id: str, outcome: Outcome) -> list[PhoneNumber]:
    stmt = select(PhoneNumber).where(PhoneNumber.waba_id == waba_id).order_by(PhoneNumber.created_at)
    numbers = (await session.execute(stmt.execution_options(skip_tenant_scope=True))).scalars()
    return [n for n in numbers if _allowed(outcome, n.tenant_id)]


def _allowed(outcome: Outcome, tenant_id: uuid.UUID) -> bool:
    return outcome.only_tenant is None or outcome.only_tenant == tenant_id


async def tenants_concerned(session: AsyncSession, updates: list[wa.WebhookUpdate]) -> list[uuid.UUID]:
    """The companies whose numbers or accounts a delivery names, in order of appearance."""
    found: list[uuid.UUID] = []
    for update in updates:
        phone_number_id = getattr(update, "phone_number_id", None)
        if phone_number_id:
            number = await _number_by_meta_id(session, phone_number_id)
            numbers = [number] if number is not None else []
        else:
            numbers = await _numbers_of_waba(session, update.waba_id, Outcome())
        for n in numbers:
            if n.tenant_id not in found:
                found.append(n.tenant_id)
    return found


async def _lock_contact(session: AsyncSession, tenant_id: uuid.UUID, identity: wa.ContactIdentity) -> None:
    """Serialise the deliveries that touch one customer of one company (their contact row, open conversation
    and messages), so concurrent workers neither duplicate the contact nor apply that customer's messages in a
    racy order. Contacts are per company, so the key is the company and the customer's stable id."""
    await _take_contact_locks(session, {_contact_lock_id(tenant_id, identity)})


def _contact_lock_id(tenant_id: uuid.UUID, identity: wa.ContactIdentity) -> int:
    key = f"{tenant_id}:{identity.wa_id or identity.bsuid}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


async def lock_contacts(
    session: AsyncSession, deliveries: list[tuple[list[wa.WebhookUpdate], uuid.UUID | None]]
) -> None:
    """Take the locks of every customer a batch of deliveries writes for (inbound messages, messaging
    preferences), in one sorted pass, before applying any of them: two workers' batches that share customers
    then queue behind each other instead of each holding one lock the other waits for. `deliveries` pairs
    each delivery's updates with its `only_tenant`.

    Then load, per company, those customers' contacts and their open conversations on the batch's numbers,
    in two statements, where each inbound message finds them (`_inbound_message`) instead of querying for
    its own. Loaded once the locks are held, they are what the last writer of each customer committed."""
    wanted: dict[uuid.UUID, tuple[set[str], set[str], set[uuid.UUID]]] = {}
    lock_ids: set[int] = set()
    for updates, only_tenant in deliveries:
        outcome = Outcome(only_tenant=only_tenant)
        for update in updates:
            if (
                isinstance(update, wa.InboundMessage | wa.UserPreferencesUpdate)
                and not update.identity.is_empty
            ):
                number = await _number_by_meta_id(session, update.phone_number_id, outcome)
                if number is not None:
                    lock_ids.add(_contact_lock_id(number.tenant_id, update.identity))
                    wa_ids, bsuids, numbers = wanted.setdefault(number.tenant_id, (set(), set(), set()))
                    wa_ids.update([update.identity.wa_id] if update.identity.wa_id else [])
                    bsuids.update([update.identity.bsuid] if update.identity.bsuid else [])
                    numbers.add(number.id)
    await _take_contact_locks(session, lock_ids)
    customers: dict[uuid.UUID, _Customers] = transaction_cache(session, "customers")
    for tenant_id in sorted(wanted.keys() - customers.keys()):
        wa_ids, bsuids, numbers = wanted[tenant_id]
        scope_to_tenant(session, tenant_id)
        conditions = identity_conditions(wa_ids=wa_ids, bsuids=bsuids)
        stmt = select(Contact).where(or_(*conditions)).order_by(Contact.created_at, Contact.id)
        contacts = list((await session.execute(stmt)).scalars())
        conversations: list[Conversation] = []
        if contacts:
            stmt_conversations = select(Conversation).where(
                Conversation.contact_id.in_(sorted(c.id for c in contacts)),
                Conversation.phone_number_id.in_(sorted(numbers)),
                Conversation.status != ConversationStatus.ARCHIVED,
            )
            conversations = list((await session.execute(stmt_conversations)).scalars())
        customers[tenant_id] = _Customers(numbers, contacts, conversations)


@dataclass
class _Customers:
    """A company's customers that a batch's inbound messages name, loaded at once (lock_contacts): their
    contacts, and their conversations that are not archived on the batch's numbers. Rows created while
    the batch is applied are added, so the lists stay complete for the batch."""

    numbers: set[uuid.UUID]
    contacts: list[Contact]
    conversations: list[Conversation]

    def active_conversation(self, contact_id: uuid.UUID, number_id: uuid.UUID) -> Conversation | None:
        """As ConversationRepository.find_active: the newest one that is not archived."""
        found = [
            c
            for c in self.conversations
            if c.contact_id == contact_id
            and c.phone_number_id == number_id
            and c.status != ConversationStatus.ARCHIVED
        ]
        return max(found, key=lambda c: (c.created_at, c.id)) if found else None


def _known_customers(session: AsyncSession, tenant_id: uuid.UUID, number_id: uuid.UUID) -> _Customers | None:
    """The customers lock_contacts loaded for this company and number, if it did."""
    known: _Customers | None = transaction_cache(session, "customers").get(tenant_id)
    return known if known is not None and number_id in known.numbers else None


async def _take_contact_locks(session: AsyncSession, lock_ids: set[int]) -> None:
    """Take these customers' advisory locks not yet held, in ascending order, in one statement. SQLite's
    writers are serialised by BEGIN IMMEDIATE already."""
    held = transaction_cache(session, "contact_locks")
    ordered = sorted(lock_ids - held.keys())
    if ordered and session.get_bind().dialect.name == "postgresql":
        # unnest keeps the array's order, so the locks are taken in ascending order.
        statement = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:ids AS bigint[])) AS k")
        await session.execute(statement, {"ids": ordered})
        held.update(dict.fromkeys(ordered, True))


async def lock_status_targets(
    session: AsyncSession, deliveries: list[tuple[list[wa.WebhookUpdate], uuid.UUID | None]]
) -> None:
    """Load and lock, in one sorted pass per company, every message a batch's statuses name and the campaign
    recipients of those messages, before applying any status: two batches (or a batch and the campaign pump,
    which locks recipients in id order) then wait for each other in one order instead of deadlocking, and
    each status finds its message without a query of its own (`_find_status_target`). The customers whose
    contact a status may fill in are locked first, as inbound batches lock them (`lock_contacts`)."""
    # Per company: the wamids each of its numbers' statuses name, and our ids from their callback data.
    wanted: dict[uuid.UUID, tuple[dict[uuid.UUID, set[str]], set[uuid.UUID]]] = {}
    contact_locks: set[int] = set()
    learning: dict[uuid.UUID, set[str]] = {}  # companies some of whose statuses may fill in their contact
    for updates, only_tenant in deliveries:
        outcome = Outcome(only_tenant=only_tenant)
        for update in updates:
            if not isinstance(update, wa.StatusUpdate):
                continue
            number = await _number_by_meta_id(session, update.phone_number_id, outcome)
            if number is None:
                continue
            wamids, ids = wanted.setdefault(number.tenant_id, ({}, set()))
            wamids.setdefault(number.id, set()).add(update.wamid)
            callback = _callback_message_id(update)
            if callback is not None:
                ids.add(callback)
            if _may_learn_recipient(update):
                bsuids = learning.setdefault(number.tenant_id, set())
                if update.recipient.bsuid:
                    bsuids.add(update.recipient.bsuid)
                if not update.recipient.is_empty:
                    contact_locks.add(_contact_lock_id(number.tenant_id, update.recipient))
    if not wanted:
        return
    await _take_contact_locks(session, contact_locks)
    targets: dict[Any, Message] = transaction_cache(session, "status_targets")
    for tenant_id in sorted(wanted):
        wamids, ids = wanted[tenant_id]
        scope_to_tenant(session, tenant_id)
        # A wamid is unique per number (and indexed so): each is looked up with its number.
        named: ColumnElement[bool] = or_(
            *(
                and_(Message.phone_number_id == number_id, Message.wamid.in_(sorted(numbered)))
                for number_id, numbered in sorted(wamids.items())
            ),
            *([Message.id.in_(sorted(ids))] if ids else []),
        )
        stmt = (
            select(Message)
            .where(named, Message.direction == Direction.OUTBOUND)
            .order_by(Message.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        messages = list((await session.execute(stmt)).scalars())
        for message in messages:
            targets[message.id] = message
            if message.wamid is not None:
                targets[(message.phone_number_id, message.wamid)] = message
        # The session's identity map holds rows weakly: kept here, the recipients and contacts loaded for
        # the statuses are still there when message_status_changed and _learn_recipient look them up.
        kept = transaction_cache(session, "status_rows")
        kept[tenant_id] = await campaigns.lock_recipients_of(session, messages)
        if tenant_id in learning and messages:
            contact_ids = sorted({m.contact_id for m in messages})
            contacts = (await session.execute(select(Contact).where(Contact.id.in_(contact_ids)))).scalars()
            kept[tenant_id] += list(contacts)
            if learning[tenant_id]:
                taken = select(Contact.bsuid).where(Contact.bsuid.in_(sorted(learning[tenant_id])))
                cache = transaction_cache(session, "bsuids_taken")
                cache[tenant_id] = set((await session.execute(taken)).scalars())


def _callback_message_id(update: wa.StatusUpdate) -> uuid.UUID | None:
    """Our message id, which we hand Meta as the callback data of every send."""
    callback = update.status.biz_opaque_callback_data
    if not callback:
        return None
    try:
        return uuid.UUID(callback)
    except ValueError:
        return None


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
    number = await _number_by_meta_id(session, update.phone_number_id, outcome)
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
    await _lock_contact(session, tenant_id, identity)
    known = _known_customers(session, tenant_id, number.id)
    contact, contact_created = await upsert_contact(
        session,
        wa_id=identity.wa_id,
        bsuid=identity.bsuid,
        profile_name=update.profile_name,
        username=identity.username,
        known=known.contacts if known is not None else None,
    )
    sent_at = update.sent_at
    kind, content = _inbound_content(update.message)
    if known is not None:
        conversation = known.active_conversation(contact.id, number.id)
    else:
        conversation = await ConversationRepository(session).find_active(contact.id, number.id)
    created_conversation = False
    if (
        conversation is not None
        and conversation.status == ConversationStatus.RESOLVED
        and not await setting_in_transaction(session, tenant_id, "reopen_resolved_conversations")
    ):
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
        if known is not None:
            known.conversations.append(conversation)
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
            if known is not None:
                known.conversations.remove(conversation)
        return
    if contact_created:
        outcome.emit(tenant_id, "contact.created", contact.id)
    if created_conversation:
        await assign_new_conversation(session, tenant_id, conversation)
    contact.last_seen_at = max(contact.last_seen_at or sent_at, sent_at)
    if conversation.status in (ConversationStatus.RESOLVED, ConversationStatus.PENDING):
        conversation.status = ConversationStatus.OPEN
        conversation.resolved_at = None
    if kind == "reaction":
        await _apply_reaction(session, number, content, outcome, tenant_id)
    elif kind == "revoke":
        await _apply_revoke(session, number, update.message, outcome, tenant_id)
    elif kind == "system":
        await _apply_system(session, contact, update.message, outcome)
        conversation.unread_count += 1
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
    await campaigns.record_reply(
        session, contact_id=contact.id, phone_number_id=number.id, kind=kind, at=sent_at
    )
    if wa.message_media(update.message) is not None:
        outcome.media_downloads.append((tenant_id, message_id))
    # No flush here: the contact's and conversation's changes wait for the next query or the commit, so a
    # batch writes them in one executemany per table instead of two round trips per message.


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


async def _apply_system(
    session: AsyncSession, contact: Contact, message: wa.BaseMessage, outcome: Outcome
) -> None:
    """A customer who changed number keeps their contact (and history): it takes the new wa_id, unless another
    contact of the company already has it."""
    if not isinstance(message, wa.SystemMessage) or message.system.type != "user_changed_number":
        return
    new_wa_id = message.system.wa_id
    if not new_wa_id or new_wa_id == contact.wa_id:
        return
    taken = await session.execute(select(Contact.id).where(Contact.wa_id == new_wa_id))
    if taken.first() is not None:
        outcome.notes.append(f"contact {contact.id} changed number to {new_wa_id}, which another contact has")
        return
    contact.wa_id = new_wa_id
    outcome.emit(contact.tenant_id, "contact.updated", contact.id)


async def _status_update(session: AsyncSession, update: wa.StatusUpdate, outcome: Outcome) -> None:
    number = await _number_by_meta_id(session, update.phone_number_id, outcome)
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
    if message.direction != Direction.OUTBOUND:
        outcome.notes.append(f"status {status.status} names inbound message {update.wamid}; ignored")
        return
    if incoming is None:
        outcome.notes.append(f"status {status.status!r} of {update.wamid} is not one wadesk tracks")
        return
    if message.wamid is None:
        message.wamid = update.wamid
    await _learn_recipient(session, message, update, outcome)
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
        await campaigns.message_status_changed(session, message)


async def _learn_recipient(
    session: AsyncSession, message: Message, update: wa.StatusUpdate, outcome: Outcome
) -> None:
    """Statuses carry what Meta knows of the recipient (business-scoped id, username, profile name): fill in
    the contact with it, so a customer who later writes by BSUID only is the same contact."""
    if not _may_learn_recipient(update):
        return
    recipient = update.recipient
    profile = update.contact.profile if update.contact is not None else None
    name = profile.name if profile is not None else None
    contact = await session.get(Contact, message.contact_id)
    if contact is None or (recipient.wa_id and contact.wa_id and recipient.wa_id != contact.wa_id):
        return
    changed = False
    if recipient.bsuid and not contact.bsuid:
        taken = _bsuids_taken(session, contact.tenant_id)
        if taken is None:  # not looked up by the batch
            query = select(Contact.id).where(Contact.bsuid == recipient.bsuid)
            free = (await session.execute(query)).first() is None
        else:
            free = recipient.bsuid not in taken
        if free:
            contact.bsuid, changed = recipient.bsuid, True
            if taken is not None:
                taken.add(recipient.bsuid)
    if recipient.username and contact.username != recipient.username:
        contact.username, changed = recipient.username, True
    if name and contact.profile_name != name:
        contact.profile_name, changed = name, True
    if changed:
        outcome.emit(contact.tenant_id, "contact.updated", contact.id)


def _bsuids_taken(session: AsyncSession, tenant_id: uuid.UUID) -> set[str] | None:
    """The business-scoped user ids a status batch's recipients carry that some contact already has (read by
    lock_status_targets, kept up to date as the batch fills contacts in); None outside such a batch."""
    return transaction_cache(session, "bsuids_taken").get(tenant_id)


def _may_learn_recipient(update: wa.StatusUpdate) -> bool:
    profile = update.contact.profile if update.contact is not None else None
    return bool(update.recipient.bsuid or update.recipient.username or (profile and profile.name))


async def _find_status_target(
    session: AsyncSession, number: PhoneNumber, update: wa.StatusUpdate
) -> Message | None:
    """The outbound message a status names, locked. Found among the batch's locked rows (lock_status_targets)
    when the batch loaded it, looked up and locked here otherwise."""
    callback = _callback_message_id(update)
    targets: dict[Any, Message] = transaction_cache(session, "status_targets")
    message = targets.get((number.id, update.wamid))
    if message is None and callback is not None:
        message = targets.get(callback)
    if message is not None:
        return (
            message
            if message.phone_number_id == number.id and message.wamid in (None, update.wamid)
            else None
        )
    message = await _message_by_wamid(session, number.id, update.wamid)
    if message is None and callback is not None:
        # The status can overtake the send job's commit of the wamid: our id travels in the callback data.
        message = await session.get(Message, callback)
        if message is not None and (
            message.phone_number_id != number.id or message.wamid not in (None, update.wamid)
        ):
            message = None
    if message is not None:
        # Lock the row against a concurrent delivery's statuses. Flush first: the refresh reloads the row,
        # and an earlier status of this same delivery may still be pending in the session.
        await session.flush()
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
    number = await _number_by_meta_id(session, update.phone_number_id, outcome)
    if number is not None:
        outcome.touch(number.tenant_id)


async def _user_preferences(
    session: AsyncSession, update: wa.UserPreferencesUpdate, outcome: Outcome
) -> None:
    number = await _number_by_meta_id(session, update.phone_number_id, outcome)
    if number is None or update.identity.is_empty:
        outcome.notes.append("user preference for an unknown number or user")
        return
    scope_to_tenant(session, number.tenant_id)
    outcome.touch(number.tenant_id)
    await _lock_contact(session, number.tenant_id, update.identity)
    known = _known_customers(session, number.tenant_id, number.id)
    contact, created = await upsert_contact(
        session,
        wa_id=update.identity.wa_id,
        bsuid=update.identity.bsuid,
        known=known.contacts if known is not None else None,
    )
    value = (update.preference.value or "").lower()
    category = update.preference.category or "marketing_messages"
    preferences = dict(contact.attributes.get("messaging_preferences", {}))
    preferences[category] = value
    contact.attributes = {**contact.attributes, "messaging_preferences": preferences}
    if category.startswith("marketing"):
        contact.opted_out = value == "stop"
    outcome.emit(number.tenant_id, "contact.created" if created else "contact.updated", contact.id)


async def _templates_by_meta_id(
    session: AsyncSession, waba_id: str, template_id: str, outcome: Outcome
) -> list[Template]:
    stmt = select(Template).where(Template.waba_id == waba_id, Template.meta_template_id == template_id)
    templates = (await session.execute(stmt.execution_options(skip_tenant_scope=True))).scalars()
    return [t for t in templates if _allowed(outcome, t.tenant_id)]


async def _template_change(
    session: AsyncSession,
    update: wa.TemplateStatusUpdate | wa.TemplateCategoryUpdate | wa.TemplateQualityUpdate,
    outcome: Outcome,
) -> None:
    templates = await _templates_by_meta_id(session, update.waba_id, update.template_id, outcome)
    if not templates:
        outcome.notes.append(f"template {update.template_id} is not synced yet")
        # Still the company's event (its account's): its admins see it, and can replay it after a sync.
        for number in await _numbers_of_waba(session, update.waba_id, outcome):
            outcome.touch(number.tenant_id)
        return
    for template in templates:
        outcome.touch(template.tenant_id)
        value = update.value
        if isinstance(value, wa.TemplateStatusValue):
            template.status = value.event.upper()
            reason = value.reason or (value.rejection_info.reason if value.rejection_info else None)
            template.rejected_reason = reason if reason and reason.upper() != "NONE" else None
            await campaigns.template_changed(session, template)
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
        n for n in await _numbers_of_waba(session, update.waba_id, outcome)
        if _digits(n.display_phone_number) == _digits(update.value.display_phone_number)
    ]  # fmt: skip
    if not numbers:
        outcome.notes.append(f"quality update for unknown number {update.value.display_phone_number}")
        return
    for number in numbers:
        outcome.touch(number.tenant_id)
        previous_quality, previous_tier = number.quality_rating, number.messaging_limit_tier
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
        await campaigns.phone_number_changed(
            session, number, previous_quality=previous_quality, previous_tier=previous_tier
        )


def _account_disables_numbers(value: wa.AccountUpdateValue) -> bool:
    """Whether an account update means the account's numbers can no longer send. `DISABLED_UPDATE` also
    announces reinstatements and scheduled bans (`ban_info.waba_ban_state` REINSTATE / SCHEDULE_FOR_DISABLE),
    which disable nothing yet."""
    event = value.event.upper()
    if event in {"ACCOUNT_DELETED", "ACCOUNT_OFFBOARDED"}:
        return True
    if event == "DISABLED_UPDATE":
        state = (value.ban_info.waba_ban_state or "DISABLE") if value.ban_info else "DISABLE"
        return state.upper() == "DISABLE"
    return False


async def _account_update(session: AsyncSession, update: wa.AccountUpdate, outcome: Outcome) -> None:
    numbers = await _numbers_of_waba(session, update.waba_id, outcome)
    event = update.value.event.upper()
    state = update.value.ban_info.waba_ban_state if update.value.ban_info else None
    outcome.notes.append(f"account {update.waba_id}: {event}" + (f" ({state})" if state else ""))
    disables = _account_disables_numbers(update.value)
    for number in numbers:
        outcome.touch(number.tenant_id)
        if disables and number.status != PhoneNumberStatus.DISABLED:
            number.status = PhoneNumberStatus.DISABLED
            outcome.emit(number.tenant_id, "phone_number.updated", number.id)


async def _noted(session: AsyncSession, update: Any, outcome: Outcome) -> None:
    label = getattr(update, "field", None) or type(update).__name__
    outcome.notes.append(f"recorded {label} for {getattr(update, 'waba_id', '?')}")
    for number in await _numbers_of_waba(session, getattr(update, "waba_id", ""), outcome):
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
