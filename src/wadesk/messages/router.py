from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import FileResponse

from wadesk.auth.dependencies import CtxDep
from wadesk.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Cursor
from wadesk.kit.schemas import Page, error_responses
from wadesk.messages import service
from wadesk.messages.models import Direction, MessageStatus
from wadesk.messages.repository import MessageFilters, MessageRepository
from wadesk.messages.schemas import MessageOut, MessageUpdate, SendMessageIn

router = APIRouter(prefix="/api/messages", tags=["messages"], responses=error_responses(401, 403, 422))


@router.get("", summary="List messages, newest first", responses=error_responses(400))
async def list_messages(
    ctx: CtxDep,
    conversation_id: Annotated[uuid.UUID | None, Query(alias="conversationId")] = None,
    contact_id: Annotated[uuid.UUID | None, Query(alias="contactId")] = None,
    direction: Direction | None = None,
    status: MessageStatus | None = None,
    type: Annotated[str | None, Query(max_length=30)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[MessageOut]:
    filters = MessageFilters(
        conversation_id=conversation_id,
        contact_id=contact_id,
        direction=direction,
        status=status,
        type=type,
        since=_aware(since),
        until=_aware(until),
    )
    before = Cursor.decode(cursor) if cursor else None
    rows = await MessageRepository(ctx.session).list_page(filters, limit=limit + 1, before=before)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1].created_at, rows[-1].id).encode()
    return Page[MessageOut](items=[service.message_to_out(m) for m in rows], next_cursor=next_cursor)


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/{message_id}", summary="Get a message", responses=error_responses(404))
async def get_message(message_id: uuid.UUID, ctx: CtxDep) -> MessageOut:
    return service.message_to_out(await service.get_message(ctx, message_id))


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a message (stored as queued, sent by a worker)",
    responses=error_responses(404),
)
async def send_message(
    data: SendMessageIn,
    ctx: CtxDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> MessageOut:
    message, created = await service.send_message(ctx, data, idempotency_key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return service.message_to_out(message)


@router.patch(
    "/{message_id}",
    summary='Mark an inbound message read ({"status": "read"})',
    responses=error_responses(404),
)
async def update_message(message_id: uuid.UUID, data: MessageUpdate, ctx: CtxDep) -> MessageOut:
    return service.message_to_out(await service.mark_read(ctx, message_id, data.status))


@router.post(
    "/{message_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a failed outbound message again (a new attempt, a new wamid)",
    responses=error_responses(404),
)
async def retry_message(message_id: uuid.UUID, ctx: CtxDep) -> MessageOut:
    return service.message_to_out(await service.retry(ctx, message_id))


@router.get(
    "/{message_id}/media",
    summary="The stored media file of an inbound message",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **error_responses(404)},
)
async def get_media(message_id: uuid.UUID, ctx: CtxDep) -> FileResponse:
    path, mime, filename = await service.media_file(ctx, message_id)
    return FileResponse(path, media_type=mime, filename=filename)


@router.post(
    "/{message_id}/media/retry",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Download an inbound message's media again after a failure",
    responses=error_responses(404),
)
async def retry_media(message_id: uuid.UUID, ctx: CtxDep) -> MessageOut:
    return service.message_to_out(await service.retry_media(ctx, message_id))
