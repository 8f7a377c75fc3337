"""Contacts: identity resolution (phone with its national variants, or business-scoped user id), editing,
tags, merging duplicates, and CSV import and export."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.auth.dependencies import Ctx
from wadesk.contacts.csv_io import FORMULA_START, CsvRecord, csv_line, read_records, safe_cell
from wadesk.contacts.models import Contact
from wadesk.contacts.phones import InvalidPhoneNumber, normalize_wa_id, wa_id_variants
from wadesk.contacts.repository import ContactFilters, ContactRepository
from wadesk.contacts.schemas import (
    MAX_TAGS,
    ContactCreate,
    ContactDetail,
    ContactImportReport,
    ContactOut,
    ContactUpdate,
    ImportRowError,
    check_attributes,
    clean_tags,
)
from wadesk.db.base import utcnow
from wadesk.db.session import run_after_commit, scope_to_tenant, unit_of_work
from wadesk.errors import Conflict, NotFound, Unprocessable
from wadesk.infra.runtime import Runtime
from wadesk.kit.pagination import Cursor
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit
from wadesk.realtime.service import publish_after_commit, publish_event

__all__ = ["find_contact", "normalize_wa_id", "upsert_contact", "wa_id_variants"]

IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_ROWS = 50_000
IMPORT_BATCH = 250
IMPORT_MAX_LISTED_ERRORS = 500
EXPORT_PAGE = 500
EXPORT_COLUMNS = (
    "id",
    "phone",
    "name",
    "profile_name",
    "bsuid",
    "username",
    "tags",
    "opted_out",
    "blocked",
    "attributes",
    "last_seen_at",
    "created_at",
)


# --- identity -----------------------------------------------------------------------------------------------


async def find_contact(session: AsyncSession, *, wa_id: str | None, bsuid: str | None) -> Contact | None:
    """The contact with this business-scoped id, or this phone in any of its national forms."""
    conditions = identity_conditions(wa_ids=[wa_id] if wa_id else [], bsuids=[bsuid] if bsuid else [])
    if not conditions:
        return None
    rows = (
        await session.execute(select(Contact).where(or_(*conditions)).order_by(Contact.created_at))
    ).scalars()
    return best_match(list(rows), wa_id=wa_id, bsuid=bsuid)


def identity_conditions(*, wa_ids: Iterable[str], bsuids: Iterable[str]) -> list[ColumnElement[bool]]:
    """What selects the contacts of these identities: any national form of the numbers, or the BSUIDs."""
    conditions: list[ColumnElement[bool]] = []
    variants = sorted({variant for wa_id in wa_ids for variant in wa_id_variants(wa_id)})
    if variants:
        conditions.append(Contact.wa_id.in_(variants))
    if found_bsuids := sorted(set(bsuids)):
        conditions.append(Contact.bsuid.in_(found_bsuids))
    return conditions


def best_match(contacts: list[Contact], *, wa_id: str | None, bsuid: str | None) -> Contact | None:
    """The contact an identity names among `contacts` (oldest first): the one with its business-scoped id,
    which is stable when a user changes number; then the exact number; then a national variant of it."""
    variants = set(wa_id_variants(wa_id)) if wa_id else set()
    found = [
        c for c in contacts if (bsuid and c.bsuid == bsuid) or (c.wa_id is not None and c.wa_id in variants)
    ]
    for contact in found:
        if bsuid and contact.bsuid == bsuid:
            return contact
    for contact in found:
        if contact.wa_id == wa_id:
            return contact
    return found[0] if found else None


async def upsert_contact(
    session: AsyncSession,
    *,
    wa_id: str | None,
    bsuid: str | None = None,
    profile_name: str | None = None,
    username: str | None = None,
    known: list[Contact] | None = None,
) -> tuple[Contact, bool]:
    """The contact for this WhatsApp identity, created when new; fills in identifiers learnt later.

    `known`: every contact of the company that this identity could name, loaded beforehand (oldest first;
    a batch of webhook deliveries loads its customers at once): looked up there instead of in the database,
    and a contact created here is added to it."""
    if not wa_id and not bsuid:
        raise ValueError("a contact needs a wa_id or a business-scoped user id")
    if known is None:
        contact = await find_contact(session, wa_id=wa_id, bsuid=bsuid)
    else:
        contact = best_match(known, wa_id=wa_id, bsuid=bsuid)
    created = contact is None
    if contact is None:
        contact = Contact(wa_id=wa_id, bsuid=bsuid, profile_name=profile_name, username=username)
        session.add(contact)
        await session.flush()
        if known is not None:
            known.append(contact)
    else:
        if wa_id and not contact.wa_id:
            contact.wa_id = wa_id
        if bsuid and not contact.bsuid:
            contact.bsuid = bsuid
        if profile_name and contact.profile_name != profile_name:
            contact.profile_name = profile_name
        if username and contact.username != username:
            contact.username = username
    return contact, created


# --- wire form and events -------------------------------------------------------------------------------------


def contact_to_out(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.id,
        name=contact.display_name,
        saved_name=contact.name,
        profile_name=contact.profile_name,
        wa_id=contact.wa_id,
        phone=f"+{contact.wa_id}" if contact.wa_id else None,
        bsuid=contact.bsuid,
        username=contact.username,
        opted_out=contact.opted_out,
        blocked=contact.blocked,
        tags=[str(t) for t in contact.tags or []],
        attributes=dict(contact.attributes or {}),
        last_seen_at=contact.last_seen_at,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


def _publish(ctx: Ctx, event_type: str, contact: Contact) -> None:
    publish_after_commit(
        ctx.session,
        ctx.runtime,
        ctx.tenant_id,
        event_type,
        contact_to_out(contact).model_dump(mode="json", by_alias=True),
    )


# --- reading ------------------------------------------------------------------------------------------------


async def list_contacts(
    ctx: Ctx, filters: ContactFilters, *, limit: int, cursor: str | None
) -> tuple[list[ContactOut], str | None]:
    after = Cursor.decode(cursor) if cursor else None
    rows = await ContactRepository(ctx.session).list_page(filters, limit=limit + 1, after=after)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1].created_at, rows[-1].id).encode()
    return [contact_to_out(c) for c in rows], next_cursor


async def get_contact(ctx: Ctx, contact_id: uuid.UUID) -> ContactDetail:
    """A contact with its conversations (the newest 50)."""
    from wadesk.conversations.repository import ConversationFilters
    from wadesk.conversations.service import list_conversations

    contact = await ContactRepository(ctx.session).get_or_404(contact_id)
    conversations, _ = await list_conversations(
        ctx, ConversationFilters(contact_id=contact.id), limit=50, cursor=None
    )
    return ContactDetail(**contact_to_out(contact).model_dump(), conversations=conversations)


async def tag_counts(ctx: Ctx) -> list[tuple[str, int]]:
    return await ContactRepository(ctx.session).tag_counts()


async def attribute_key_counts(ctx: Ctx) -> list[tuple[str, int]]:
    return await ContactRepository(ctx.session).attribute_key_counts()


# --- writing ------------------------------------------------------------------------------------------------


async def _refuse_duplicate(session: AsyncSession, wa_id: str, *, except_id: uuid.UUID | None = None) -> None:
    for existing in await ContactRepository(session).by_wa_ids(wa_id_variants(wa_id)):
        if existing.id != except_id:
            raise Conflict(
                f"A contact with the number +{existing.wa_id} already exists"
                + (" (the same WhatsApp user in another format)." if existing.wa_id != wa_id else "."),
                code="contact_exists",
                details={"contactId": str(existing.id), "waId": existing.wa_id},
            )


async def create_contact(ctx: Ctx, data: ContactCreate) -> Contact:
    """Add a contact by phone; a number already known in any national form is a 409 naming the contact."""
    if not data.phone:
        raise Unprocessable("A contact needs a phone number.", code="phone_required")
    wa_id = normalize_wa_id(data.phone)
    await _refuse_duplicate(ctx.session, wa_id)
    repository = ContactRepository(ctx.session)
    contact = repository.add(
        Contact(
            tenant_id=ctx.tenant_id,
            wa_id=wa_id,
            name=data.name or None,
            opted_out=data.opted_out,
            blocked=data.blocked,
            attributes={k: v for k, v in data.attributes.items() if v is not None},
            tags=list(data.tags),
        )
    )
    await repository.flush()
    _publish(ctx, "contact.created", contact)
    return contact


async def update_contact(ctx: Ctx, contact_id: uuid.UUID, data: ContactUpdate) -> Contact:
    repository = ContactRepository(ctx.session)
    contact = await repository.get_or_404(contact_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("phone"):
        wa_id = normalize_wa_id(changes["phone"])
        if wa_id != contact.wa_id:
            await _refuse_duplicate(ctx.session, wa_id, except_id=contact.id)
            contact.wa_id = wa_id
    if "name" in changes:
        contact.name = changes["name"] or None
    if data.tags is not None:
        contact.tags = list(data.tags)
    if data.attributes is not None:
        merged = dict(contact.attributes or {})
        for key, value in data.attributes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        contact.attributes = check_attributes(merged)
    if data.opted_out is not None:
        contact.opted_out = data.opted_out
    if data.blocked is not None:
        contact.blocked = data.blocked
    contact.updated_at = utcnow()
    await repository.flush()
    _publish(ctx, "contact.updated", contact)
    return contact


async def delete_contact(ctx: Ctx, contact_id: uuid.UUID) -> None:
    """Delete a contact without history; one with conversations keeps them, so it is refused."""
    from wadesk.conversations.models import Conversation

    contact = await ContactRepository(ctx.session).get_or_404(contact_id)
    has_history = (
        await ctx.session.execute(
            select(Conversation.id).where(Conversation.contact_id == contact.id).limit(1)
        )
    ).first() is not None
    if has_history:
        raise Conflict(
            "This contact has conversations; merge it into another contact or block it instead.",
            code="contact_has_conversations",
        )
    await ctx.session.delete(contact)
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.CONTACT_DELETED,
        target_type="contact",
        target_id=contact_id,
        details={"wa_id": contact.wa_id},
    )
    publish_after_commit(ctx.session, ctx.runtime, ctx.tenant_id, "contact.deleted", {"id": str(contact_id)})


async def merge_contacts(ctx: Ctx, target_id: uuid.UUID, source_id: uuid.UUID) -> Contact:
    """Fold the duplicate `source` into `target`: conversations, messages and campaign history move, tags are
    united, attributes combined (the target's win), opt-out and block kept if either had them; then the
    duplicate is deleted. Conversations are moved as they are, not joined into one thread."""
    from wadesk.campaigns.models import CampaignRecipient
    from wadesk.conversations.models import Conversation
    from wadesk.messages.models import Message

    if target_id == source_id:
        raise Unprocessable("A contact cannot be merged into itself.", code="same_contact")
    repository = ContactRepository(ctx.session)
    target = await repository.get_or_404(target_id)
    source = await repository.get(source_id)
    if source is None:
        raise NotFound("The contact to merge was not found.", code="source_contact_not_found")
    session = ctx.session
    moved_conversations = list(
        (await session.execute(select(Conversation.id).where(Conversation.contact_id == source.id))).scalars()
    )
    await session.execute(
        update(Conversation)
        .where(Conversation.contact_id == source.id)
        .values(contact_id=target.id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Message)
        .where(Message.contact_id == source.id)
        .values(contact_id=target.id)
        .execution_options(synchronize_session=False)
    )
    # A campaign that reached both keeps the target's recipient row; the duplicate's goes with it.
    await session.execute(
        update(CampaignRecipient)
        .where(
            CampaignRecipient.contact_id == source.id,
            CampaignRecipient.campaign_id.not_in(
                select(CampaignRecipient.campaign_id).where(CampaignRecipient.contact_id == target.id)
            ),
        )
        .values(contact_id=target.id)
        .execution_options(synchronize_session=False)
    )
    source_snapshot = {"wa_id": source.wa_id, "bsuid": source.bsuid, "name": source.display_name}
    tags = list(dict.fromkeys(str(t) for t in [*(target.tags or []), *(source.tags or [])]))[:MAX_TAGS]
    attributes = {**(source.attributes or {}), **(target.attributes or {})}
    fill = {
        key: getattr(source, key)
        for key in ("wa_id", "bsuid", "username", "profile_name", "name")
        if getattr(target, key) is None and getattr(source, key) is not None
    }
    opted_out = target.opted_out or source.opted_out
    blocked = target.blocked or source.blocked
    last_seen = max((t for t in (target.last_seen_at, source.last_seen_at) if t is not None), default=None)
    await session.delete(source)
    # The duplicate's identifiers are unique per tenant: it must be gone before the target takes them.
    await session.flush()
    for key, value in fill.items():
        setattr(target, key, value)
    target.attributes = attributes
    target.opted_out = opted_out
    target.blocked = blocked
    target.last_seen_at = last_seen
    target.updated_at = utcnow()
    target.tags = tags
    await session.flush()
    record_audit(
        session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.CONTACT_MERGED,
        target_type="contact",
        target_id=target.id,
        details={"merged_contact_id": str(source_id), "merged": source_snapshot},
    )
    _publish(ctx, "contact.updated", target)
    publish_after_commit(session, ctx.runtime, ctx.tenant_id, "contact.deleted", {"id": str(source_id)})
    if moved_conversations:
        from wadesk.conversations.service import get_row_or_404, publish_conversation, to_out

        for conversation_id in moved_conversations:
            row = await get_row_or_404(session, conversation_id)
            publish_conversation(session, ctx.runtime, ctx.tenant_id, "conversation.updated", to_out(row))
    return target


# --- CSV import ---------------------------------------------------------------------------------------------

_PHONE_COLUMNS = {"phone", "phone_number", "phonenumber", "number", "mobile", "whatsapp", "wa_id", "waid"}
_NAME_COLUMNS = {"name", "full_name", "fullname", "contact_name"}
_TAG_COLUMNS = {"tags", "tag", "labels"}
_OPT_OUT_COLUMNS = {"opted_out", "optedout", "opt_out", "optout"}
_BLOCKED_COLUMNS = {"blocked"}
# Columns an export writes that are WhatsApp's or ours to set, not the file's: ignored on import.
_READ_ONLY_COLUMNS = {
    "id",
    "profile_name",
    "bsuid",
    "username",
    "last_seen_at",
    "created_at",
    "updated_at",
    "display_name",
}
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _column_key(header: str) -> str:
    return "_".join(header.strip().lower().replace("-", "_").split())


@dataclass(frozen=True, slots=True)
class _Columns:
    phone: int
    name: int | None
    tags: int | None
    opted_out: int | None
    blocked: int | None
    attributes_json: int | None
    # (column index, attribute name)
    attributes: list[tuple[int, str]]

    @classmethod
    def from_header(cls, header: list[str]) -> _Columns:
        found: dict[str, int] = {}
        attributes: list[tuple[int, str]] = []
        for index, raw in enumerate(header):
            key = _column_key(raw)
            if not key:
                continue
            for role, names in (
                ("phone", _PHONE_COLUMNS),
                ("name", _NAME_COLUMNS),
                ("tags", _TAG_COLUMNS),
                ("opted_out", _OPT_OUT_COLUMNS),
                ("blocked", _BLOCKED_COLUMNS),
            ):
                if key in names:
                    if role in found:
                        raise Unprocessable(
                            f"The CSV header has two '{role}' columns ('{header[found[role]]}' and '{raw}').",
                            code="csv_duplicate_column",
                        )
                    found[role] = index
                    break
            else:
                if key == "attributes":
                    found["attributes"] = index
                elif key in _READ_ONLY_COLUMNS:
                    continue
                else:
                    name = raw.strip()
                    for prefix in ("attributes.", "attribute.", "attr."):
                        if name.lower().startswith(prefix):
                            name = name[len(prefix) :]
                            break
                    attributes.append((index, _column_key(name)))
        if "phone" not in found:
            raise Unprocessable(
                "The CSV header needs a 'phone' column (the contact's number in international format).",
                code="csv_missing_column",
                details={"header": header},
            )
        return cls(
            phone=found["phone"],
            name=found.get("name"),
            tags=found.get("tags"),
            opted_out=found.get("opted_out"),
            blocked=found.get("blocked"),
            attributes_json=found.get("attributes"),
            attributes=attributes,
        )


@dataclass
class _Row:
    line: int
    wa_id: str
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    opted_out: bool | None = None
    blocked: bool | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


class _RowError(Exception):
    def __init__(self, field_name: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def _cell(fields: list[str], index: int | None) -> str:
    if index is None or index >= len(fields):
        return ""
    value = fields[index].strip()
    # Undo the formula guard an export put in front of cells (see csv_io.safe_cell).
    return value[1:] if value[:1] == "'" and value[1:2] in FORMULA_START else value


def _flag(fields: list[str], index: int | None, name: str) -> bool | None:
    value = _cell(fields, index).lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _RowError(name, f"'{value}' is not true or false")


def _parse_row(columns: _Columns, header_size: int, record: CsvRecord) -> _Row:
    fields = record.fields
    if len(fields) > header_size:
        raise _RowError(None, f"the row has {len(fields)} fields but the header has {header_size}")
    phone = _cell(fields, columns.phone)
    if not phone:
        raise _RowError("phone", "the phone number is missing")
    try:
        wa_id = normalize_wa_id(phone)
    except InvalidPhoneNumber as exc:
        raise _RowError("phone", exc.message) from exc
    row = _Row(line=record.line, wa_id=wa_id)
    name = _cell(fields, columns.name)
    if len(name) > 200:
        raise _RowError("name", "the name is longer than 200 characters")
    row.name = name or None
    raw_tags = _cell(fields, columns.tags)
    if raw_tags:
        separator = ";" if ";" in raw_tags else ","
        try:
            row.tags = clean_tags([t for t in raw_tags.split(separator) if t.strip()])
        except ValueError as exc:
            raise _RowError("tags", str(exc)) from exc
    row.opted_out = _flag(fields, columns.opted_out, "opted_out")
    row.blocked = _flag(fields, columns.blocked, "blocked")
    attributes: dict[str, Any] = {}
    raw_json = _cell(fields, columns.attributes_json)
    if raw_json:
        try:
            decoded = json.loads(raw_json)
        except ValueError as exc:
            raise _RowError("attributes", "the attributes column is not a JSON object") from exc
        if not isinstance(decoded, dict) or any(isinstance(v, dict | list) for v in decoded.values()):
            raise _RowError("attributes", "the attributes column must be a JSON object of plain values")
        attributes.update(decoded)
    for index, key in columns.attributes:
        value = _cell(fields, index)
        if value:
            attributes[key] = value
    try:
        row.attributes = check_attributes(attributes)
    except ValueError as exc:
        raise _RowError("attributes", str(exc)) from exc
    return row


@dataclass
class _ImportState:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    created_ids: list[uuid.UUID] = field(default_factory=list)
    # Contacts of this import by every variant of their number (rows repeating a contact update it).
    seen: dict[str, Contact] = field(default_factory=dict)

    def fail(self, line: int, field_name: str | None, message: str) -> None:
        self.failed += 1
        if len(self.errors) < IMPORT_MAX_LISTED_ERRORS:
            self.errors.append(ImportRowError(row=line, field=field_name, message=message))


async def import_contacts(ctx: Ctx, chunks: AsyncIterator[bytes]) -> ContactImportReport:
    """Create or update contacts from a CSV stream, row by row; bad rows are reported, the rest applied.

    Idempotent: a row matches an existing contact by any national form of its number and only changes what
    differs (tags are added, attributes merged), so importing the same file twice changes nothing the
    second time. The file must have a header with a `phone` column; `name`, `tags` (`;`-separated),
    `opted_out`, `blocked`, `attributes` (a JSON object) and any other column (an attribute) are optional.
    """
    records = read_records(chunks, max_bytes=IMPORT_MAX_BYTES)
    header: CsvRecord | None = None
    async for record in records:
        header = record
        break
    if header is None:
        raise Unprocessable("The CSV file is empty; it needs a header and rows.", code="csv_empty")
    columns = _Columns.from_header(header.fields)
    state = _ImportState()
    batch: list[_Row] = []
    async for record in records:
        state.rows += 1
        if state.rows > IMPORT_MAX_ROWS:
            raise Unprocessable(
                f"Contact imports are limited to {IMPORT_MAX_ROWS} rows; split the file.",
                code="import_too_many_rows",
                details={"maxRows": IMPORT_MAX_ROWS},
            )
        try:
            batch.append(_parse_row(columns, len(header.fields), record))
        except _RowError as error:
            state.fail(record.line, error.field, error.message)
        if len(batch) >= IMPORT_BATCH:
            await _apply_batch(ctx, batch, state)
            batch = []
    if batch:
        await _apply_batch(ctx, batch, state)
    if state.rows == 0:
        raise Unprocessable("The CSV file has a header but no rows.", code="csv_empty")
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.CONTACTS_IMPORTED,
        details={
            "rows": state.rows,
            "created": state.created,
            "updated": state.updated,
            "failed": state.failed,
        },
    )
    _announce_import(ctx, state)
    return ContactImportReport(
        rows=state.rows,
        created=state.created,
        updated=state.updated,
        unchanged=state.unchanged,
        failed=state.failed,
        errors=state.errors,
        errors_truncated=state.failed > len(state.errors),
    )


async def _apply_batch(ctx: Ctx, batch: list[_Row], state: _ImportState) -> None:
    repository = ContactRepository(ctx.session)
    wanted = {variant for row in batch for variant in wa_id_variants(row.wa_id)}
    for contact in await repository.by_wa_ids(wanted - state.seen.keys()):
        if contact.wa_id:
            for variant in wa_id_variants(contact.wa_id):
                state.seen.setdefault(variant, contact)
    for row in batch:
        found = next((state.seen[v] for v in wa_id_variants(row.wa_id) if v in state.seen), None)
        if found is None:
            contact = repository.add(
                Contact(
                    id=uuid.uuid4(),
                    tenant_id=ctx.tenant_id,
                    wa_id=row.wa_id,
                    name=row.name,
                    opted_out=bool(row.opted_out),
                    blocked=bool(row.blocked),
                    attributes=dict(row.attributes),
                    tags=list(row.tags),
                )
            )
            for variant in wa_id_variants(row.wa_id):
                state.seen[variant] = contact
            state.created += 1
            state.created_ids.append(contact.id)
            continue
        contact = found
        changed = _apply_row(contact, row)
        if changed:
            state.updated += 1
        else:
            state.unchanged += 1
    await repository.flush()


def _apply_row(contact: Contact, row: _Row) -> bool:
    """Apply what a row says to a contact; True when something changed."""
    changed = False
    if row.name and contact.name != row.name:
        contact.name = row.name
        changed = True
    current = [str(t) for t in contact.tags or []]
    new_tags = [t for t in row.tags if t not in current][: max(0, MAX_TAGS - len(current))]
    if new_tags:
        contact.tags = current + new_tags
        changed = True
    if row.opted_out is not None and contact.opted_out != row.opted_out:
        contact.opted_out = row.opted_out
        changed = True
    if row.blocked is not None and contact.blocked != row.blocked:
        contact.blocked = row.blocked
        changed = True
    if row.attributes:
        merged_attributes = {**(contact.attributes or {}), **row.attributes}
        if merged_attributes != (contact.attributes or {}):
            contact.attributes = merged_attributes
            changed = True
    if changed:
        contact.updated_at = utcnow()
    return changed


def _announce_import(ctx: Ctx, state: _ImportState) -> None:
    """One realtime summary for the team; one `contact.created` per new contact for outbound webhooks."""
    runtime, tenant_id = ctx.runtime, ctx.tenant_id
    created_ids = list(state.created_ids)
    summary = {"created": state.created, "updated": state.updated, "failed": state.failed}

    async def announce() -> None:
        from wadesk.integrations.service import dispatch_events

        await publish_event(runtime, tenant_id, "contacts.imported", summary)
        if not created_ids:
            return
        events: list[tuple[str, dict[str, Any]]] = []
        async with unit_of_work(runtime.sessionmaker, tenant_id) as session:
            for start in range(0, len(created_ids), 500):
                chunk = created_ids[start : start + 500]
                contacts = (await session.execute(select(Contact).where(Contact.id.in_(chunk)))).scalars()
                events += [
                    ("contact.created", contact_to_out(c).model_dump(mode="json", by_alias=True))
                    for c in contacts
                ]
        await dispatch_events(runtime, tenant_id, events)

    run_after_commit(ctx.session, announce)


# --- CSV export ---------------------------------------------------------------------------------------------


async def export_contacts(runtime: Runtime, tenant_id: uuid.UUID) -> AsyncIterator[str]:
    """Every contact of the tenant as CSV text, page by page, each page read in its own short session so a
    long download never holds a transaction open."""
    yield csv_line(EXPORT_COLUMNS)
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with runtime.sessionmaker() as session:
            scope_to_tenant(session, tenant_id)
            page = await ContactRepository(session).page_after(after, EXPORT_PAGE)
            text = "".join(_export_line(c) for c in page)
            if page:
                after = (page[-1].created_at, page[-1].id)
            await session.rollback()
        if not page:
            return
        yield text


def _export_line(contact: Contact) -> str:
    return csv_line(
        [
            str(contact.id),
            f"+{contact.wa_id}" if contact.wa_id else "",
            safe_cell(contact.name),
            safe_cell(contact.profile_name),
            safe_cell(contact.bsuid),
            safe_cell(contact.username),
            safe_cell(";".join(str(t) for t in contact.tags or [])),
            safe_cell(contact.opted_out),
            safe_cell(contact.blocked),
            safe_cell(contact.attributes or {}) if contact.attributes else "",
            contact.last_seen_at.isoformat() if contact.last_seen_at else "",
            contact.created_at.isoformat(),
        ]
    )


def record_export(ctx: Ctx) -> None:
    record_audit(
        ctx.session, tenant_id=ctx.tenant_id, actor_user_id=ctx.user_id, action=AuditAction.CONTACTS_EXPORTED
    )
