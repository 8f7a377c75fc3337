"""Campaigns: a template broadcast to an audience, paced to the number's limits, with a per-recipient funnel.

Lifecycle: draft → scheduled → running ⇄ paused → completed, or cancelled at any point before completion.
Every transition is checked here (422 `invalid_transition` otherwise) and written to the audit log; the
system's own transitions (a schedule firing, an auto-pause, completion) are audited without an actor.

The sending itself is `campaigns.pump`; this module holds the rules, the API operations, the hooks the webhook
processing calls (message statuses, replies, template and number changes) and the periodic sweep.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.auth.dependencies import Ctx
from wadesk.campaigns.csv_audience import CsvAudience, CsvRow
from wadesk.campaigns.limits import describe_tier
from wadesk.campaigns.models import Campaign, CampaignRecipient, CampaignStatus, PauseCode, RecipientStatus
from wadesk.campaigns.parameters import RecipientData, fill, mapping_problems
from wadesk.campaigns.progress import ProgressPublisher
from wadesk.campaigns.repository import CampaignRepository, RecipientFilters, due_for_pump
from wadesk.campaigns.schemas import (
    AudiencePreview,
    CampaignCreate,
    CampaignOut,
    CampaignPreviewIn,
    CampaignStats,
    CampaignUpdate,
    ContactRef,
    CsvUploadResult,
    ErrorCount,
    Eta,
    Funnel,
    InvalidRow,
    PhoneNumberRef,
    Rates,
    ReasonCount,
    RecipientCounts,
    RecipientError,
    RecipientOut,
    SampleMessage,
    ScheduleIn,
    TemplateRef,
    Throughput,
)
from wadesk.contacts.models import Contact
from wadesk.db.base import utcnow
from wadesk.db.session import run_after_commit, scope_to_tenant, transaction_cache, unit_of_work
from wadesk.errors import NotFound, Unprocessable
from wadesk.infra.runtime import Runtime, current_runtime
from wadesk.kit.pagination import Cursor
from wadesk.messages.models import Message, MessageStatus
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit
from wadesk.phone_numbers.models import PhoneNumber, PhoneNumberStatus
from wadesk.phone_numbers.service import require_active_number
from wadesk.templates.models import Template
from wadesk.whatsapp.errors import explain

log = structlog.get_logger(__name__)

PUMP_JOB = "run_campaign"
SWEEP_JOB = "sweep_campaigns"
CSV_BATCH = 500
MAX_INVALID_ROWS_SHOWN = 20
THROUGHPUT_WINDOW = timedelta(seconds=60)
APPROVED = "APPROVED"
_QUALITY_RANK = {"GREEN": 3, "YELLOW": 2, "RED": 1}

S = CampaignStatus
# action -> (statuses it is allowed from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    "schedule": (frozenset({S.DRAFT, S.SCHEDULED}), S.SCHEDULED),
    "unschedule": (frozenset({S.SCHEDULED}), S.DRAFT),
    "start": (frozenset({S.DRAFT, S.SCHEDULED}), S.RUNNING),
    "pause": (frozenset({S.RUNNING}), S.PAUSED),
    "resume": (frozenset({S.PAUSED}), S.RUNNING),
    "cancel": (frozenset({S.DRAFT, S.SCHEDULED, S.RUNNING, S.PAUSED}), S.CANCELLED),
    "complete": (frozenset({S.RUNNING}), S.COMPLETED),
    # The system pauses a scheduled campaign that cannot start (its template was paused meanwhile).
    "auto_pause": (frozenset({S.RUNNING, S.SCHEDULED}), S.PAUSED),
}
_PAST = {
    "schedule": "scheduled",
    "unschedule": "unscheduled",
    "start": "started",
    "pause": "paused",
    "resume": "resumed",
    "cancel": "cancelled",
    "complete": "completed",
    "auto_pause": "paused",
    "retry_failed": "retried",
}

# Recipient statuses only move forward, like message statuses; `failed` replaces states before delivery.
_RANK = {
    RecipientStatus.QUEUED: 0,
    RecipientStatus.SENDING: 1,
    RecipientStatus.SENT: 2,
    RecipientStatus.DELIVERED: 3,
    RecipientStatus.READ: 4,
    RecipientStatus.REPLIED: 5,
}
_FROM_MESSAGE = {
    MessageStatus.SENT: RecipientStatus.SENT,
    MessageStatus.DELIVERED: RecipientStatus.DELIVERED,
    MessageStatus.READ: RecipientStatus.READ,
    MessageStatus.FAILED: RecipientStatus.FAILED,
}


def advance_recipient(current: str, incoming: str) -> str | None:
    """The recipient's status after `incoming`, or None when it changes nothing (never moves backwards)."""
    old, new = RecipientStatus(current), RecipientStatus(incoming)
    if old in (RecipientStatus.FAILED, RecipientStatus.SKIPPED) or old == new:
        return None
    if new == RecipientStatus.FAILED:
        return new if _RANK[old] < _RANK[RecipientStatus.DELIVERED] else None
    return new if _RANK.get(new, -1) > _RANK[old] else None


def recipient_status_for(message_status: str) -> str | None:
    """What a message status means for its recipient (None while the message is still queued)."""
    return _FROM_MESSAGE.get(MessageStatus(message_status))


# --- presentation ---------------------------------------------------------------------------------------------


