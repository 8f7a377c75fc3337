from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from wadesk.auth.dependencies import AdminCtxDep, CtxDep
from wadesk.contacts import service
from wadesk.contacts.repository import ContactFilters
from wadesk.contacts.schemas import (
    AttributeKeyCount,
    ContactCreate,
    ContactDetail,
    ContactImportReport,
    ContactMergeIn,
    ContactOut,
    ContactUpdate,
    TagCount,
    clean_tag,
)
from wadesk.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from wadesk.kit.schemas import Page, error_responses

router = APIRouter(prefix="/api/contacts", tags=["contacts"], responses=error_responses(401, 403, 422))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("", summary="List contacts, newest first", responses=error_responses(400))
async def list_contacts(
    ctx: CtxDep,
    search: Annotated[
        str | None, Query(max_length=200, description="Name, profile name, username, number or BSUID")
    ] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    opted_out: Annotated[bool | None, Query(alias="optedOut")] = None,
    blocked: bool | None = None,
    last_seen_after: Annotated[datetime | None, Query(alias="lastSeenAfter")] = None,
    last_seen_before: Annotated[datetime | None, Query(alias="lastSeenBefore")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[ContactOut]:
    filters = ContactFilters(
        search=search or None,
        tag=clean_tag(tag) if tag else None,
        opted_out=opted_out,
        blocked=blocked,
        last_seen_after=_aware(last_seen_after),
        last_seen_before=_aware(last_seen_before),
    )
    items, next_cursor = await service.list_contacts(ctx, filters, limit=limit, cursor=cursor)
    return Page[ContactOut](items=items, next_cursor=next_cursor)


@router.get("/tags", summary="The tags in use, with how many contacts carry each")
async def list_tags(ctx: CtxDep) -> list[TagCount]:
    return [TagCount(tag=tag, count=count) for tag, count in await service.tag_counts(ctx)]


# Declared before /{contact_id}, which would otherwise take "attribute-keys" for an id.
@router.get(
    "/attribute-keys",
    summary="The attribute keys in use, sorted, with how many contacts have each",
    description="Suggestions for audience filters and parameter mappings (`attributes.<key>`).",
)
async def list_attribute_keys(ctx: CtxDep) -> list[AttributeKeyCount]:
    return [AttributeKeyCount(key=key, count=count) for key, count in await service.attribute_key_counts(ctx)]


@router.get(
    "/export",
    summary="Download every contact as CSV (admin)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_contacts(ctx: AdminCtxDep) -> StreamingResponse:
    service.record_export(ctx)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        service.export_contacts(ctx.runtime, ctx.tenant_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="contacts-{stamp}.csv"'},
    )


@router.post(
    "/import",
    summary="Create or update contacts from a CSV file (admin)",
    description=(
        "Send the CSV as the request body (`Content-Type: text/csv`, UTF-8). The header needs a `phone` "
        "column; `name`, `tags` (separated by `;`), `opted_out`, `blocked`, `attributes` (a JSON object) "
        "and any other column (stored as an attribute) are optional. Rows are matched to existing contacts "
        f"by number, so importing the same file again changes nothing. At most {service.IMPORT_MAX_BYTES} "
        f"bytes and {service.IMPORT_MAX_ROWS} rows; bad rows are listed in the report, the others applied."
    ),
    responses=error_responses(413),
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def import_contacts(request: Request, ctx: AdminCtxDep) -> ContactImportReport:
    return await service.import_contacts(ctx, request.stream())


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a contact", responses=error_responses(409))
async def create_contact(data: ContactCreate, ctx: CtxDep) -> ContactOut:
    return service.contact_to_out(await service.create_contact(ctx, data))


@router.get("/{contact_id}", summary="A contact with its conversations", responses=error_responses(404))
async def get_contact(contact_id: uuid.UUID, ctx: CtxDep) -> ContactDetail:
    return await service.get_contact(ctx, contact_id)


@router.patch(
    "/{contact_id}",
    summary="Edit a contact: name, number, tags, attributes, opt-out, block",
    responses=error_responses(404, 409),
)
async def update_contact(contact_id: uuid.UUID, data: ContactUpdate, ctx: CtxDep) -> ContactOut:
    return service.contact_to_out(await service.update_contact(ctx, contact_id, data))


@router.delete(
    "/{contact_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a contact without conversations (admin)",
    responses=error_responses(404, 409),
)
async def delete_contact(contact_id: uuid.UUID, ctx: AdminCtxDep) -> Response:
    await service.delete_contact(ctx, contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{contact_id}/merge",
    summary="Merge a duplicate contact into this one (admin)",
    responses=error_responses(404),
)
async def merge_contacts(contact_id: uuid.UUID, data: ContactMergeIn, ctx: AdminCtxDep) -> ContactOut:
    return service.contact_to_out(await service.merge_contacts(ctx, contact_id, data.source_contact_id))
