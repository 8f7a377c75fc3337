"""Analytics reports: each computed in SQL over the requested days in the requested time zone.

Admins see the company's figures (optionally one agent's or one number's); agents see their own: the replies
they wrote, the conversations assigned to them and the messages in those. Every report has a flat table form
for CSV export (`rows`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from wadesk.analytics.repository import AnalyticsRepository, Scope, Window
from wadesk.analytics.schemas import (
    AgentRow,
    AgentTimes,
    CampaignFunnel,
    CampaignsReport,
    ConversationsReport,
    CostLine,
    CostReport,
    DayVolume,
    DeliveryFigures,
    DeliveryReport,
    FailureCount,
    FailuresReport,
    Figures,
    HeatmapCell,
    HeatmapReport,
    NumberDelivery,
    NumberVolume,
    Overview,
    Range,
    ResponseTimesReport,
    StatusCount,
    Unanswered,
    VolumeReport,
)
from wadesk.analytics.sql import Summary, offset_segments
from wadesk.auth.dependencies import Ctx
from wadesk.campaigns import service as campaigns
from wadesk.conversations.models import ConversationStatus
from wadesk.errors import Forbidden, NotFound, Unprocessable
from wadesk.messages.models import MessageStatus
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.phone_numbers.repository import PhoneNumberRepository
from wadesk.users.models import User
from wadesk.whatsapp.errors import explain

DEFAULT_DAYS = 30
MAX_DAYS = 366

_SENT = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ}
_DELIVERED = {MessageStatus.DELIVERED, MessageStatus.READ}
_PENDING = {MessageStatus.QUEUED, MessageStatus.SENDING}


@dataclass(frozen=True, slots=True)
class Query:
    """What a report is about: the days, the zone, and whose figures."""

    range: Range
    window: Window
    scope: Scope
    is_admin: bool


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(
            f"'{name}' is not a time zone (use e.g. Europe/Paris).", code="invalid_timezone"
        ) from None


async def build_query(
    ctx: Ctx,
    *,
    from_: date | None,
    to: date | None,
    tz: str,
    agent_id: uuid.UUID | None,
    phone_number_id: str | None,
) -> Query:
    """The report's period (whole local days, `to` included) and scope; 422 for a bad range or zone."""
    zone = _zone(tz)
    today = datetime.now(zone).date()
    last = to or today
    first = from_ or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise Unprocessable("`from` is after `to`.", code="invalid_range")
    if (last - first).days + 1 > MAX_DAYS:
        raise Unprocessable(f"A report covers at most {MAX_DAYS} days.", code="invalid_range")
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    if not ctx.principal.is_admin:
        if agent_id is not None and agent_id != ctx.user_id:
            raise Forbidden("Agents see their own figures only.", code="own_figures_only")
        agent_id = ctx.user_id
    number_id = None
    if phone_number_id:
        number = await _number(ctx, phone_number_id)
        number_id = number.id
    return Query(
        range=Range.model_validate(
            {"from": first, "to": last, "timezone": tz, "starts_at": start, "ends_at": end}
        ),
        window=Window(start, end, offset_segments(zone, start, end)),
        scope=Scope(agent_id=agent_id, phone_number_id=number_id),
        is_admin=ctx.principal.is_admin,
    )


async def _number(ctx: Ctx, ref: str) -> PhoneNumber:
    numbers = PhoneNumberRepository(ctx.session)
    number = await numbers.by_meta_id(ref)
    if number is None:
        try:
            number = await numbers.get(uuid.UUID(ref))
        except ValueError:
            number = None
    if number is None:
        raise NotFound("Phone number not found.", code="phone_number_not_found")
    return number


def require_admin(query: Query) -> None:
    if not query.is_admin:
        raise Forbidden("Only administrators can see this report.", code="admin_required")


def figures(summary: Summary) -> Figures:
    return Figures(count=summary.count, median=summary.median, p90=summary.p90)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _days(query: Query) -> list[date]:
    first, last = query.range.from_, query.range.to
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


async def _numbers(ctx: Ctx) -> dict[uuid.UUID, PhoneNumber]:
    return {n.id: n for n in await PhoneNumberRepository(ctx.session).list_all()}


# --- volume ----------------------------------------------------------------------------------------------------