def counts_of(by_status: dict[str, int]) -> RecipientCounts:
    return RecipientCounts(total=sum(by_status.values()), **{k: v for k, v in by_status.items() if k})


def campaign_out(
    campaign: Campaign, number: PhoneNumber, template: Template, by_status: dict[str, int]
) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        status=CampaignStatus(campaign.status),
        phone_number=PhoneNumberRef.model_validate(number),
        template=TemplateRef.model_validate(template),
        audience=campaign.audience,
        parameter_mapping=campaign.parameter_mapping,
        scheduled_at=campaign.scheduled_at,
        timezone=campaign.timezone,
        started_at=campaign.started_at,
        completed_at=campaign.completed_at,
        cancelled_at=campaign.cancelled_at,
        paused_reason=campaign.paused_reason,
        paused_code=campaign.paused_code,
        waiting_reason=campaign.waiting_reason,
        waiting_until=campaign.waiting_until,
        reply_window_hours=campaign.reply_window_hours,
        created_by_id=campaign.created_by_id,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        counts=counts_of(by_status),
    )


def contact_ref(contact: Contact) -> ContactRef:
    return ContactRef(id=contact.id, wa_id=contact.wa_id, name=contact.display_name)


def recipient_out(recipient: CampaignRecipient, contact: Contact) -> RecipientOut:
    error = None
    if recipient.error_code is not None or recipient.status == RecipientStatus.FAILED:
        entry = explain(recipient.error_code)
        error = RecipientError(
            code=recipient.error_code,
            title=recipient.error_title,
            explanation=entry.explanation if recipient.error_code is not None else None,
            retryable=entry.retryable,
        )
    return RecipientOut(
        id=recipient.id,
        contact=contact_ref(contact),
        status=RecipientStatus(recipient.status),
        message_id=recipient.message_id,
        attempts=recipient.attempts,
        error=error,
        skip_reason=recipient.skip_reason,
        parameters=recipient.parameters or {},
        sent_at=recipient.sent_at,
        delivered_at=recipient.delivered_at,
        read_at=recipient.read_at,
        replied_at=recipient.replied_at,
        failed_at=recipient.failed_at,
        updated_at=recipient.updated_at,
    )


async def _refs(session: AsyncSession, campaign: Campaign) -> tuple[PhoneNumber, Template]:
    number = await session.get(PhoneNumber, campaign.phone_number_id)
    template = await session.get(Template, campaign.template_id)
    if number is None or template is None:
        raise NotFound("Campaign not found.")
    return number, template


async def to_out(session: AsyncSession, campaign: Campaign) -> CampaignOut:
    number, template = await _refs(session, campaign)
    counts = await CampaignRepository(session).counts([campaign.id])
    return campaign_out(campaign, number, template, counts[campaign.id])


# --- reading --------------------------------------------------------------------------------------------------


async def get_campaign(ctx: Ctx, campaign_id: uuid.UUID) -> Campaign:
    return await CampaignRepository(ctx.session).get_or_404(campaign_id)


async def list_campaigns(
    ctx: Ctx, status: CampaignStatus | None, *, limit: int, cursor: str | None
) -> tuple[list[CampaignOut], str | None]:
    """A page of campaigns, newest first, each with its counts: three statements whatever the page size."""
    repo = CampaignRepository(ctx.session)
    rows = await repo.list_page(status, limit=limit + 1, after=Cursor.decode(cursor) if cursor else None)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1].created_at, rows[-1].id).encode()
    counts = await repo.counts([c.id for c in rows])
    numbers = {
        n.id: n
        for n in (
            await ctx.session.execute(
                select(PhoneNumber).where(PhoneNumber.id.in_({c.phone_number_id for c in rows}))
            )
        ).scalars()
    }
    templates = {
        t.id: t
        for t in (
            await ctx.session.execute(select(Template).where(Template.id.in_({c.template_id for c in rows})))
        ).scalars()
    }
    items = [
        campaign_out(c, numbers[c.phone_number_id], templates[c.template_id], counts[c.id]) for c in rows
    ]
    return items, next_cursor


