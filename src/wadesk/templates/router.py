from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from wadesk.auth.dependencies import AdminCtxDep, CtxDep
from wadesk.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from wadesk.kit.schemas import Page, error_responses
from wadesk.phone_numbers.service import require_active_number
from wadesk.templates import lifecycle
from wadesk.templates.repository import TemplateFilters
from wadesk.templates.schemas import (
    TemplateCreate,
    TemplateOut,
    TemplatePreview,
    TemplatePreviewIn,
    TemplateSyncIn,
    TemplateSyncReport,
    TemplateValidation,
)
from wadesk.templates.validation import template_problems

router = APIRouter(prefix="/api/templates", tags=["templates"], responses=error_responses(401, 403, 422))


@router.get("", summary="List message templates, newest first", responses=error_responses(400))
async def list_templates(
    ctx: CtxDep,
    status: Annotated[
        str | None, Query(max_length=30, description="e.g. APPROVED, PENDING, REJECTED")
    ] = None,
    name: Annotated[str | None, Query(max_length=512)] = None,
    language: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=30)] = None,
    phone_number_id: Annotated[
        str | None, Query(alias="phoneNumberId", max_length=64, description="Only this number's WABA")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[TemplateOut]:
    waba_id = (await require_active_number(ctx.session, phone_number_id)).waba_id if phone_number_id else None
    filters = TemplateFilters(status=status, name=name, language=language, category=category, waba_id=waba_id)
    items, next_cursor = await lifecycle.list_templates(ctx, filters, limit=limit, cursor=cursor)
    return Page[TemplateOut](items=items, next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a template and submit it to Meta for review (admin)",
    description="Checked first against Meta's rules (name, category, language, header, body parameters and "
    "examples, footer, buttons): a problem answers 422 `template_invalid` with every problem in "
    "`details.problems` and nothing is submitted. Status changes arrive by webhook as `template.updated`.",
    responses=error_responses(404, 409, 503),
)
async def create_template(data: TemplateCreate, ctx: AdminCtxDep) -> TemplateOut:
    return lifecycle.template_to_out(await lifecycle.create_template(ctx, data))


@router.post(
    "/validate",
    summary="Check a template definition against Meta's rules without submitting it",
)
async def validate_template(data: TemplateCreate, ctx: CtxDep) -> TemplateValidation:
    problems = template_problems(lifecycle.definition_of(data))
    return TemplateValidation(valid=not problems, problems=[p.as_dict() for p in problems])


@router.post(
    "/sync",
    summary="Fetch the templates of the company's WhatsApp Business Accounts from Meta now (admin)",
    responses=error_responses(404, 503),
)
async def sync_templates(ctx: AdminCtxDep, data: TemplateSyncIn | None = None) -> TemplateSyncReport:
    return await lifecycle.sync_templates(ctx, data.phone_number_id if data else None)


@router.get("/{template_id}", summary="Get a template", responses=error_responses(404))
async def get_template(template_id: uuid.UUID, ctx: CtxDep) -> TemplateOut:
    return lifecycle.template_to_out(await lifecycle.get_template(ctx, template_id))


@router.post(
    "/{template_id}/preview",
    summary="Render a template with parameters, as the customer would read it",
    responses=error_responses(404),
)
async def preview_template(template_id: uuid.UUID, data: TemplatePreviewIn, ctx: CtxDep) -> TemplatePreview:
    return lifecycle.preview(await lifecycle.get_template(ctx, template_id), data)


@router.delete(
    "/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a template at Meta and here (admin)",
    responses=error_responses(404, 409, 503),
)
async def delete_template(template_id: uuid.UUID, ctx: AdminCtxDep) -> Response:
    await lifecycle.delete_template(ctx, template_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
