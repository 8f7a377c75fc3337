"""`GET /api/events`: Server-Sent Events for the signed-in user's company.

Browsers authenticate with the access token in the `Authorization` header through a fetch-based SSE client
(e.g. @microsoft/fetch-event-source); EventSource cannot send headers. Reconnecting clients send
`Last-Event-ID` and receive what they missed from a bounded recent-event buffer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from wadesk.auth.dependencies import CtxDep
from wadesk.infra import metrics
from wadesk.kit.schemas import error_responses

router = APIRouter(prefix="/api/events", tags=["realtime"])
HEARTBEAT_SECONDS = 15


@router.get(
    "",
    summary="Live events (Server-Sent Events) of the company",
    responses={200: {"content": {"text/event-stream": {}}}, **error_responses(401, 403)},
    response_class=EventSourceResponse,
)
async def events(
    request: Request,
    ctx: CtxDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=32)] = None,
) -> EventSourceResponse:
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    principal = ctx.principal
    stream = ctx.runtime.bus.subscribe(principal.tenant_id, after)

    async def generate() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(event="ready", data=json.dumps({"userId": str(principal.user_id)}), retry=3000)
        async for event in stream:
            if await request.is_disconnected():
                break
            if (
                event.audience is not None
                and principal.user_id not in event.audience
                and not principal.is_admin
            ):
                continue
            yield ServerSentEvent(id=str(event.id), event=event.type, data=json.dumps(event.data))

    return EventSourceResponse(metrics.track_sse(generate()), ping=HEARTBEAT_SECONDS, send_timeout=30)