async def volume(ctx: Ctx, query: Query) -> VolumeReport:
    rows = await AnalyticsRepository(ctx.session).volume(query.window, query.scope)
    numbers = await _numbers(ctx)
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_number: dict[uuid.UUID, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for day, number_id, direction, count in rows:
        index = 0 if direction == "inbound" else 1
        per_day[day][index] += count
        per_number[number_id][day][index] += count
    days = _days(query)

    def series(by_day: dict[str, list[int]]) -> list[DayVolume]:
        return [
            DayVolume(date=d, inbound=by_day[d.isoformat()][0], outbound=by_day[d.isoformat()][1])
            if d.isoformat() in by_day
            else DayVolume(date=d, inbound=0, outbound=0)
            for d in days
        ]

    by_number = [
        NumberVolume(
            phone_number_id=number_id,
            display_phone_number=numbers[number_id].display_phone_number if number_id in numbers else "",
            inbound=sum(v[0] for v in by_day.values()),
            outbound=sum(v[1] for v in by_day.values()),
            days=series(by_day),
        )
        for number_id, by_day in sorted(per_number.items(), key=lambda item: str(item[0]))
    ]
    return VolumeReport(
        range=query.range,
        inbound=sum(v[0] for v in per_day.values()),
        outbound=sum(v[1] for v in per_day.values()),
        days=series(per_day),
        phone_numbers=by_number,
    )


def volume_rows(report: VolumeReport) -> list[dict[str, Any]]:
    return [
        {
            "date": day.date.isoformat(),
            "phone_number_id": str(number.phone_number_id),
            "display_phone_number": number.display_phone_number,
            "inbound": day.inbound,
            "outbound": day.outbound,
        }
        for number in report.phone_numbers
        for day in number.days
    ]


# --- delivery ----------------------------------------------------------------------------------------------------


def _delivery(by_status: dict[str, int]) -> dict[str, Any]:
    sent = sum(n for s, n in by_status.items() if s in _SENT)
    delivered = sum(n for s, n in by_status.items() if s in _DELIVERED)
    read = by_status.get(MessageStatus.READ, 0)
    failed = by_status.get(MessageStatus.FAILED, 0)
    attempted = sent + failed
    return {
        "attempted": attempted,
        "sent": sent,
        "delivered": delivered,
        "read": read,
        "failed": failed,
        "pending": sum(n for s, n in by_status.items() if s in _PENDING),
        "delivery_rate": _ratio(delivered, attempted),
        "read_rate": _ratio(read, delivered),
        "failure_rate": _ratio(failed, attempted),
    }


def _failure_counts(rows: list[tuple[int | None, str | None, int]]) -> list[FailureCount]:
    counts = []
    for code, title, n in rows:
        entry = explain(code)
        counts.append(
            FailureCount(
                code=code,
                title=title or entry.title,
                category=entry.category.value,
                retryable=entry.retryable,
                count=n,
            )
        )
    return counts


async def delivery(ctx: Ctx, query: Query) -> DeliveryReport:
    repo = AnalyticsRepository(ctx.session)
    rows = await repo.outbound_statuses(query.window, query.scope)
    numbers = await _numbers(ctx)
    overall: dict[str, int] = defaultdict(int)
    per_number: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for number_id, status, count in rows:
        overall[status] += count
        per_number[number_id][status] += count
    return DeliveryReport(
        range=query.range,
        overall=DeliveryFigures(**_delivery(overall)),
        phone_numbers=[
            NumberDelivery(
                phone_number_id=number_id,
                display_phone_number=numbers[number_id].display_phone_number if number_id in numbers else "",
                **_delivery(by_status),
            )
            for number_id, by_status in sorted(per_number.items(), key=lambda item: str(item[0]))
        ],
        failures_by_code=_failure_counts(await repo.failures(query.window, query.scope)),
    )


def delivery_rows(report: DeliveryReport) -> list[dict[str, Any]]:
    rows = [{"phone_number_id": "all", "display_phone_number": "", **report.overall.model_dump()}]
    for number in report.phone_numbers:
        data = number.model_dump()
        rows.append(
            {
                "phone_number_id": str(data.pop("phone_number_id")),
                "display_phone_number": data.pop("display_phone_number"),
                **data,
            }
        )
    return rows


async def failures(ctx: Ctx, query: Query) -> FailuresReport:
    counts = _failure_counts(await AnalyticsRepository(ctx.session).failures(query.window, query.scope))
    return FailuresReport(range=query.range, failed=sum(c.count for c in counts), failures_by_code=counts)


def failure_rows(report: FailuresReport) -> list[dict[str, Any]]:
    return [c.model_dump() for c in report.failures_by_code]


# --- response times --------------------------------------------------------------------------------------------


async def _agent_names(ctx: Ctx, query: Query) -> dict[uuid.UUID, str]:
    stmt = select(User.id, User.name)
    if query.scope.agent_id is not None:
        stmt = stmt.where(User.id == query.scope.agent_id)
    return {user_id: name for user_id, name in (await ctx.session.execute(stmt)).all()}


async def response_times(ctx: Ctx, query: Query) -> ResponseTimesReport:
    repo = AnalyticsRepository(ctx.session)
    first_total, first_by_agent = await repo.reply_times(query.window, query.scope, first_only=True)
    reply_total, reply_by_agent = await repo.reply_times(query.window, query.scope, first_only=False)
    resolution_total, resolution_by_agent = await repo.resolution_times(query.window, query.scope)
    names = await _agent_names(ctx, query)
    agent_ids = set(first_by_agent) | set(reply_by_agent) | set(resolution_by_agent)
    empty = Summary.empty()
    agents = [
        AgentTimes(
            agent_id=agent_id,
            name=names.get(agent_id, "Former user"),
            first_response=figures(first_by_agent.get(agent_id, empty)),
            reply=figures(reply_by_agent.get(agent_id, empty)),
            resolution=figures(resolution_by_agent.get(agent_id, empty)),
        )
        for agent_id in sorted(agent_ids, key=lambda a: (names.get(a, ""), str(a)))
    ]
    return ResponseTimesReport(
        range=query.range,
        first_response=figures(first_total),
        reply=figures(reply_total),
        resolution=figures(resolution_total),
        agents=agents,
    )


def response_time_rows(report: ResponseTimesReport) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    groups: list[tuple[str, str, Figures, Figures, Figures]] = [
        ("all", "", report.first_response, report.reply, report.resolution)
    ]
    groups += [(str(a.agent_id), a.name, a.first_response, a.reply, a.resolution) for a in report.agents]
    for agent_id, name, first, reply, resolution in groups:
        for metric, values in (("first_response", first), ("reply", reply), ("resolution", resolution)):
            rows.append(
                {
                    "agent_id": agent_id,
                    "agent_name": name,
                    "metric": metric,
                    "count": values.count,
                    "median_seconds": values.median,
                    "p90_seconds": values.p90,
                }
            )
    return rows


# --- conversations and heatmap ---------------------------------------------------------------------------------


async def conversations(ctx: Ctx, query: Query) -> ConversationsReport:
    repo = AnalyticsRepository(ctx.session)
    by_status = await repo.conversations_by_status(query.window, query.scope)
    count, oldest = await repo.unanswered(query.window, query.scope)
    return ConversationsReport(
        range=query.range,
        by_status=[StatusCount(status=s.value, count=by_status.get(s.value, 0)) for s in ConversationStatus],
        unanswered=Unanswered(count=count, oldest_waiting_since=oldest),
    )


def conversation_rows(report: ConversationsReport) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"status": s.status, "conversations": s.count} for s in report.by_status]
    rows.append({"status": "unanswered", "conversations": report.unanswered.count})
    return rows


