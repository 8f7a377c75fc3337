from __future__ import annotations

import tempfile
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from wadesk.auth.dependencies import AdminCtxDep
from wadesk.campaigns import service
from wadesk.campaigns.models import Campaign, CampaignStatus, RecipientStatus
from wadesk.campaigns.repository import RecipientFilters
from wadesk.campaigns.schemas import (
    AudiencePreview,
    CampaignCreate,
    CampaignOut,
    CampaignPreviewIn,
    CampaignStats,
    CampaignUpdate,
    CsvUploadResult,
    RecipientOut,
    RetryResult,
    ScheduleIn,
)
from wadesk.errors import Unprocessable
from wadesk.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from wadesk.kit.schemas import Page, error_responses

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"], responses=error_responses(401, 403, 422))

# Uploads above this stay on disk while they are read, never in memory.
_SPOOL_BYTES = 1024 * 1024

LIFECYCLE = (
    "Lifecycle: draft → scheduled → running ⇄ paused → completed, or cancelled. A transition that is not "
    "allowed from the current status answers 422 `invalid_transition` with the reason; every transition is "
    "audited."
)


@router.get("", summary="List campaigns, newest first, with their counts", responses=error_responses(400))
async def list_campaigns(
    ctx: AdminCtxDep,
    status: CampaignStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[CampaignOut]:
    items, next_cursor = await service.list_campaigns(ctx, status, limit=limit, cursor=cursor)
    return Page[CampaignOut](items=items, next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a draft campaign",
    description="An approved template of the number's account, an audience (contacts by tags and attributes, or "
    "a CSV upload), a source for every template placeholder, and an optional schedule. " + LIFECYCLE,
    responses=error_responses(404),
)
async def create_campaign(data: CampaignCreate, ctx: AdminCtxDep) -> CampaignOut:
    campaign = await service.create_campaign(ctx, data)
    return await service.to_out(ctx.session, campaign)


@router.post(
    "/preview",
    summary="Preview an audience: how many it reaches and one recipient's message",
    responses=error_responses(404),
)
async def preview_audience(data: CampaignPreviewIn, ctx: AdminCtxDep) -> AudiencePreview:
    return await service.preview_audience(ctx, data)


@router.get("/{campaign_id}", summary="A campaign with its counts", responses=error_responses(404))
async def get_campaign(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> CampaignOut:
    return await service.to_out(ctx.session, await service.get_campaign(ctx, campaign_id))


@router.patch("/{campaign_id}", summary="Edit a draft campaign", responses=error_responses(404))
async def update_campaign(campaign_id: uuid.UUID, data: CampaignUpdate, ctx: AdminCtxDep) -> CampaignOut:
    campaign = await service.update_campaign(ctx, campaign_id, data)
    return await service.to_out(ctx.session, campaign)


@router.delete(
    "/{campaign_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a draft campaign (others are cancelled, never deleted)",
    responses=error_responses(404),
)
async def delete_campaign(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> Response:
    await service.delete_campaign(ctx, campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{campaign_id}/audience/csv",
    summary="Upload the audience of a draft as CSV",
    description="The request body is the CSV file itself (`Content-Type: text/csv`, UTF-8). The first row names "
    "the columns: the phone column (`phone`, `number`, `wa_id`, … or `phoneColumn`) and any parameter columns, "
    'which the parameter mapping can read (`{"source": "csv", "column": "order"}`). Numbers are '
    "de-duplicated (the first row wins); invalid numbers are reported and left out. Replaces any earlier upload.",
    responses=error_responses(404, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_csv(
    campaign_id: uuid.UUID,
    request: Request,
    ctx: AdminCtxDep,
    phone_column: Annotated[str | None, Query(alias="phoneColumn", max_length=100)] = None,
) -> CsvUploadResult:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in {"text/csv", "application/csv", "text/plain", "application/octet-stream"}:
        raise Unprocessable(
            "Send the CSV file as the request body with Content-Type text/csv.", code="csv_expected"
        )
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        return await service.upload_csv(ctx, campaign_id, spool, phone_column)


@router.get(
    "/{campaign_id}/preview",
    summary="Preview a saved campaign's audience and one recipient's message",
    responses=error_responses(404),
)
async def preview_campaign(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> AudiencePreview:
    return await service.preview_campaign(ctx, campaign_id)


@router.post(
    "/{campaign_id}/schedule",
    summary="Schedule a draft (or move a scheduled campaign's time)",
    description="Without a body, the campaign's own scheduledAt is used. " + LIFECYCLE,
    responses=error_responses(404),
)
async def schedule_campaign(
    campaign_id: uuid.UUID, ctx: AdminCtxDep, data: ScheduleIn | None = None
) -> CampaignOut:
    return await _out(ctx, await service.transition(ctx, campaign_id, "schedule", data))


@router.post("/{campaign_id}/unschedule", summary="Back to draft", responses=error_responses(404))
async def unschedule_campaign(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> CampaignOut:
    return await _out(ctx, await service.transition(ctx, campaign_id, "unschedule"))


@router.post(
    "/{campaign_id}/start",
    summary="Start sending now",
    description="The audience is written as recipients (opted-out and blocked contacts are recorded as "
    "skipped) and sent at the number's messages-per-second, within its messaging tier. " + LIFECYCLE,
    responses=error_responses(404),
)
async def start_campaign(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> CampaignOut:
    return await _out(ctx, await service.transition(ctx, campaign_id, "start"))


@router.post(
    "/{campaign_id}/pause",
    summary="Pause sending (messages already handed to the sender still go out)",
    responses=error_responses(404),
)
async def pause_campaign(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> CampaignOut:
    return await _out(ctx, await service.transition(ctx, campaign_id, "pause"))


@router.post(
    "/{campaign_id}/resume",
    summary="Resume where it stopped (no recipient is sent twice)",
    responses=error_responses(404),
)
async def resume_campaign(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> CampaignOut:
    return await _out(ctx, await service.transition(ctx, campaign_id, "resume"))


@router.post(
    "/{campaign_id}/cancel",
    summary="Cancel: recipients not handed over yet are skipped",
    responses=error_responses(404),
)
async def cancel_campaign(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> CampaignOut:
    return await _out(ctx, await service.transition(ctx, campaign_id, "cancel"))


@router.post(
    "/{campaign_id}/retry-failed",
    summary="Queue again the recipients whose failure is retryable",
    description="Only failures worth retrying (Meta's throughput limits and temporary errors) are queued again; "
    "failures about the recipient or the content are not. A completed campaign runs again.",
    responses=error_responses(404),
)
async def retry_failed(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> RetryResult:
    campaign, requeued = await service.retry_failed(ctx, campaign_id)
    return RetryResult(requeued=requeued, campaign=await _out(ctx, campaign))


@router.get(
    "/{campaign_id}/stats",
    summary="Counts per state, funnel, rates, throughput and estimated completion",
    description="The same figures are pushed live as `campaign.updated` events on `GET /api/events` "
    "(admins only, at most one per campaign per second).",
    responses=error_responses(404),
)
async def campaign_stats(campaign_id: uuid.UUID, ctx: AdminCtxDep) -> CampaignStats:
    return await service.get_stats(ctx, campaign_id)


@router.get(
    "/{campaign_id}/recipients",
    summary="The campaign's recipients with their status and failure reasons",
    responses=error_responses(400, 404),
)
async def list_recipients(
    campaign_id: uuid.UUID,
    ctx: AdminCtxDep,
    status: RecipientStatus | None = None,
    error_code: Annotated[int | None, Query(alias="errorCode")] = None,
    search: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[RecipientOut]:
    filters = RecipientFilters(status=status, error_code=error_code, search=search or None)
    items, next_cursor = await service.list_recipients(ctx, campaign_id, filters, limit=limit, cursor=cursor)
    return Page[RecipientOut](items=items, next_cursor=next_cursor)


async def _out(ctx: AdminCtxDep, campaign: Campaign) -> CampaignOut:
    return await service.to_out(ctx.session, campaign)
