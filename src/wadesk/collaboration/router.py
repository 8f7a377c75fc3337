from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from wadesk.auth.dependencies import AdminCtxDep, CtxDep
from wadesk.collaboration import service
from wadesk.collaboration.schemas import (
    CannedResponseCreate,
    CannedResponseOut,
    CannedResponseUpdate,
    ExpandIn,
    ExpandOut,
    LabelCreate,
    LabelOut,
    LabelsIn,
    LabelUpdate,
    NoteCreate,
    NoteOut,
    NoteUpdate,
    ParticipantIn,
    ParticipantOut,
    PresenceIn,
)
from wadesk.conversations.schemas import ConversationOut
from wadesk.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from wadesk.kit.schemas import Page, error_responses

conversation_router = APIRouter(
    prefix="/api/conversations/{conversation_id}",
    tags=["collaboration"],
    responses=error_responses(401, 403, 404, 422),
)
canned_router = APIRouter(
    prefix="/api/canned-responses", tags=["collaboration"], responses=error_responses(401, 403, 422)
)
labels_router = APIRouter(prefix="/api/labels", tags=["collaboration"], responses=error_responses(401, 403))


# --- notes ----------------------------------------------------------------------------------------------------


@conversation_router.get(
    "/notes",
    summary="The conversation's private notes, newest first",
    responses=error_responses(400),
)
async def list_notes(
    conversation_id: uuid.UUID,
    ctx: CtxDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[NoteOut]:
    items, next_cursor = await service.list_notes(ctx, conversation_id, limit=limit, cursor=cursor)
    return Page[NoteOut](items=items, next_cursor=next_cursor)


@conversation_router.post(
    "/notes",
    status_code=status.HTTP_201_CREATED,
    summary="Add a private note (never sent to WhatsApp); mentioned teammates are notified",
)
async def add_note(conversation_id: uuid.UUID, data: NoteCreate, ctx: CtxDep) -> NoteOut:
    return await service.add_note(ctx, conversation_id, data)


@conversation_router.patch("/notes/{note_id}", summary="Edit a note (its author or an admin)")
async def update_note(
    conversation_id: uuid.UUID, note_id: uuid.UUID, data: NoteUpdate, ctx: CtxDep
) -> NoteOut:
    return await service.update_note(ctx, conversation_id, note_id, data)


@conversation_router.delete(
    "/notes/{note_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a note (its author or an admin)",
)
async def delete_note(conversation_id: uuid.UUID, note_id: uuid.UUID, ctx: CtxDep) -> Response:
    await service.delete_note(ctx, conversation_id, note_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- labels, participants, presence ---------------------------------------------------------------------------


@conversation_router.put("/labels", summary="Replace the conversation's labels")
async def set_labels(conversation_id: uuid.UUID, data: LabelsIn, ctx: CtxDep) -> ConversationOut:
    return await service.set_labels(ctx, conversation_id, data.labels)


@conversation_router.get("/participants", summary="Teammates following the conversation")
async def list_participants(conversation_id: uuid.UUID, ctx: CtxDep) -> list[ParticipantOut]:
    return await service.list_participants(ctx, conversation_id)


@conversation_router.post(
    "/participants",
    status_code=status.HTTP_201_CREATED,
    summary="Add a teammate to the conversation's participants",
)
async def add_participant(conversation_id: uuid.UUID, data: ParticipantIn, ctx: CtxDep) -> ParticipantOut:
    return await service.add_participant(ctx, conversation_id, data.user_id)


@conversation_router.delete(
    "/participants/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a teammate from the conversation's participants",
)
async def remove_participant(conversation_id: uuid.UUID, user_id: uuid.UUID, ctx: CtxDep) -> Response:
    await service.remove_participant(ctx, conversation_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@conversation_router.post(
    "/presence",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Tell teammates you are typing in or viewing the conversation (a realtime hint, not stored)",
    description="Publishes `conversation.presence` {conversationId, user, state, at, expiresInSeconds} to "
    "the company. Repeat it while typing or viewing; send `idle` when leaving.",
)
async def announce_presence(conversation_id: uuid.UUID, data: PresenceIn, ctx: CtxDep) -> Response:
    await service.announce_presence(ctx, conversation_id, data.state)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- canned responses -----------------------------------------------------------------------------------------


@canned_router.get("", summary="Canned responses, by short code; `search` matches code, title or text")
async def list_canned(
    ctx: CtxDep, search: Annotated[str | None, Query(max_length=100)] = None
) -> list[CannedResponseOut]:
    return [service.canned_to_out(c) for c in await service.list_canned(ctx, search)]


@canned_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a canned response",
    responses=error_responses(409),
)
async def create_canned(data: CannedResponseCreate, ctx: CtxDep) -> CannedResponseOut:
    return service.canned_to_out(await service.create_canned(ctx, data))


@canned_router.post(
    "/expand",
    summary="Expand every /short_code in a draft into its canned response",
    responses=error_responses(404),
)
async def expand(data: ExpandIn, ctx: CtxDep) -> ExpandOut:
    return await service.expand_text(ctx, data.text, data.conversation_id)


@canned_router.get("/{canned_id}", summary="Get a canned response", responses=error_responses(404))
async def get_canned(canned_id: uuid.UUID, ctx: CtxDep) -> CannedResponseOut:
    return service.canned_to_out(await service.get_canned(ctx, canned_id))


@canned_router.patch(
    "/{canned_id}",
    summary="Change a canned response (its author or an admin)",
    responses=error_responses(404, 409),
)
async def update_canned(canned_id: uuid.UUID, data: CannedResponseUpdate, ctx: CtxDep) -> CannedResponseOut:
    return service.canned_to_out(await service.update_canned(ctx, canned_id, data))


@canned_router.delete(
    "/{canned_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a canned response (its author or an admin)",
    responses=error_responses(404),
)
async def delete_canned(canned_id: uuid.UUID, ctx: CtxDep) -> Response:
    await service.delete_canned(ctx, canned_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the label catalogue --------------------------------------------------------------------------------------


@labels_router.get(
    "", summary="The company's labels with their colours and how many conversations carry each"
)
async def list_labels(ctx: CtxDep) -> list[LabelOut]:
    return await service.list_labels(ctx)


@labels_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a label (a label set on a conversation is added too)",
    responses=error_responses(409, 422),
)
async def create_label(data: LabelCreate, ctx: CtxDep) -> LabelOut:
    return await service.create_label(ctx, data)


@labels_router.patch(
    "/{label_id}",
    summary="Rename or recolour a label (admin); a rename applies to every conversation carrying it",
    responses=error_responses(404, 409, 422),
)
async def update_label(label_id: uuid.UUID, data: LabelUpdate, ctx: AdminCtxDep) -> LabelOut:
    return await service.update_label(ctx, label_id, data)


@labels_router.delete(
    "/{label_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a label (admin): it is removed from every conversation",
    responses=error_responses(404),
)
async def delete_label(label_id: uuid.UUID, ctx: AdminCtxDep) -> Response:
    await service.delete_label(ctx, label_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