async def heatmap(ctx: Ctx, query: Query) -> HeatmapReport:
    counts = {
        (w, h): n
        for w, h, n in await AnalyticsRepository(ctx.session).inbound_heatmap(query.window, query.scope)
    }
    cells = [
        HeatmapCell(weekday=w, hour=h, messages=counts.get((w, h), 0)) for w in range(1, 8) for h in range(24)
    ]
    busiest = max(cells, key=lambda c: (c.messages, -c.weekday, -c.hour))
    return HeatmapReport(range=query.range, cells=cells, busiest=busiest if busiest.messages else None)


def heatmap_rows(report: HeatmapReport) -> list[dict[str, Any]]:
    return [c.model_dump() for c in report.cells]


# --- campaigns and cost -----------------------------------------------------------------------------------------


def _funnel(campaign_id: uuid.UUID | None, name: str, status: str | None, started_at: datetime | None,
            by_status: dict[str, int]) -> CampaignFunnel:  # fmt: skip
    replied = by_status.get("replied", 0)
    read = by_status.get("read", 0) + replied
    delivered = by_status.get("delivered", 0) + read
    sent = by_status.get("sent", 0) + delivered
    return CampaignFunnel(
        campaign_id=campaign_id,
        name=name,
        status=status,
        started_at=started_at,
        targeted=sum(by_status.values()),
        skipped=by_status.get("skipped", 0),
        sent=sent,
        delivered=delivered,
        read=read,
        replied=replied,
        failed=by_status.get("failed", 0),
        delivery_rate=_ratio(delivered, sent + by_status.get("failed", 0)),
        read_rate=_ratio(read, delivered),
        reply_rate=_ratio(replied, delivered),
    )


async def campaign_funnels(ctx: Ctx, query: Query) -> CampaignsReport:
    require_admin(query)
    rows = await campaigns.funnels(ctx.session, query.window.start, query.window.end)
    total: dict[str, int] = defaultdict(int)
    funnels = []
    for campaign, by_status in rows:
        funnels.append(_funnel(campaign.id, campaign.name, campaign.status, campaign.started_at, by_status))
        for status, count in by_status.items():
            total[status] += count
    return CampaignsReport(
        range=query.range, campaigns=funnels, total=_funnel(None, "All campaigns", None, None, total)
    )


