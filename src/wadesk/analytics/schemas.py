from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from wadesk.kit.schemas import WireModel


class Range(WireModel):
    """The period reported on: whole days `from`..`to` (inclusive) in `timezone`, and the same in UTC."""

    from_: date = Field(alias="from")
    to: date
    timezone: str
    starts_at: datetime
    ends_at: datetime = Field(description="Exclusive")


class Figures(WireModel):
    """Durations in seconds: the median and 90th percentile (percentile_cont, linear interpolation) of
    `count` samples; null without samples."""

    count: int
    median: float | None
    p90: float | None


class DayVolume(WireModel):
    date: date
    inbound: int
    outbound: int


class NumberVolume(WireModel):
    phone_number_id: uuid.UUID
    display_phone_number: str
    inbound: int
    outbound: int
    days: list[DayVolume]


class VolumeReport(WireModel):
    range: Range
    inbound: int
    outbound: int
    days: list[DayVolume]
    phone_numbers: list[NumberVolume]


class DeliveryFigures(WireModel):
    attempted: int = Field(description="Outbound messages that left the queue: accepted by Meta or failed")
    sent: int = Field(description="Accepted by Meta (sent, delivered or read)")
    delivered: int = Field(description="Delivered or read")
    read: int
    failed: int
    pending: int = Field(description="Still queued or being sent")
    delivery_rate: float | None = Field(description="delivered / attempted")
    read_rate: float | None = Field(description="read / delivered")
    failure_rate: float | None = Field(description="failed / attempted")


class NumberDelivery(DeliveryFigures):
    phone_number_id: uuid.UUID
    display_phone_number: str


class FailureCount(WireModel):
    code: int | None
    title: str | None
    category: str
    retryable: bool
    count: int


class DeliveryReport(WireModel):
    range: Range
    overall: DeliveryFigures
    phone_numbers: list[NumberDelivery]
    failures_by_code: list[FailureCount]


class FailuresReport(WireModel):
    range: Range
    failed: int
    failures_by_code: list[FailureCount]


class AgentTimes(WireModel):
    agent_id: uuid.UUID
    name: str
    first_response: Figures
    reply: Figures
    resolution: Figures


class ResponseTimesReport(WireModel):
    range: Range
    first_response: Figures
    reply: Figures
    resolution: Figures
    agents: list[AgentTimes]


class StatusCount(WireModel):
    status: str
    count: int


class Unanswered(WireModel):
    count: int
    oldest_waiting_since: datetime | None


class ConversationsReport(WireModel):
    range: Range
    by_status: list[StatusCount]
    unanswered: Unanswered


class HeatmapCell(WireModel):
    weekday: int = Field(ge=1, le=7, description="ISO weekday: 1 = Monday … 7 = Sunday")
    hour: int = Field(ge=0, le=23)
    messages: int


class HeatmapReport(WireModel):
    range: Range
    cells: list[HeatmapCell] = Field(description="All 7 x 24 cells, Monday 00:00 first")
    busiest: HeatmapCell | None


class CampaignFunnel(WireModel):
    campaign_id: uuid.UUID | None = Field(description="null on the row across all campaigns")
    name: str
    status: str | None
    started_at: datetime | None
    targeted: int
    skipped: int
    sent: int
    delivered: int
    read: int
    replied: int
    failed: int
    delivery_rate: float | None
    read_rate: float | None
    reply_rate: float | None


class CampaignsReport(WireModel):
    range: Range
    campaigns: list[CampaignFunnel]
    total: CampaignFunnel


class CostLine(WireModel):
    category: str
    pricing_model: str | None
    billable: int
    free: int
    rate: float | None = Field(description="The price per billable message given in `rates`")
    estimated_cost: float | None


class CostReport(WireModel):
    range: Range
    currency: str | None
    lines: list[CostLine]
    billable: int
    estimated_cost: float | None
    unpriced_messages: int = Field(description="Outbound messages Meta sent no pricing for (yet)")


class AgentRow(WireModel):
    agent_id: uuid.UUID
    name: str
    replies: int
    first_response: Figures
    reply: Figures
    resolution: Figures


class Overview(WireModel):
    range: Range
    volume: list[DayVolume]
    inbound: int
    outbound: int
    delivery_rate: float | None
    read_rate: float | None
    failure_rate: float | None
    first_response: Figures
    reply: Figures
    resolution: Figures
    conversations_by_status: list[StatusCount]
    unanswered: Unanswered
    agents: list[AgentRow]
