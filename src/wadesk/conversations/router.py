from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from wadesk.auth.dependencies import CtxDep
from wadesk.collaboration.schemas import clean_label
from wadesk.conversations import service
from wadesk.conversations.models import ConversationStatus
from wadesk.conversations.repository import ConversationFilters
from wadesk.conversations.schemas import (
    ConversationDetail,
    ConversationOut,
    ConversationStats,
    ConversationUpdate,
)
from wadesk.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from wadesk.kit.schemas import Page, error_responses
from wadesk.phone_numbers.service import find_number

router = APIRouter(
    prefix="/api/conversations", tags=["conversations"], responses=error_responses(401, 403, 422)
)


@router.get("", summary="List conversations, newest activity first", responses=error_responses(400))
async def list_conversations(
    ctx: CtxDep,
    status: ConversationStatus | None = None,
    assignee_id: Annotated[uuid.UUID | None, Query(alias="assigneeId")] = None,
    unassigned: bool = False,
    search: Annotated[str | None, Query(max_length=200)] = None,
    phone_number_id: Annotated[
        str | None, Query(alias="phoneNumberId", max_length=64, description="Meta's id or ours")
    ] = None,
    has_unread: Annotated[bool, Query(alias="hasUnread")] = False,
    contact_id: Annotated[uuid.UUID | None, Query(alias="contactId")] = None,
    label: Annotated[
        str | None, Query(max_length=64, description="Only conversations with this label")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[ConversationOut]:
    number_id = None
    if phone_number_id:
        # A disabled number's history stays readable, so the filter accepts it.
        number_id = (await find_number(ctx.session, phone_number_id)).id
    filters = ConversationFilters(
        status=status,
        assignee_id=assignee_id,
        unassigned=unassigned,
        search=search or None,
        phone_number_id=number_id,
        has_unread=has_unread,
        contact_id=contact_id,
        label=clean_label(label) if label else None,
    )
    items, next_cursor = await service.list_conversations(ctx, filters, limit=limit, cursor=cursor)
    return Page[ConversationOut](items=items, next_cursor=next_cursor)


@router.get("/stats/summary", summary="Counts by status, unassigned, mine and unread")
async def stats_summary(ctx: CtxDep) -> ConversationStats:
    return await service.stats(ctx)


@router.get(
    "/{conversation_id}", summary="A conversation with its latest messages", responses=error_responses(404)
)
async def get_conversation(conversation_id: uuid.UUID, ctx: CtxDep) -> ConversationDetail:
    return await service.get_conversation(ctx, conversation_id)


@router.patch("/{conversation_id}", summary="Change status or assignee", responses=error_responses(404))
async def update_conversation(
    conversation_id: uuid.UUID, data: ConversationUpdate, ctx: CtxDep
) -> ConversationOut:
    return await service.update_conversation(ctx, conversation_id, data)


@router.delete(
    "/{conversation_id}",
    summary="Archive a conversation (nothing is deleted)",
    responses=error_responses(404),
)
async def archive_conversation(conversation_id: uuid.UUID, ctx: CtxDep) -> ConversationOut:
    return await service.archive_conversation(ctx, conversation_id)


@router.post(
    "/{conversation_id}/read",
    summary="Mark every message of the conversation read",
    responses=error_responses(404),
)
async def mark_read(conversation_id: uuid.UUID, ctx: CtxDep) -> ConversationOut:
    return await service.mark_conversation_read(ctx, conversation_id)
