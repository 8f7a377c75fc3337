"""Conversations: the inbox list, the customer service window, status and assignment."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.auth.dependencies import Ctx
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.conversations.repository import ConversationFilters, ConversationRepository, ConversationRow
from wadesk.conversations.schemas import (
    ContactRef,
    ConversationDetail,
    ConversationOut,
    ConversationStats,
    ConversationUpdate,
    PhoneNumberRef,
    UserRef,
)
from wadesk.conversations.window import window_is_open
from wadesk.db.base import utcnow
from wadesk.errors import NotFound, Unprocessable
from wadesk.infra.runtime import Runtime
from wadesk.kit.pagination import Cursor
from wadesk.messages.repository import MessageFilters, MessageRepository
from wadesk.messages.service import message_to_out
from wadesk.realtime.service import publish_after_commit
from wadesk.users.models import User

THREAD_PAGE = 50


def to_out(row: ConversationRow) -> ConversationOut:
    c = row.conversation
    return ConversationOut(
        id=c.id,
        contact=contact_ref(row.contact),
        phone_number=PhoneNumberRef.model_validate(row.phone_number),
        status=ConversationStatus(c.status),
        assignee=UserRef.model_validate(row.assignee) if row.assignee else None,
        unread_count=c.unread_count,
        last_message_at=c.last_message_at,
        last_message_preview=c.last_message_preview,
        customer_window_expires_at=c.customer_window_expires_at,
        window_open=window_is_open(c),
        labels=list(c.labels or []),
        created_at=c.created_at,
    )


def contact_ref(contact: Contact) -> ContactRef:
    return ContactRef(
        id=contact.id,
        wa_id=contact.wa_id,
        bsuid=contact.bsuid,
        name=contact.display_name,
        opted_out=contact.opted_out,
        blocked=contact.blocked,
    )


async def list_conversations(
    ctx: Ctx, filters: ConversationFilters, *, limit: int, cursor: str | None
) -> tuple[list[ConversationOut], str | None]:
    after = Cursor.decode(cursor) if cursor else None
    rows = await ConversationRepository(ctx.session).list_page(filters, limit=limit + 1, after=after)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1].conversation
        next_cursor = Cursor(last.last_message_at, last.id).encode()
    return [to_out(r) for r in rows], next_cursor


async def get_row_or_404(session: AsyncSession, conversation_id: uuid.UUID) -> ConversationRow:
    row = await ConversationRepository(session).get_row(conversation_id)
    if row is None:
        raise NotFound("Conversation not found.")
    return row


async def get_conversation(ctx: Ctx, conversation_id: uuid.UUID) -> ConversationDetail:
    row = await get_row_or_404(ctx.session, conversation_id)
    newest = await MessageRepository(ctx.session).list_page(
        MessageFilters(conversation_id=conversation_id), limit=THREAD_PAGE + 1, before=None
    )
    cursor = None
    if len(newest) > THREAD_PAGE:
        newest = newest[:THREAD_PAGE]
        oldest = newest[-1]
        cursor = Cursor(oldest.created_at, oldest.id).encode()
    return ConversationDetail(
        **to_out(row).model_dump(),
        messages=[message_to_out(m) for m in reversed(newest)],
        messages_cursor=cursor,
    )


async def update_conversation(
    ctx: Ctx, conversation_id: uuid.UUID, data: ConversationUpdate
) -> ConversationOut:
    row = await get_row_or_404(ctx.session, conversation_id)
    conversation = row.conversation
    changes = data.model_dump(exclude_unset=True)
    if "assignee_id" in changes:
        assignee_id = changes["assignee_id"]
        assignee = await ctx.session.get(User, assignee_id) if assignee_id else None
        if assignee_id and (assignee is None or assignee.tenant_id != ctx.tenant_id):
            raise Unprocessable("The assignee is not a user of this company.", code="invalid_assignee")
        if assignee is not None and not assignee.is_active:
            raise Unprocessable("The assignee is deactivated.", code="invalid_assignee")
        conversation.assignee_id = assignee.id if assignee else None
        row = ConversationRow(conversation, row.contact, row.phone_number, assignee)
    if changes.get("status") is not None:
        set_status(conversation, ConversationStatus(changes["status"]))
    await ctx.session.flush()
    out = to_out(row)
    publish_conversation(ctx.session, ctx.runtime, ctx.tenant_id, "conversation.updated", out)
    return out


def set_status(conversation: Conversation, status: ConversationStatus) -> None:
    if conversation.status == status:
        return
    conversation.status = status
    conversation.resolved_at = utcnow() if status == ConversationStatus.RESOLVED else None


async def archive_conversation(ctx: Ctx, conversation_id: uuid.UUID) -> ConversationOut:
    return await update_conversation(
        ctx, conversation_id, ConversationUpdate(status=ConversationStatus.ARCHIVED)
    )


async def mark_conversation_read(ctx: Ctx, conversation_id: uuid.UUID) -> ConversationOut:
    row = await get_row_or_404(ctx.session, conversation_id)
    now = utcnow()
    await MessageRepository(ctx.session).mark_inbound_read_up_to(conversation_id, now, now)
    row.conversation.unread_count = 0
    out = to_out(row)
    publish_conversation(ctx.session, ctx.runtime, ctx.tenant_id, "conversation.updated", out)
    return out


async def stats(ctx: Ctx) -> ConversationStats:
    return ConversationStats(**await ConversationRepository(ctx.session).stats(ctx.user_id))


def publish_conversation(
    session: AsyncSession, runtime: Runtime, tenant_id: uuid.UUID, event_type: str, out: ConversationOut
) -> None:
    publish_after_commit(session, runtime, tenant_id, event_type, out.model_dump(mode="json", by_alias=True))
