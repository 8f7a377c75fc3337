"""`/api/analytics/…`: reports over a date range in a time zone, as JSON or CSV (`?format=csv`)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from wadesk.analytics import service
from wadesk.analytics.schemas import (
    CampaignsReport,
    ConversationsReport,
    CostReport,
    DeliveryReport,
    FailuresReport,
    HeatmapReport,
    Overview,
    ResponseTimesReport,
    VolumeReport,
)
from wadesk.auth.dependencies import CtxDep
from wadesk.kit.schemas import error_responses

router = APIRouter(prefix="/api/analytics", tags=["analytics"], responses=error_responses(401, 403, 404, 422))

Format = Literal["json", "csv"]
FromDate = Annotated[date | None, Query(alias="from", description="First day (default: 29 days before `to`)")]
ToDate = Annotated[date | None, Query(description="Last day, included (default: today in `tz`)")]
Tz = Annotated[str, Query(max_length=64, description="IANA time zone the days and hours are in")]
AgentId = Annotated[
    uuid.UUID | None,
    Query(alias="agentId", description="Admins: one agent's figures. Agents always see their own."),
]
NumberId = Annotated[str | None, Query(alias="phoneNumberId", max_length=64, description="Meta's id or ours")]
FormatParam = Annotated[Format, Query(description="`csv` answers the report as a CSV table")]

COMMON = (
    "Days run from midnight to midnight in `tz`; `from` and `to` are both included (at most 366 days). "
    "Admins see the whole company (or `agentId`'s figures); agents see their own: the replies they wrote and "
    "the conversations assigned to them. `?format=csv` returns the report as a table."
)
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


async def _query(
    ctx: CtxDep, from_: date | None, to: date | None, tz: str, agent_id: uuid.UUID | None, number: str | None
) -> service.Query:
    return await service.build_query(
        ctx, from_=from_, to=to, tz=tz, agent_id=agent_id, phone_number_id=number
    )


def _respond(
    report: BaseModel, fmt: Format, rows: Callable[[Any], list[dict[str, Any]]], name: str
) -> Response:
    if fmt == "json":
        return JSONResponse(report.model_dump(mode="json", by_alias=True))
    table = rows(report)
    buffer = io.StringIO()
    if table:
        writer = csv.DictWriter(buffer, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in table)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get(
    "/overview",
    summary="The Analytics page in one call",
    description="Messages in and out per day, delivery and read rates, first response / reply / resolution "
    "times (median, 90th percentile, count), conversations by status, unanswered conversations and the "
    "per-agent table (CSV: the per-agent table). " + COMMON,
    response_model=Overview,
    responses=CSV_RESPONSE,
)
async def overview(
    ctx: CtxDep,
    from_: FromDate = None,
    to: ToDate = None,
    tz: Tz = "UTC",
    agent_id: AgentId = None,
    phone_number_id: NumberId = None,
    format: FormatParam = "json",
) -> Response:
    query = await _query(ctx, from_, to, tz, agent_id, phone_number_id)
    return _respond(await service.overview(ctx, query), format, service.overview_rows, "overview")


@router.get(
    "/volume",
    summary="Messages in and out per day and per phone number",
    description="Every message counted on the local day it was sent (customers' messages at Meta's "
    "timestamp). An agent's volume is what they sent plus what customers wrote in conversations assigned to "
    "them. " + COMMON,
    response_model=VolumeReport,
    responses=CSV_RESPONSE,
)
async def volume(
    ctx: CtxDep,
    from_: FromDate = None,
    to: ToDate = None,
    tz: Tz = "UTC",
    agent_id: AgentId = None,
    phone_number_id: NumberId = None,
    format: FormatParam = "json",
) -> Response:
    query = await _query(ctx, from_, to, tz, agent_id, phone_number_id)
    return _respond(await service.volume(ctx, query), format, service.volume_rows, "volume")


@router.get(
    "/delivery",
    summary="Delivery, read and failure rates, with failures by error code",
    description="Outbound messages created in the range. attempted = accepted by Meta or failed; "
    "delivery rate = delivered (or read) / attempted; read rate = read / delivered; failure rate = failed / "
    "attempted. Messages still queued are `pending` and in no rate. " + COMMON,
    response_model=DeliveryReport,
    responses=CSV_RESPONSE,
)
async def delivery(
    ctx: CtxDep,
    from_: FromDate = None,
    to: ToDate = None,
    tz: Tz = "UTC",
    agent_id: AgentId = None,
    phone_number_id: NumberId = None,
    format: FormatParam = "json",
) -> Response:
    query = await _query(ctx, from_, to, tz, agent_id, phone_number_id)
    return _respond(await service.delivery(ctx, query), format, service.delivery_rows, "delivery")


@router.get(
    "/failures",
    summary="Failed outbound messages by Meta's error code",
    description="With each code's category and whether retrying can help. " + COMMON,
    response_model=FailuresReport,
    responses=CSV_RESPONSE,
)
async def failures(
    ctx: CtxDep,
    from_: FromDate = None,
    to: ToDate = None,
    tz: Tz = "UTC",
    agent_id: AgentId = None,
    phone_number_id: NumberId = None,
    format: FormatParam = "json",
) -> Response:
    query = await _query(ctx, from_, to, tz, agent_id, phone_number_id)
    return _respond(await service.failures(ctx, query), format, service.failure_rows, "failures")


@router.get(
    "/response-times",
    summary="First response, reply and resolution times: median, 90th percentile, count",
    description="A customer turn is the customer's messages between two human replies; a human reply is an "
    "outbound message written by a user (not a campaign or automation), not a reaction, not failed. "
    "**First response time**: from the first customer message of a conversation, or the first after it was "
    "resolved (a reopening), to the next human reply. **Reply time**: from the start of every customer turn "
    "to the next human reply. **Resolution time**: from a conversation's opening (creation, or its latest "
    "reopening) to its resolution. Each is attributed to the agent who replied (for resolutions: the last "
    "agent who replied before it), not to the assignee. Turns count on the day they start; resolutions on "
    "the day they happen. Percentiles are percentile_cont (linear interpolation); durations in seconds, to "
    "the millisecond. Unanswered turns are not samples: see /conversations. " + COMMON,
    response_model=ResponseTimesReport,
    responses=CSV_RESPONSE,
)
async def response_times(
    ctx: CtxDep,
    from_: FromDate = None,
    to: ToDate = None,
    tz: Tz = "UTC",
    agent_id: AgentId = None,
    phone_number_id: NumberId = None,
    format: FormatParam = "json",
) -> Response:
    query = await _query(ctx, from_, to, tz, agent_id, phone_number_id)
    return _respond(
        await service.response_times(ctx, query), format, service.response_time_rows, "response-times"
    )


@router.get(
    "/conversations",
    summary="Conversations by status, and unanswered conversations",
    description="By status: conversations with a message in the range, by their status now. Unanswered: "
    "open or pending conversations whose latest customer message (in the range) has no human reply after it, "
    "and since when the longest has waited. An agent sees the conversations assigned to them. " + COMMON,
    response_model=ConversationsReport,
    responses=CSV_RESPONSE,
)
async def conversations(
    ctx: CtxDep,
    from_: FromDate = None,
    to: ToDate = None,
    tz: Tz = "UTC",
    agent_id: AgentId = None,
    phone_number_id: NumberId = None,
    format: FormatParam = "json",
) -> Response:
    query = await _query(ctx, from_, to, tz, agent_id, phone_number_id)
    return _respond(
        await service.conversations(ctx, query), format, service.conversation_rows, "conversations"
    )


@router.get(
    "/heatmap",
    summary="Busiest hours: customer messages per weekday and hour",
    description="Customer messages (not reactions) by ISO weekday (1 = Monday) and hour, in `tz`. " + COMMON,
    response_model=HeatmapReport,
    responses=CSV_RESPONSE,
)
async def heatmap(
    ctx: CtxDep,
    from_: FromDate = None,
    to: ToDate = None,
    tz: Tz = "UTC",
    agent_id: AgentId = None,
    phone_number_id: NumberId = None,
    format: FormatParam = "json",
) -> Response:
    query = await _query(ctx, from_, to, tz, agent_id, phone_number_id)
    return _respond(await service.heatmap(ctx, query), format, service.heatmap_rows, "heatmap")


@router.get(
    "/campaigns",
    summary="Campaign funnels (admins)",
    description="Campaigns started in the range, each with its recipients: targeted, skipped, sent, "
    "delivered, read, replied, failed (cumulative: a read message was also delivered and sent), and the same "
    "across all of them. delivery rate = delivered / (sent + failed); read and reply rates are over "
    "delivered. " + COMMON,
    response_model=CampaignsReport,
    responses=CSV_RESPONSE,
)
async def campaign_funnels(
    ctx: CtxDep,
    from_: FromDate = None,
    to: ToDate = None,
    tz: Tz = "UTC",
    format: FormatParam = "json",
) -> Response:
    query = await _query(ctx, from_, to, tz, None, None)
    return _respond(await service.campaign_funnels(ctx, query), format, service.campaign_rows, "campaigns")


@router.get(
    "/costs",
    summary="Messages per pricing category, with a cost estimate (admins)",
    description="From the pricing Meta reports on each outbound message's status webhooks (category, pricing "
    "model, billable). Meta does not send prices: give yours per category in `rates` "
    "(e.g. `marketing:0.025,utility:0.004`, the price of one billable message) for an estimate. The estimate "
    "covers per-message pricing (PMP) only; conversation-based pricing (CBP) is counted but not priced. "
    + COMMON,
    response_model=CostReport,
    responses=CSV_RESPONSE,
)
async def costs(
    ctx: CtxDep,
    from_: FromDate = None,
    to: ToDate = None,
    tz: Tz = "UTC",
    phone_number_id: NumberId = None,
    rates: Annotated[str | None, Query(max_length=500, description="category:price,…")] = None,
    currency: Annotated[str | None, Query(max_length=3, min_length=3, description="e.g. USD")] = None,
    format: FormatParam = "json",
) -> Response:
    query = await _query(ctx, from_, to, tz, None, phone_number_id)
    report = await service.costs(
        ctx, query, service.parse_rates(rates), currency.upper() if currency else None
    )
    return _respond(report, format, service.cost_rows, "costs")
