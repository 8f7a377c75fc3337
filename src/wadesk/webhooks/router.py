from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from wadesk.auth.dependencies import AdminCtxDep, RuntimeDep, SessionDep
from wadesk.db.session import database_unreachable, unit_of_work
from wadesk.errors import (
    AppError,
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    database_unavailable_reply,
    error_body,
)
from wadesk.infra.runtime import Runtime
from wadesk.kit.middleware import send_json
from wadesk.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Cursor
from wadesk.kit.schemas import Page, error_responses
from wadesk.webhooks import service
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus
from wadesk.webhooks.repository import WebhookEventRepository
from wadesk.webhooks.schemas import AckOut, WebhookEventOut

router = APIRouter(prefix="/api/webhook", tags=["webhook"])
META_MAX_BODY = 3 * 1024 * 1024


def _verification(
    expected: str | None, mode: str | None, token: str | None, challenge: str | None
) -> PlainTextResponse:
    if mode != "subscribe" or not expected or token != expected or challenge is None:
        raise Forbidden("The verify token does not match.", code="verification_failed")
    return PlainTextResponse(challenge)


async def read_body(headers: Headers, receive: Receive) -> bytes:
    """The raw body, refused past Meta's 3 MB whether declared or streamed."""
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > META_MAX_BODY:
        raise PayloadTooLarge("Webhook bodies are limited to 3 MB.")
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # The sender gave up before the body arrived (it will retry): nothing was stored, nothing to answer.
            raise BadRequest("The request body did not arrive.", code="body_incomplete")
        body += message.get("body", b"")
        if len(body) > META_MAX_BODY:
            raise PayloadTooLarge("Webhook bodies are limited to 3 MB.")
        if not message.get("more_body", False):
            return bytes(body)


@router.get(
    "",
    summary="Meta's subscription handshake",
    response_class=PlainTextResponse,
    responses=error_responses(403),
)
async def verify(
    runtime: RuntimeDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=512)] = None,
) -> PlainTextResponse:
    return _verification(runtime.settings.meta_verify_token, mode, token, challenge)


@router.post(
    "", summary="Receive Meta's events (signed; stored before the 200)", responses=error_responses(401, 413)
)
async def receive(request: Request, runtime: RuntimeDep) -> AckOut:
    # Served by DeliveryEndpoint ahead of the FastAPI stack; declared here for the API's document.
    raw = await read_body(request.headers, request.receive)
    return AckOut(
        event_id=await service.ingest(runtime, raw, request.headers, runtime.settings.meta_app_secrets)
    )


@router.get(
    "/events", summary="Stored webhook events of this company (admin)", responses=error_responses(401, 403)
)
async def list_events(
    ctx: AdminCtxDep,
    status: WebhookEventStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[WebhookEventOut]:
    before = Cursor.decode(cursor) if cursor else None
    rows = await WebhookEventRepository(ctx.session).list_for_tenant(
        ctx.tenant_id, status, limit=limit + 1, before=before
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1].received_at, rows[-1].id).encode()
    return Page[WebhookEventOut](items=[_event_out(e) for e in rows], next_cursor=next_cursor)


@router.post(
    "/events/{event_id}/replay",
    summary="Process a stored event again (admin)",
    responses=error_responses(401, 403, 404),
)
async def replay_event(event_id: uuid.UUID, ctx: AdminCtxDep) -> WebhookEventOut:
    return _event_out(await service.replay(ctx.session, ctx.runtime, ctx.tenant_id, event_id))


@router.get(
    "/{tenant_slug}",
    summary="Handshake for a company's own Meta app",
    response_class=PlainTextResponse,
    responses=error_responses(403, 404),
)
async def verify_for_tenant(
    tenant_slug: str,
    session: SessionDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=512)] = None,
) -> PlainTextResponse:
    tenant = await service.tenant_by_slug(session, tenant_slug)
    return _verification(tenant.meta_verify_token, mode, token, challenge)


@router.post(
    "/{tenant_slug}",
    summary="Receive events from a company's own Meta app",
    responses=error_responses(401, 404, 413),
)
async def receive_for_tenant(tenant_slug: str, request: Request, runtime: RuntimeDep) -> AckOut:
    raw = await read_body(request.headers, request.receive)
    async with unit_of_work(runtime.sessionmaker) as session:
        tenant = await service.tenant_by_slug(session, tenant_slug)
        secrets = await service.tenant_app_secrets(session, runtime, tenant)
    event_id = await service.ingest(runtime, raw, request.headers, secrets, tenant_id=tenant.id)
    return AckOut(event_id=event_id)


class DeliveryEndpoint:
    """`POST /api/webhook` answered as plain ASGI, beneath the request-id, security-header and metrics
    middleware and ahead of everything else: Meta's deliveries are most of the traffic, and routing,
    dependencies and a response model cost more per delivery than storing it. Same answers as the route
    above, which stays for the API's document."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The metrics count deliveries by this route's template.
        self.route = next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is receive)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.route.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        runtime: Runtime = scope["app"].state.runtime
        headers = Headers(scope=scope)
        try:
            raw = await read_body(headers, receive)
            event_id = await service.ingest(runtime, raw, headers, runtime.settings.meta_app_secrets)
        except AppError as exc:
            await send_json(send, exc.status_code, error_body(exc.code, exc.message, exc.details))
            return
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            # As the application's handler answers it: Meta retries a refused delivery later.
            await send_json(send, *database_unavailable_reply(scope["path"], exc))
            return
        await send_json(send, 200, {"status": "ok", "eventId": str(event_id)})


def _event_out(event: WebhookEvent) -> WebhookEventOut:
    return WebhookEventOut(
        id=event.id,
        status=WebhookEventStatus(event.status),
        error=event.error,
        notes=event.notes,
        attempts=event.attempts,
        received_at=event.received_at,
        processed_at=event.processed_at,
        body_sha256=event.body_sha256,
        body=event.raw_body.decode("utf-8", errors="replace"),
    )