async def stats_for(session: AsyncSession, campaign: Campaign, now: datetime | None = None) -> CampaignStats:
    """Counts per state, the cumulative funnel, rates, recent throughput and the estimated completion."""
    now = now or utcnow()
    repo = CampaignRepository(session)
    number = await session.get(PhoneNumber, campaign.phone_number_id)
    by_status = (await repo.counts([campaign.id]))[campaign.id]
    counts = counts_of(by_status)
    read = counts.read + counts.replied
    delivered = counts.delivered + read
    sent = counts.sent + delivered
    attempted = sent + counts.failed
    funnel = Funnel(
        targeted=counts.total,
        skipped=counts.skipped,
        attempted=attempted,
        sent=sent,
        delivered=delivered,
        read=read,
        replied=counts.replied,
        failed=counts.failed,
    )

    def ratio(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    rates = Rates(
        delivery=ratio(delivered, attempted),
        read=ratio(read, delivered),
        reply=ratio(counts.replied, delivered),
        failure=ratio(counts.failed, attempted),
    )
    recent = await repo.sent_since(campaign.id, now - THROUGHPUT_WINDOW)
    configured = number.messages_per_second if number else 0
    per_second = round(recent / THROUGHPUT_WINDOW.total_seconds(), 2)
    remaining = counts.queued + counts.sending
    eta_seconds: float | None = None
    limited_by = None
    if campaign.status == CampaignStatus.RUNNING and remaining:
        speed = per_second or float(configured)
        eta_seconds = round(remaining / speed, 1) if speed else None
        if campaign.waiting_until is not None and campaign.waiting_until > now:
            limited_by = "messaging_limit"
            eta_seconds = round((campaign.waiting_until - now).total_seconds() + (eta_seconds or 0), 1)
    elif remaining == 0 and campaign.status == CampaignStatus.RUNNING:
        eta_seconds = 0.0
    failures = [
        ErrorCount(code=code, title=title, retryable=explain(code).retryable, count=n)
        for code, title, n in await repo.failures_by_code(campaign.id)
    ]
    skipped = [ReasonCount(reason=r, count=n) for r, n in await repo.skipped_by_reason(campaign.id)]
    return CampaignStats(
        campaign_id=campaign.id,
        status=CampaignStatus(campaign.status),
        paused_reason=campaign.paused_reason,
        paused_code=campaign.paused_code,
        waiting_reason=campaign.waiting_reason,
        waiting_until=campaign.waiting_until,
        counts=counts,
        funnel=funnel,
        rates=rates,
        throughput=Throughput(last_minute_per_second=per_second, configured_per_second=configured),
        eta=Eta(
            remaining=remaining,
            seconds=eta_seconds,
            at=now + timedelta(seconds=eta_seconds) if eta_seconds is not None else None,
            limited_by=limited_by,
        ),
        failures_by_code=failures,
        skipped_by_reason=skipped,
        started_at=campaign.started_at,
        completed_at=campaign.completed_at,
        generated_at=now,
    )


async def get_stats(ctx: Ctx, campaign_id: uuid.UUID) -> CampaignStats:
    return await stats_for(ctx.session, await get_campaign(ctx, campaign_id))


async def list_recipients(
    ctx: Ctx, campaign_id: uuid.UUID, filters: RecipientFilters, *, limit: int, cursor: str | None
) -> tuple[list[RecipientOut], str | None]:
    await get_campaign(ctx, campaign_id)
    after = Cursor.decode(cursor).id if cursor else None
    rows = await CampaignRepository(ctx.session).recipients_page(
        campaign_id, filters, limit=limit + 1, after=after
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(None, rows[-1][0].id).encode()
    return [recipient_out(r, c) for r, c in rows], next_cursor


# --- creating and editing -------------------------------------------------------------------------------------


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(
            f"'{name}' is not a time zone (use e.g. Europe/Paris).", code="invalid_timezone"
        ) from None


def schedule_time(value: datetime, timezone: str | None) -> datetime:
    """A schedule in UTC: `value` with its own offset, or read in `timezone` when it has none."""
    zone = _zone(timezone)
    if value.tzinfo is None:
        if zone is None:
            raise Unprocessable(
                "scheduledAt needs an offset (e.g. 2026-12-01T09:00:00+01:00) or a timezone.",
                code="schedule_needs_timezone",
            )
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


async def _template_for(session: AsyncSession, number: PhoneNumber, template_id: uuid.UUID) -> Template:
    template = await session.get(Template, template_id)
    if template is None:
        raise NotFound("Template not found.", code="template_not_found")
    if template.waba_id != number.waba_id:
        raise Unprocessable(
            "The template belongs to another WhatsApp Business Account than the number.",
            code="template_not_for_number",
        )
    if template.status != APPROVED:
        raise Unprocessable(
            f"Template '{template.name}' is {template.status.lower()}; only approved templates can be broadcast.",
            code="template_not_approved",
        )
    return template


def _csv_columns(campaign_audience: dict[str, Any]) -> list[str] | None:
    if campaign_audience.get("source") != "csv":
        return None
    upload = campaign_audience.get("upload") or {}
    return list(upload.get("columns") or [])


def _check_mapping(template: Template, mapping: dict[str, Any], csv_columns: list[str] | None) -> None:
    if problems := mapping_problems(template, mapping, csv_columns):
        raise Unprocessable(
            "The parameter mapping does not fit the template: " + "; ".join(problems) + ".",
            code="parameter_mapping_invalid",
            details={"problems": problems},
        )


def _audit(
    session: AsyncSession,
    campaign: Campaign,
    action: str,
    actor: uuid.UUID | None,
    details: dict[str, Any] | None = None,
) -> None:
    record_audit(
        session,
        tenant_id=campaign.tenant_id,
        actor_user_id=actor,
        # A name outside the catalogue fails here, at the write, rather than go unlisted.
        action=AuditAction(f"campaign.{action}"),
        target_type="campaign",
        target_id=campaign.id,
        details=details or {},
    )


async def create_campaign(ctx: Ctx, data: CampaignCreate) -> Campaign:
    """A draft campaign; the audience is resolved when it starts (or uploaded as CSV before)."""
    session = ctx.session
    number = await require_active_number(session, data.phone_number_id)
    template = await _template_for(session, number, data.template_id)
    audience = data.audience.model_dump(mode="json", by_alias=True)
    mapping = data.parameter_mapping.stored()
    _check_mapping(template, mapping, [] if audience["source"] == "csv" else None)
    campaign = Campaign(
        tenant_id=ctx.tenant_id,
        name=data.name,
        phone_number_id=number.id,
        template_id=template.id,
        status=CampaignStatus.DRAFT,
        audience=audience,
        parameter_mapping=mapping,
        scheduled_at=schedule_time(data.scheduled_at, data.timezone) if data.scheduled_at else None,
        timezone=data.timezone,
        reply_window_hours=data.reply_window_hours,
        created_by_id=ctx.user_id,
    )
    _zone(data.timezone)
    session.add(campaign)
    await session.flush()
    _audit(session, campaign, "created", ctx.user_id, {"name": campaign.name})
    return campaign


async def update_campaign(ctx: Ctx, campaign_id: uuid.UUID, data: CampaignUpdate) -> Campaign:
    """Edit a draft. Changing a CSV audience's source drops its uploaded recipients."""
    session = ctx.session
    repo = CampaignRepository(session)
    campaign = await _locked(repo, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise Unprocessable(
            f"Only a draft can be edited; this campaign is {campaign.status}.", code="invalid_transition"
        )
    changes = data.model_dump(exclude_unset=True)
    number = await session.get(PhoneNumber, campaign.phone_number_id)
    assert number is not None
    template = await session.get(Template, campaign.template_id)
    if "name" in changes and data.name is not None:
        campaign.name = data.name
    if data.template_id is not None:
        template = await _template_for(session, number, data.template_id)
        campaign.template_id = template.id
    if data.audience is not None:
        audience = data.audience.model_dump(mode="json", by_alias=True)
        if campaign.audience.get("source") == "csv" and audience["source"] != "csv":
            await repo.delete_recipients(campaign.id)
        if audience["source"] == "csv" and campaign.audience.get("source") == "csv":
            audience = campaign.audience  # keep the upload's summary
        campaign.audience = audience
    if data.parameter_mapping is not None:
        campaign.parameter_mapping = data.parameter_mapping.stored()
    if "timezone" in changes:
        _zone(data.timezone)
        campaign.timezone = data.timezone
    if "scheduled_at" in changes:
        campaign.scheduled_at = (
            schedule_time(data.scheduled_at, campaign.timezone) if data.scheduled_at else None
        )
    if data.reply_window_hours is not None:
        campaign.reply_window_hours = data.reply_window_hours
    assert template is not None
    _check_mapping(template, campaign.parameter_mapping, _csv_columns(campaign.audience))
    await session.flush()
    _audit(session, campaign, "updated", ctx.user_id, {"fields": sorted(changes)})
    return campaign


async def delete_campaign(ctx: Ctx, campaign_id: uuid.UUID) -> None:
    """Only drafts can be deleted: anything that sent keeps its history (cancel it instead)."""
    repo = CampaignRepository(ctx.session)
    campaign = await _locked(repo, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise Unprocessable(
            f"Only a draft can be deleted; cancel a {campaign.status} campaign instead.",
            code="invalid_transition",
        )
    _audit(ctx.session, campaign, "deleted", ctx.user_id, {"name": campaign.name})
    await repo.delete_recipients(campaign.id)
    await ctx.session.delete(campaign)


async def upload_csv(
    ctx: Ctx, campaign_id: uuid.UUID, file: IO[bytes], phone_column: str | None
) -> CsvUploadResult:
    """Replace a draft's CSV audience: one recipient per distinct number, its row kept for the parameters.

    The file is read as a stream and written in batches; numbers the company does not know become contacts.
    """
    session = ctx.session
    repo = CampaignRepository(session)
    campaign = await _locked(repo, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise Unprocessable(
            "The audience of a campaign can only change while it is a draft.", code="invalid_transition"
        )
    if campaign.audience.get("source") != "csv":
        raise Unprocessable(
            'This campaign\'s audience is contacts; set it to {"source": "csv"} first.',
            code="audience_not_csv",
        )
    reader = CsvAudience(file, phone_column)
    await repo.delete_recipients(campaign.id)
    rows = invalid = 0
    invalid_rows: list[InvalidRow] = []
    batch: dict[str, CsvRow] = {}

    async def flush() -> None:
        known = await repo.contact_ids_by_wa_id(batch)
        missing = [wa_id for wa_id in batch if wa_id not in known]
        if missing:
            await repo.create_contacts(ctx.tenant_id, missing)
            known |= await repo.contact_ids_by_wa_id(missing)
        now = utcnow()
        await repo.insert_recipients(
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": ctx.tenant_id,
                    "campaign_id": campaign.id,
                    "contact_id": known[wa_id],
                    "parameters": row.values,
                    "csv_line": row.line,
                    "status": RecipientStatus.QUEUED,
                    "created_at": now,
                    "updated_at": now,
                }
                for wa_id, row in batch.items()
            ]
        )
        batch.clear()

    for row in reader.rows():
        rows += 1
        if row.wa_id is None:
            invalid += 1
            if len(invalid_rows) < MAX_INVALID_ROWS_SHOWN:
                invalid_rows.append(
                    InvalidRow(line=row.line, value=row.raw_phone[:64], reason=row.error or "")
                )
            continue
        # The first row of a number wins, within a batch here and across batches by the unique key.
        batch.setdefault(row.wa_id, row)
        if len(batch) >= CSV_BATCH:
            await flush()
    if batch:
        await flush()
    stored = await repo.total(campaign.id)
    duplicates = rows - invalid - stored
    upload = {
        "rows": rows,
        "recipients": stored,
        "duplicates": duplicates,
        "invalid": invalid,
        "phoneColumn": reader.phone_column,
        "columns": reader.parameter_columns,
        "uploadedAt": utcnow().isoformat(),
    }
    campaign.audience = {"source": "csv", "upload": upload}
    template = await session.get(Template, campaign.template_id)
    assert template is not None
    problems = mapping_problems(template, campaign.parameter_mapping, reader.parameter_columns)
    _audit(session, campaign, "audience_uploaded", ctx.user_id, {"rows": rows, "recipients": stored})
    return CsvUploadResult(
        rows=rows,
        recipients=stored,
        duplicates=duplicates,
        invalid=invalid,
        invalid_rows=invalid_rows,
        phone_column=reader.phone_column,
        columns=reader.parameter_columns,
        mapping_problems=problems,
    )


# --- preview --------------------------------------------------------------------------------------------------


def _skipped_counts(**by_reason: int) -> list[ReasonCount]:
    return [ReasonCount(reason=reason, count=n) for reason, n in by_reason.items() if n]


def _sample(
    template: Template, mapping: dict[str, Any], contact: Contact, row: dict[str, Any]
) -> SampleMessage:
    filled = fill(template, mapping, RecipientData.of(contact, row))
    return SampleMessage(
        contact=contact_ref(contact),
        components=filled.components,
        rendered=filled.rendered,
        problems=filled.problems,
    )


async def preview_audience(ctx: Ctx, data: CampaignPreviewIn) -> AudiencePreview:
    """How many contacts an audience reaches, and one of them's message, before saving anything."""
    number = await require_active_number(ctx.session, data.phone_number_id)
    template = await _template_for(ctx.session, number, data.template_id)
    spec = data.audience.model_dump(mode="json", by_alias=True)
    return await _preview(ctx, template, spec, data.parameter_mapping.stored(), None)


async def preview_campaign(ctx: Ctx, campaign_id: uuid.UUID) -> AudiencePreview:
    campaign = await get_campaign(ctx, campaign_id)
    template = await ctx.session.get(Template, campaign.template_id)
    assert template is not None
    return await _preview(ctx, template, campaign.audience, campaign.parameter_mapping, campaign)


async def _preview(
    ctx: Ctx,
    template: Template,
    audience: dict[str, Any],
    mapping: dict[str, Any],
    campaign: Campaign | None,
) -> AudiencePreview:
    repo = CampaignRepository(ctx.session)
    sample = None
    if audience.get("source") == "csv":
        # The upload left out invalid and repeated numbers; the stored recipients say who is reachable now.
        upload = audience.get("upload") or {}
        invalid, duplicates = int(upload.get("invalid") or 0), int(upload.get("duplicates") or 0)
        recipients = opted_out = blocked = 0
        if campaign is not None:
            recipients, opted_out, blocked = await repo.recipient_reachability(campaign.id)
            first = await repo.first_queued(campaign.id)
            if first is not None:
                sample = _sample(template, mapping, first[1], first[0].parameters)
        total = recipients + invalid + duplicates
        skipped = _skipped_counts(
            invalid_number=invalid, duplicate=duplicates, opted_out=opted_out, blocked=blocked
        )
    else:
        total, opted_out, blocked = await repo.audience_summary(audience, tenant_id=ctx.tenant_id)
        skipped = _skipped_counts(opted_out=opted_out, blocked=blocked)
        contact = await repo.first_eligible_contact(audience, tenant_id=ctx.tenant_id)
        if contact is not None:
            sample = _sample(template, mapping, contact, {})
    return AudiencePreview(
        total=total,
        eligible=total - sum(s.count for s in skipped),
        skipped=skipped,
        sample=sample,
        mapping_problems=mapping_problems(template, mapping, _csv_columns(audience)),
    )


# --- transitions ----------------------------------------------------------------------------------------------


async def _locked(repo: CampaignRepository, campaign_id: uuid.UUID) -> Campaign:
    campaign = await repo.get_for_update(campaign_id)
    if campaign is None:
        raise NotFound("Campaign not found.")
    return campaign


def check_transition(campaign: Campaign, action: str) -> CampaignStatus:
    """The status `action` leads to; 422 `invalid_transition` with the reason when it is not allowed."""
    allowed, target = TRANSITIONS[action]
    if campaign.status not in allowed:
        raise Unprocessable(
            f"A {campaign.status} campaign cannot be {_PAST[action]}.",
            code="invalid_transition",
            details={
                "status": campaign.status,
                "action": action,
                "allowedFrom": sorted(s.value for s in allowed),
            },
        )
    return target


async def readiness_problem(session: AsyncSession, campaign: Campaign) -> tuple[PauseCode, str] | None:
    """Why this campaign cannot send now, as (code, message); None when it can."""
    number = await session.get(PhoneNumber, campaign.phone_number_id)
    template = await session.get(Template, campaign.template_id)
    if number is None or number.status == PhoneNumberStatus.DISABLED:
        return PauseCode.PHONE_NUMBER_DISABLED, "The campaign's phone number is disconnected."
    if number.status == PhoneNumberStatus.NEEDS_CREDENTIALS:
        return (
            PauseCode.PHONE_NUMBER_NEEDS_CREDENTIALS,
            "Meta rejected the number's access token; an admin must enter a new one.",
        )
    if template is None or template.status != APPROVED:
        state = template.status.lower() if template else "gone"
        name = template.name if template else "?"
        return (
            PauseCode.TEMPLATE_NOT_APPROVED,
            f"Template '{name}' is {state}; only approved templates can be sent.",
        )
    if problems := mapping_problems(template, campaign.parameter_mapping, _csv_columns(campaign.audience)):
        return (
            PauseCode.PARAMETER_MAPPING_INVALID,
            "The parameter mapping does not fit the template: " + "; ".join(problems),
        )
    return None


async def _require_ready(session: AsyncSession, campaign: Campaign) -> None:
    if problem := await readiness_problem(session, campaign):
        raise Unprocessable(problem[1], code=problem[0])
    repo = CampaignRepository(session)
    if campaign.audience.get("source") == "csv":
        empty = not await repo.has_status(campaign.id, RecipientStatus.QUEUED)
    else:
        empty = not await repo.audience_matches_anyone(campaign.audience, tenant_id=campaign.tenant_id)
    if empty:
        raise Unprocessable("The audience has nobody to send to.", code="audience_empty")


def _enqueue_pump(session: AsyncSession, runtime: Runtime, campaign: Campaign) -> None:
    runtime.jobs.enqueue_after_commit(
        session, PUMP_JOB, campaign_id=str(campaign.id), tenant_id=str(campaign.tenant_id)
    )


def _notify_after_commit(session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> None:
    """Progress is published once the change is visible; once per campaign and transaction (a batch of status
    webhooks may move hundreds of its recipients)."""
    notified = transaction_cache(session, "campaigns_notified")
    if campaign_id in notified:
        return
    notified[campaign_id] = True

    async def notify() -> None:
        progress(current_runtime()).notify(tenant_id, campaign_id)

    run_after_commit(session, notify)


def _begin_running(campaign: Campaign, now: datetime) -> None:
    campaign.status = CampaignStatus.RUNNING
    campaign.started_at = campaign.started_at or now
    campaign.paused_reason = campaign.paused_code = None
    campaign.waiting_reason = None
    campaign.waiting_until = None


async def transition(
    ctx: Ctx, campaign_id: uuid.UUID, action: str, data: ScheduleIn | None = None
) -> Campaign:
    """Apply an admin's lifecycle action (schedule, unschedule, start, pause, resume, cancel)."""
    session = ctx.session
    repo = CampaignRepository(session)
    campaign = await _locked(repo, campaign_id)
    previous = campaign.status
    target = check_transition(campaign, action)
    now = utcnow()
    details: dict[str, Any] = {"from": previous, "to": target}
    if action == "schedule":
        if data is not None:
            campaign.timezone = data.timezone or campaign.timezone
            campaign.scheduled_at = schedule_time(data.scheduled_at, data.timezone or campaign.timezone)
        if campaign.scheduled_at is None:
            raise Unprocessable("Give scheduledAt to schedule the campaign.", code="schedule_missing")
        if campaign.scheduled_at <= now:
            raise Unprocessable(
                "The schedule is in the past; start the campaign instead.", code="schedule_in_past"
            )
        await _require_ready(session, campaign)
        campaign.status = target
        details["scheduledAt"] = campaign.scheduled_at.isoformat()
    elif action == "unschedule":
        campaign.status = target
    elif action in {"start", "resume"}:
        await _require_ready(session, campaign)
        _begin_running(campaign, now)
        _enqueue_pump(session, ctx.runtime, campaign)
    elif action == "pause":
        campaign.status = target
        campaign.paused_reason = f"Paused by {ctx.principal.name}"
        campaign.paused_code = PauseCode.BY_USER
        campaign.waiting_reason = campaign.waiting_until = None
    elif action == "cancel":
        campaign.status = target
        campaign.cancelled_at = now
        campaign.waiting_reason = campaign.waiting_until = None
        await repo.skip_queued(campaign.id, "campaign_cancelled")
    await session.flush()
    _audit(session, campaign, _PAST[action], ctx.user_id, details)
    _notify_after_commit(session, campaign.tenant_id, campaign.id)
    return campaign


async def retry_failed(ctx: Ctx, campaign_id: uuid.UUID) -> tuple[Campaign, int]:
    """Queue again the recipients whose failure is worth retrying (throughput, Meta-side trouble);
    failures about the recipient or the content are left alone. A completed campaign runs again."""
    session = ctx.session
    repo = CampaignRepository(session)
    campaign = await _locked(repo, campaign_id)
    if campaign.status not in (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED):
        raise Unprocessable(
            f"A {campaign.status} campaign has nothing to retry.",
            code="invalid_transition",
            details={
                "status": campaign.status,
                "action": "retry_failed",
                "allowedFrom": ["completed", "paused", "running"],
            },
        )
    retryable = [code for code in await repo.failed_codes(campaign.id) if explain(code).retryable]
    requeued = await repo.requeue_failed(campaign.id, retryable) if retryable else 0
    if not requeued:
        raise Unprocessable(
            "No failed recipient has a failure worth retrying (only throughput and temporary errors are).",
            code="nothing_to_retry",
        )
    previous = campaign.status
    if campaign.status == CampaignStatus.COMPLETED:
        await _require_ready(session, campaign)
        _begin_running(campaign, utcnow())
        campaign.completed_at = None
    if campaign.status == CampaignStatus.RUNNING:
        _enqueue_pump(session, ctx.runtime, campaign)
    await session.flush()
    _audit(
        session,
        campaign,
        "retried",
        ctx.user_id,
        {"from": previous, "to": campaign.status, "requeued": requeued, "codes": retryable},
    )
    _notify_after_commit(session, campaign.tenant_id, campaign.id)
    return campaign, requeued


async def pause_by_system(session: AsyncSession, campaign: Campaign, reason: str, code: PauseCode) -> bool:
    """Pause a running (or scheduled) campaign for a reason Meta gave; audited without an actor."""
    if campaign.status not in TRANSITIONS["auto_pause"][0]:
        return False
    previous = campaign.status
    campaign.status = CampaignStatus.PAUSED
    campaign.paused_reason = reason[:255]
    campaign.paused_code = code
    campaign.waiting_reason = campaign.waiting_until = None
    _audit(
        session,
        campaign,
        "paused",
        None,
        {"from": previous, "to": "paused", "reason": reason, "code": code, "by": "system"},
    )
    _notify_after_commit(session, campaign.tenant_id, campaign.id)
    log.info("campaign_paused", campaign_id=str(campaign.id), reason=reason)
    return True


def complete_by_system(session: AsyncSession, campaign: Campaign, now: datetime) -> None:
    campaign.status = CampaignStatus.COMPLETED
    campaign.completed_at = now
    campaign.waiting_reason = campaign.waiting_until = None
    _audit(session, campaign, "completed", None, {"from": "running", "to": "completed", "by": "system"})
    _notify_after_commit(session, campaign.tenant_id, campaign.id)


def tier_wait_reason(tier: str | None, used: int, until: datetime | None) -> str:
    when = f" Sending resumes at {until.strftime('%Y-%m-%d %H:%M')} UTC." if until else ""
    return f"Messaging limit reached ({describe_tier(tier)}; {used:,} reached in the last 24 hours).{when}"[
        :255
    ]


# --- hooks from webhook processing -----------------------------------------------------------------------------


async def lock_recipients_of(session: AsyncSession, messages: list[Message]) -> list[CampaignRecipient]:
    """Load and lock the campaign recipients of these messages before their statuses are applied (a batch of
    status webhooks takes its locks in one ordered pass: see webhooks.processing.lock_status_targets)."""
    recipient_ids = {m.campaign_recipient_id for m in messages if m.campaign_recipient_id is not None}
    if not recipient_ids:
        return []
    return await CampaignRepository(session).lock_recipients(list(recipient_ids))


async def message_status_changed(session: AsyncSession, message: Message) -> None:
    """A campaign message's status changed (status webhook): its recipient follows, never backwards."""
    if message.campaign_recipient_id is None:
        return
    recipient = await session.get(CampaignRecipient, message.campaign_recipient_id)
    if recipient is None or recipient.message_id != message.id:
        return  # an earlier attempt's message: the recipient follows its latest one
    if apply_message_state(
        recipient,
        status=message.status,
        error_code=message.error_code,
        error_title=message.error_title,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        read_at=message.read_at,
        failed_at=message.failed_at,
    ):
        _notify_after_commit(session, recipient.tenant_id, recipient.campaign_id)


def apply_message_state(
    recipient: CampaignRecipient,
    *,
    status: str,
    error_code: int | None,
    error_title: str | None,
    sent_at: datetime | None,
    delivered_at: datetime | None,
    read_at: datetime | None,
    failed_at: datetime | None,
) -> bool:
    """Move a recipient to its message's state (timestamps included); True when something changed."""
    incoming = recipient_status_for(status)
    changed = False
    for column, value in (("sent_at", sent_at), ("delivered_at", delivered_at), ("read_at", read_at)):
        if value is not None and getattr(recipient, column) is None:
            setattr(recipient, column, value)
            changed = True
    if incoming is None:
        return changed
    new_status = advance_recipient(recipient.status, incoming)
    if new_status is None:
        return changed
    recipient.status = new_status
    if new_status == RecipientStatus.FAILED:
        recipient.error_code = error_code
        recipient.error_title = (error_title or "Failed")[:255]
        recipient.failed_at = failed_at or utcnow()
    return True


# Inbound kinds that are not the customer writing back.
_NOT_A_REPLY = frozenset({"reaction", "revoke", "system", "unsupported", "request_welcome"})


async def record_reply(
    session: AsyncSession,
    *,
    contact_id: uuid.UUID,
    phone_number_id: uuid.UUID,
    kind: str,
    at: datetime,
) -> None:
    """A customer wrote: their campaign messages on this number sent within the campaign's reply window
    before `at` are marked `replied`."""
    if kind in _NOT_A_REPLY:
        return
    repo = CampaignRepository(session)
    longest = timedelta(hours=720)
    # Most numbers run no campaign: look that up once per transaction, not once per inbound message.
    horizons = transaction_cache(session, "campaign_send_horizons")
    if phone_number_id not in horizons:
        horizons[phone_number_id] = await repo.last_send_horizon(phone_number_id)
    horizon = horizons[phone_number_id]
    if horizon is None or horizon < at - longest:
        return
    for recipient, hours in await repo.recent_recipients_of_contact(
        contact_id, phone_number_id, at - longest
    ):
        if recipient.sent_at is None:
            continue
        # Meta's timestamps are whole seconds: a reply in the second of the send carries an earlier time.
        sent_second = recipient.sent_at.replace(microsecond=0)
        if not sent_second <= at <= recipient.sent_at + timedelta(hours=hours):
            continue
        recipient.status = RecipientStatus.REPLIED
        recipient.replied_at = at
        _notify_after_commit(session, recipient.tenant_id, recipient.campaign_id)


async def template_changed(session: AsyncSession, template: Template) -> None:
    """Meta paused, disabled or rejected a template: the campaigns sending it pause, saying why."""
    if template.status == APPROVED:
        return
    scope_to_tenant(session, template.tenant_id)
    campaigns = await CampaignRepository(session).campaigns_of_template(
        template.id, (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED)
    )
    reason = f"Meta {template.status.lower()} template '{template.name}'"
    if template.rejected_reason:
        reason += f" ({template.rejected_reason})"
    for campaign in campaigns:
        await pause_by_system(session, campaign, reason, PauseCode.TEMPLATE_NOT_APPROVED)


async def phone_number_changed(
    session: AsyncSession, number: PhoneNumber, *, previous_quality: str | None, previous_tier: str | None
) -> None:
    """A number's quality dropped: its running campaigns pause. Its tier changed: waiting ones re-check."""
    scope_to_tenant(session, number.tenant_id)
    repo = CampaignRepository(session)
    campaigns = await repo.campaigns_of_number(number.id, (CampaignStatus.RUNNING,))
    before = _QUALITY_RANK.get((previous_quality or "").upper(), 0)
    after = _QUALITY_RANK.get((number.quality_rating or "").upper(), 0)
    if before and after and after < before:
        reason = f"The number's quality rating dropped from {previous_quality} to {number.quality_rating}"
        for campaign in campaigns:
            await pause_by_system(session, campaign, reason, PauseCode.PHONE_NUMBER_QUALITY_DROPPED)
        return
    if (previous_tier or "") != (number.messaging_limit_tier or ""):
        for campaign in campaigns:
            # The periodic sweep picks a waiting campaign up again as soon as its wait is over.
            if campaign.waiting_until is not None:
                campaign.waiting_until = utcnow()


# --- the periodic sweep ---------------------------------------------------------------------------------------


async def sweep_campaigns(runtime: Runtime) -> dict[str, int]:
    """Start scheduled campaigns that are due, and pump running ones nobody is pumping (a worker died, or a
    messaging-limit wait is over). Safe to run from any number of processes: starts are compare-and-set and
    a pump holds a lease."""
    now = utcnow()
    started = 0
    async with unit_of_work(runtime.sessionmaker) as session:
        due = (
            await session.execute(
                select(Campaign.id, Campaign.tenant_id)
                .where(Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= now)
                .limit(100)
            )
        ).all()
    for campaign_id, tenant_id in due:
        if await _start_scheduled(runtime, tenant_id, campaign_id, now):
            started += 1
    async with unit_of_work(runtime.sessionmaker) as session:
        idle = (
            await session.execute(select(Campaign.id, Campaign.tenant_id).where(due_for_pump(now)).limit(500))
        ).all()
    for campaign_id, tenant_id in idle:
        await runtime.jobs.send_now(PUMP_JOB, campaign_id=str(campaign_id), tenant_id=str(tenant_id))
    return {"campaigns_started": started, "campaigns_resumed": len(idle)}


async def _start_scheduled(
    runtime: Runtime, tenant_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime
) -> bool:
    async with unit_of_work(runtime.sessionmaker, tenant_id) as session:
        campaign = await CampaignRepository(session).get_for_update(campaign_id)
        if campaign is None or campaign.status != CampaignStatus.SCHEDULED:
            return False
        if problem := await readiness_problem(session, campaign):
            await pause_by_system(session, campaign, f"Could not start on schedule: {problem[1]}", problem[0])
            return False
        previous = campaign.status
        _begin_running(campaign, now)
        _audit(session, campaign, "started", None, {"from": previous, "to": "running", "by": "schedule"})
        _enqueue_pump(session, runtime, campaign)
        _notify_after_commit(session, campaign.tenant_id, campaign.id)
    return True


# --- progress -------------------------------------------------------------------------------------------------


async def _progress_payload(
    runtime: Runtime, tenant_id: uuid.UUID, campaign_id: uuid.UUID
) -> dict[str, Any] | None:
    async with runtime.sessionmaker() as session:
        scope_to_tenant(session, tenant_id)
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None:
            return None
        stats = await stats_for(session, campaign)
    return {"id": str(campaign_id), "name": campaign.name, **stats.model_dump(mode="json", by_alias=True)}


def progress(runtime: Runtime) -> ProgressPublisher:
    """The process's progress publisher (one per runtime)."""
    publisher = runtime.extras.get("campaign_progress")
    if not isinstance(publisher, ProgressPublisher):
        publisher = ProgressPublisher(runtime, _progress_payload)
        runtime.extras["campaign_progress"] = publisher
    return publisher


async def funnels(
    session: AsyncSession, started_from: datetime, started_to: datetime
) -> list[tuple[Campaign, dict[str, int]]]:
    """Campaigns started in [from, to), each with its recipients per status (the analytics funnel)."""
    return await CampaignRepository(session).funnel_counts(started_from, started_to)