def campaign_rows(report: CampaignsReport) -> list[dict[str, Any]]:
    rows = []
    for funnel in [*report.campaigns, report.total]:
        data = funnel.model_dump()
        data["campaign_id"] = str(data["campaign_id"]) if data["campaign_id"] else "all"
        data["started_at"] = data["started_at"].isoformat() if data["started_at"] else ""
        rows.append(data)
    return rows


def parse_rates(value: str | None) -> dict[str, float]:
    """`marketing:0.0250,utility:0.0040` → {"marketing": 0.025, "utility": 0.004}; 422 when malformed."""
    rates: dict[str, float] = {}
    for part in (value or "").split(","):
        if not part.strip():
            continue
        category, _, price = part.partition(":")
        try:
            amount = float(price)
        except ValueError:
            amount = -1.0
        if not category.strip() or amount < 0:
            raise Unprocessable(
                "rates must look like 'marketing:0.025,utility:0.004' (category:price per message).",
                code="invalid_rates",
            )
        rates[category.strip().lower()] = amount
    return rates


async def costs(ctx: Ctx, query: Query, rates: dict[str, float], currency: str | None) -> CostReport:
    require_admin(query)
    rows = await AnalyticsRepository(ctx.session).pricing(query.window, query.scope)
    lines: dict[tuple[str, str | None], dict[str, int]] = defaultdict(lambda: {"billable": 0, "free": 0})
    unpriced = 0
    for category, model, billable, count in rows:
        if category is None:
            unpriced += count
            continue
        lines[(category.lower(), model)]["billable" if billable else "free"] += count
    out = []
    for (category, model), counts in sorted(lines.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        rate = rates.get(category)
        # Per-message prices apply to Meta's per-message pricing (PMP); conversation-based pricing (CBP)
        # charged per 24-hour conversation, which a per-message rate would overstate.
        priced = rate is not None and (model or "PMP").upper() == "PMP"
        out.append(
            CostLine(
                category=category,
                pricing_model=model,
                billable=counts["billable"],
                free=counts["free"],
                rate=rate,
                estimated_cost=round(counts["billable"] * rate, 4) if priced and rate is not None else None,
            )
        )
    costed = [line.estimated_cost for line in out if line.estimated_cost is not None]
    return CostReport(
        range=query.range,
        currency=currency,
        lines=out,
        billable=sum(line.billable for line in out),
        estimated_cost=round(sum(costed), 4) if costed else None,
        unpriced_messages=unpriced,
    )


def cost_rows(report: CostReport) -> list[dict[str, Any]]:
    return [{**line.model_dump(), "currency": report.currency or ""} for line in report.lines]


# --- overview ---------------------------------------------------------------------------------------------------


async def overview(ctx: Ctx, query: Query) -> Overview:
    """The Analytics page in one call: volume per day, delivery rates, response times, conversations by
    status, unanswered conversations and the per-agent table."""
    volume_report = await volume(ctx, query)
    delivery_report = await delivery(ctx, query)
    times = await response_times(ctx, query)
    conversations_report = await conversations(ctx, query)
    replies = {a.agent_id: a for a in times.agents}
    users = (
        await ctx.session.execute(
            select(User).where(User.is_active).order_by(User.name, User.id)
            if query.scope.agent_id is None
            else select(User).where(User.id == query.scope.agent_id)
        )
    ).scalars()
    empty = figures(Summary.empty())
    agents = []
    for user in users:
        found = replies.get(user.id)
        agents.append(
            AgentRow(
                agent_id=user.id,
                name=user.name,
                replies=found.reply.count if found else 0,
                first_response=found.first_response if found else empty,
                reply=found.reply if found else empty,
                resolution=found.resolution if found else empty,
            )
        )
    return Overview(
        range=query.range,
        volume=volume_report.days,
        inbound=volume_report.inbound,
        outbound=volume_report.outbound,
        delivery_rate=delivery_report.overall.delivery_rate,
        read_rate=delivery_report.overall.read_rate,
        failure_rate=delivery_report.overall.failure_rate,
        first_response=times.first_response,
        reply=times.reply,
        resolution=times.resolution,
        conversations_by_status=conversations_report.by_status,
        unanswered=conversations_report.unanswered,
        agents=agents,
    )


def overview_rows(report: Overview) -> list[dict[str, Any]]:
    return [
        {
            "agent_id": str(a.agent_id),
            "agent_name": a.name,
            "replies": a.replies,
            "first_response_median_seconds": a.first_response.median,
            "first_response_p90_seconds": a.first_response.p90,
            "reply_median_seconds": a.reply.median,
            "reply_p90_seconds": a.reply.p90,
            "resolution_median_seconds": a.resolution.median,
            "resolution_p90_seconds": a.resolution.p90,
        }
        for a in report.agents
    ]
