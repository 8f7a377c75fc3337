from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from wadesk.auth.dependencies import AdminCtxDep
from wadesk.integrations import service
from wadesk.integrations.models import DeliveryStatus
from wadesk.integrations.schemas import (
    EVENT_TYPES,
    DeliveryDetail,
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookSecret,
    WebhookUpdate,
)
from wadesk.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from wadesk.kit.schemas import Page, error_responses

router = APIRouter(
    prefix="/api/integrations/webhooks", tags=["integrations"], responses=error_responses(401, 403, 422)
)


@router.get("/events", summary="The event types a webhook can subscribe to (admin)")
async def list_event_types(ctx: AdminCtxDep) -> list[str]:
    return list(EVENT_TYPES)


@router.get("", summary="List outbound webhooks (admin)")
async def list_webhooks(ctx: AdminCtxDep) -> list[WebhookOut]:
    return [service.webhook_to_out(w) for w in await service.list_webhooks(ctx)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to events (admin); the signing secret is shown once",
    description=(
        "Deliveries are POSTed as JSON `{id, type, createdAt, tenantId, data}` with the header "
        "`X-Wadesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>' keyed with the "
        "secret>`; `X-Wadesk-Event-Id` stays the same across retries and replays. Non-2xx answers and "
        "timeouts are retried with exponential backoff for 24 hours. In production, URLs resolving to "
        "private, loopback or link-local addresses are refused."
    ),
)
async def create_webhook(data: WebhookCreate, ctx: AdminCtxDep) -> WebhookCreated:
    webhook, secret = await service.create_webhook(ctx, data)
    return WebhookCreated(**service.webhook_to_out(webhook).model_dump(), secret=secret)


@router.get("/{webhook_id}", summary="Get an outbound webhook (admin)", responses=error_responses(404))
async def get_webhook(webhook_id: uuid.UUID, ctx: AdminCtxDep) -> WebhookOut:
    return service.webhook_to_out(await service.get_webhook(ctx, webhook_id))


@router.patch(
    "/{webhook_id}",
    summary="Change a webhook's URL, events, description or activation (admin)",
    responses=error_responses(404),
)
async def update_webhook(webhook_id: uuid.UUID, data: WebhookUpdate, ctx: AdminCtxDep) -> WebhookOut:
    return service.webhook_to_out(await service.update_webhook(ctx, webhook_id, data))


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook and its delivery log (admin)",
    responses=error_responses(404),
)
async def delete_webhook(webhook_id: uuid.UUID, ctx: AdminCtxDep) -> Response:
    await service.delete_webhook(ctx, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Replace the signing secret (admin); the new one is shown once",
    responses=error_responses(404),
)
async def rotate_secret(webhook_id: uuid.UUID, ctx: AdminCtxDep) -> WebhookSecret:
    return WebhookSecret(secret=await service.rotate_secret(ctx, webhook_id))


@router.post(
    "/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a `webhook.test` delivery (admin)",
    responses=error_responses(404),
)
async def send_test(webhook_id: uuid.UUID, ctx: AdminCtxDep) -> DeliveryOut:
    return service.delivery_to_out(await service.send_test_event(ctx, webhook_id))


@router.get(
    "/{webhook_id}/deliveries",
    summary="The webhook's deliveries, newest first (admin)",
    responses=error_responses(400, 404),
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    ctx: AdminCtxDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[DeliveryOut]:
    items, next_cursor = await service.list_deliveries(ctx, webhook_id, status, limit=limit, cursor=cursor)
    return Page[DeliveryOut](items=items, next_cursor=next_cursor)


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    summary="A delivery with its body and every attempt (status, latency, response) (admin)",
    responses=error_responses(404),
)
async def get_delivery(webhook_id: uuid.UUID, delivery_id: uuid.UUID, ctx: AdminCtxDep) -> DeliveryDetail:
    return await service.get_delivery(ctx, webhook_id, delivery_id)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a delivery again: same event id, same body, freshly signed (admin)",
    responses=error_responses(404),
)
async def replay_delivery(webhook_id: uuid.UUID, delivery_id: uuid.UUID, ctx: AdminCtxDep) -> DeliveryOut:
    return service.delivery_to_out(await service.replay_delivery(ctx, webhook_id, delivery_id))
