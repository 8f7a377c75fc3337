"""The campaign pump: turns a running campaign's recipients into messages, at the number's pace.

Each recipient handed over becomes a `messages` row (type template, `campaign_recipient_id` set); a tick's
hand-over is sent by one `send_messages` job, through the same steps as an agent's message, so campaign and
agents share the number's pacer: one GCRA schedule per number (in Redis in production), which no second can
exceed. The pump only keeps the sender fed:
it hands over about two seconds of sending at a time, so an agent's message never waits behind a whole
campaign, and memory does not grow with the audience (recipients are read in small keyset batches).

Everything is in rows, so a pump can die at any point: a recipient is claimed (`queued → sending`, with its
message written, in one transaction, rows locked), so it is handed over exactly once; messages not yet
sent are re-sent by the sweeper, each claimed once (by `send_messages` or the sweeper's `send_message`); and
a campaign whose pump stopped holding its lease is picked up by the campaign sweep
(`service.sweep_campaigns`).

A pump runs in slices of `SLICE_SECONDS` and re-queues itself, so deploys and worker restarts never wait on it.
Per tick it: reconciles in-flight recipients with their messages (accepted, failed, or throttled by Meta),
hands over what the window allows within the messaging tier, completes the campaign when nothing is left,
and publishes progress (throttled).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.campaigns import service
from wadesk.campaigns.limits import unique_user_limit
from wadesk.campaigns.models import Campaign, CampaignStatus, PauseCode, RecipientStatus
from wadesk.campaigns.parameters import Filled, RecipientData, fill
from wadesk.campaigns.repository import LEASE, CampaignRepository, Candidate, TierUsage, lease_expired
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.db.base import utcnow
from wadesk.db.session import unit_of_work
from wadesk.infra.runtime import Runtime
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.messages.repository import MessageRepository
from wadesk.messages.service import message_preview, message_text
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.templates.models import Template
from wadesk.tenants.models import Tenant
from wadesk.whatsapp.errors import ErrorCategory, explain

log = structlog.get_logger(__name__)

SEND_JOB = "send_messages"
SLICE_SECONDS = 20.0
TICK_SECONDS = 0.4
RENEW_EVERY_SECONDS = 5.0
# How much sending the pump keeps handed over ahead of the pacer: a second and a half's worth, at least
# MIN_WINDOW messages, at most MAX_WINDOW. Each message in flight waits for its slot and has its outcome
# recorded; in embedded mode they all wait at once, so a small window also keeps SQLite's writers few.
WINDOW_SECONDS = 1.5
MIN_WINDOW = 10
MAX_WINDOW = 200
MATERIALISE_BATCH = 1000
BUDGET_REFRESH_SECONDS = 10.0
# Throughput errors (130429) and Meta-side trouble: a recipient is tried this many times before it fails.
MAX_ATTEMPTS = 3
# Meta's 130429 halves the pump's speed; it comes back by this fraction of the number's rate per second.
SLOW_DOWN_FACTOR = 0.5
RECOVERY_PER_SECOND = 0.02
# Template errors that stop the whole campaign rather than fail one recipient.
_TEMPLATE_STOPPED = {132015: "paused", 132016: "disabled", 132001: "missing"}


@dataclass(frozen=True, slots=True)
class HandOver:
    handed: int
    queue_empty: bool = False
    tier_blocked: bool = False
    new_users: int = 0


@dataclass(frozen=True, slots=True)
class Tick:
    """What one tick decided: an outcome that ends the slice (or None), and whether to sleep before the next."""

    outcome: str | None = None
    sleep: bool = True


class CampaignPump:
    def __init__(self, runtime: Runtime, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> None:
        self.runtime = runtime
        self.tenant_id = tenant_id
        self.campaign_id = campaign_id
        self.owner = uuid.uuid4().hex
        self.rate_factor = 1.0
        self.tokens: float | None = None
        self.last_refill = time.monotonic()
        self.usage: TierUsage | None = None
        self.usage_read_at = 0.0
        self.new_users_since_read = 0
        self.quota_left: int | None = None
        self.quota_read_at = 0.0
        self.handed_since_quota = 0

    # --- the slice ----------------------------------------------------------------------------------------------

    async def run_slice(self, seconds: float = SLICE_SECONDS) -> str:
        """Pump for up to `seconds`, then hand over to a fresh job if there is more to do."""
        if not await self._acquire():
            return "busy"
        outcome = "stopped"
        try:
            outcome = await self._run(time.monotonic() + seconds)
        finally:
            await self._release()
        if outcome == "continue" or (outcome == "stopped" and await self._is_running()):
            await self.runtime.jobs.send_now(
                service.PUMP_JOB, campaign_id=str(self.campaign_id), tenant_id=str(self.tenant_id)
            )
        return outcome

    async def _run(self, deadline: float) -> str:
        renew_at = time.monotonic() + RENEW_EVERY_SECONDS
        while True:
            if time.monotonic() >= renew_at:
                if not await self._renew():
                    return "lost"
                renew_at = time.monotonic() + RENEW_EVERY_SECONDS
            tick = await self._tick()
            if tick.outcome is not None:
                return tick.outcome
            if time.monotonic() >= deadline:
                return "continue" if await self._is_running() else "stopped"
            if tick.sleep:
                await asyncio.sleep(TICK_SECONDS)

    # --- lease --------------------------------------------------------------------------------------------------

    async def _acquire(self) -> bool:
        now = utcnow()
        async with unit_of_work(self.runtime.sessionmaker, self.tenant_id) as session:
            result = await session.execute(
                update(Campaign)
                .where(
                    Campaign.id == self.campaign_id,
                    Campaign.status == CampaignStatus.RUNNING,
                    lease_expired(now) | (Campaign.pump_owner == self.owner),
                )
                .values(pump_owner=self.owner, pump_lease_until=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _renew(self) -> bool:
        now = utcnow()
        async with unit_of_work(self.runtime.sessionmaker, self.tenant_id) as session:
            result = await session.execute(
                update(Campaign)
                .where(Campaign.id == self.campaign_id, Campaign.pump_owner == self.owner)
                .values(pump_lease_until=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _release(self) -> None:
        async with unit_of_work(self.runtime.sessionmaker, self.tenant_id) as session:
            await session.execute(
                update(Campaign)
                .where(Campaign.id == self.campaign_id, Campaign.pump_owner == self.owner)
                .values(pump_owner=None, pump_lease_until=None)
                .execution_options(synchronize_session=False)
            )

    async def _is_running(self) -> bool:
        async with unit_of_work(self.runtime.sessionmaker, self.tenant_id) as session:
            campaign = await session.get(Campaign, self.campaign_id)
            return campaign is not None and campaign.status == CampaignStatus.RUNNING

    # --- one tick: one transaction -------------------------------------------------------------------------

    async def _tick(self) -> Tick:
        async with unit_of_work(self.runtime.sessionmaker, self.tenant_id) as session:
            repo = CampaignRepository(session)
            # Locked for the tick, so an admin's pause or cancel never crosses a hand-over.
            campaign = await repo.get_for_update(self.campaign_id)
            if campaign is None:
                return Tick("missing")
            number = await session.get(PhoneNumber, campaign.phone_number_id)
            template = await session.get(Template, campaign.template_id)
            if number is None or template is None:
                return Tick("missing")
            if campaign.status != CampaignStatus.RUNNING:
                # Paused or cancelled: hand nothing over, but follow what is in flight to its outcome.
                inflight = await self._reconcile(session, campaign, number, template)
                return Tick("stopped" if inflight == 0 else None)
            if not campaign.audience_ready:
                await self._materialise(repo, campaign)
                return Tick(sleep=False)
            if problem := await service.readiness_problem(session, campaign):
                code, reason = problem
                await service.pause_by_system(session, campaign, reason, code)
                return Tick()
            inflight = await self._reconcile(session, campaign, number, template)
            outcome = None
            if campaign.status == CampaignStatus.RUNNING:
                outcome = await self._feed(session, campaign, number, template, inflight)
        service.progress(self.runtime).notify(self.tenant_id, self.campaign_id)
        return Tick(outcome)

    async def _materialise(self, repo: CampaignRepository, campaign: Campaign) -> None:
        """Write the next batch of the contacts audience as recipients (a CSV audience is already written:
        only its blocked and opted-out contacts are marked skipped)."""
        done = True
        if campaign.audience.get("source") == "csv":
            await repo.skip_unreachable(campaign.id)
        else:
            after = uuid.UUID(campaign.audience_cursor) if campaign.audience_cursor else None
            read, last = await repo.materialise_contacts(
                campaign, campaign.audience, after=after, batch=MATERIALISE_BATCH
            )
            campaign.audience_cursor = str(last) if last else None
            done = read < MATERIALISE_BATCH
        if done:
            campaign.audience_ready = True
            campaign.audience_total = await repo.total(campaign.id)
            log.info("campaign_audience_ready", campaign_id=str(campaign.id), total=campaign.audience_total)

    async def _reconcile(
        self, session: AsyncSession, campaign: Campaign, number: PhoneNumber, template: Template
    ) -> int:
        """Recipients whose message left the queue take its outcome; returns how many are still in flight.

        A throughput error (130429) slows the pump down and queues the recipient again; Meta-side trouble is
        retried a few times; a paused template or a rejected token pauses the campaign and queues the
        recipient again; any other failure is the recipient's."""
        repo = CampaignRepository(session)
        pause: tuple[str, PauseCode] | None = None
        throttled = False
        updates: list[dict[str, Any]] = []
        now = utcnow()
        for outcome in sorted(await repo.inflight_outcomes(campaign.id), key=lambda o: o.recipient_id):
            values: dict[str, Any] = {
                "rid": outcome.recipient_id,
                "status": service.recipient_status_for(outcome.status) or RecipientStatus.SENDING,
                "error_code": None,
                "error_title": None,
                "sent_at": outcome.sent_at,
                "delivered_at": outcome.delivered_at,
                "read_at": outcome.read_at,
                "failed_at": None,
                "skip_reason": None,
                "updated_at": now,
            }
            if outcome.status == MessageStatus.FAILED:
                entry = explain(outcome.error_code)
                again = False
                if entry.category == ErrorCategory.RATE_LIMITED:
                    throttled = True
                    again = outcome.attempts < MAX_ATTEMPTS
                elif entry.category == ErrorCategory.TRANSIENT:
                    again = outcome.attempts < MAX_ATTEMPTS
                elif outcome.error_code in _TEMPLATE_STOPPED:
                    state = _TEMPLATE_STOPPED[outcome.error_code]
                    pause = (
                        f"Meta refused template '{template.name}': it is {state}",
                        PauseCode.TEMPLATE_NOT_APPROVED,
                    )
                    again = True
                elif entry.category in (ErrorCategory.AUTH, ErrorCategory.ACCOUNT):
                    pause = (
                        f"Meta refused the number: {entry.title} ({outcome.error_code})",
                        PauseCode.PHONE_NUMBER_REFUSED,
                    )
                    again = True
                if again and campaign.status == CampaignStatus.CANCELLED:
                    values.update(status=RecipientStatus.SKIPPED, skip_reason="campaign_cancelled")
                elif again:
                    values.update(
                        status=RecipientStatus.QUEUED, sent_at=None, delivered_at=None, read_at=None
                    )
                else:
                    values.update(
                        error_code=outcome.error_code,
                        error_title=(outcome.error_title or entry.title)[:255],
                        failed_at=outcome.failed_at or now,
                    )
            updates.append(values)
        await repo.update_recipients(updates, only_if=RecipientStatus.SENDING)
        if throttled:
            self.rate_factor = max(
                self.rate_factor * SLOW_DOWN_FACTOR, 1.0 / max(number.messages_per_second, 1)
            )
            log.info("campaign_slowed_down", campaign_id=str(campaign.id), factor=round(self.rate_factor, 3))
        if pause is not None:
            await service.pause_by_system(session, campaign, *pause)
        return await repo.count_status(campaign.id, RecipientStatus.SENDING)

    async def _feed(
        self,
        session: AsyncSession,
        campaign: Campaign,
        number: PhoneNumber,
        template: Template,
        inflight: int,
    ) -> str | None:
        """Hand over what the window and the tier allow; 'completed' or 'waiting' when the campaign is done
        or must hold back, else None."""
        rate = max(number.messages_per_second, 1)
        now_m = time.monotonic()
        elapsed = now_m - self.last_refill
        self.last_refill = now_m
        self.rate_factor = min(1.0, self.rate_factor + RECOVERY_PER_SECOND * elapsed)
        speed = rate * self.rate_factor
        burst = min(float(MAX_WINDOW), max(float(MIN_WINDOW), speed * WINDOW_SECONDS))
        # The first tick hands over one tick's worth, not the whole window: no burst of claims at the start.
        self.tokens = (
            speed * TICK_SECONDS if self.tokens is None else min(burst, self.tokens + speed * elapsed)
        )
        window = min(MAX_WINDOW, max(MIN_WINDOW, int(rate * WINDOW_SECONDS)))
        allowance = min(window - inflight, int(self.tokens))
        if allowance <= 0:
            return None
        quota_left = await self._monthly_quota_left(session)
        if quota_left is not None and quota_left <= 0:
            await service.pause_by_system(
                session,
                campaign,
                "This month's outbound message quota is used up",
                PauseCode.MONTHLY_QUOTA_USED,
            )
            return None
        if quota_left is not None:
            allowance = min(allowance, quota_left)
        if session.get_bind().dialect.name == "postgresql":
            # Campaigns of one number share its messaging tier: count and claim one campaign at a time.
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(number.id)})
        new_users_left = await self._new_users_left(session, number)
        result = await self._hand_over(session, campaign, number, template, allowance, new_users_left)
        self.tokens -= result.handed
        self.new_users_since_read += result.new_users
        self.handed_since_quota += result.handed
        if result.handed:
            return None
        if result.queue_empty:
            return self._complete(session, campaign, inflight)
        if result.tier_blocked and inflight == 0:
            return await self._wait_for_tier(session, campaign, number)
        return None

    async def _new_users_left(self, session: AsyncSession, number: PhoneNumber) -> int | None:
        limit = unique_user_limit(number.messaging_limit_tier)
        if limit is None:
            return None
        age = time.monotonic() - self.usage_read_at
        left = limit - (self.usage.users if self.usage else 0) - self.new_users_since_read
        # Read the truth again every few seconds, and before concluding the tier is used up.
        if self.usage is None or age >= BUDGET_REFRESH_SECONDS or (left <= 0 and age >= 1.0):
            self.usage = await CampaignRepository(session).tier_usage(number.id, utcnow())
            self.usage_read_at = time.monotonic()
            self.new_users_since_read = 0
            left = limit - self.usage.users
        return left

    async def _monthly_quota_left(self, session: AsyncSession) -> int | None:
        if self.quota_left is None or time.monotonic() - self.quota_read_at >= BUDGET_REFRESH_SECONDS:
            tenant = await session.get(Tenant, self.tenant_id)
            if tenant is None:
                return None
            now = utcnow()
            month_start = datetime(now.year, now.month, 1, tzinfo=now.tzinfo)
            used = await MessageRepository(session).outbound_count_since(month_start)
            self.quota_left = tenant.monthly_message_quota - used
            self.quota_read_at = time.monotonic()
            self.handed_since_quota = 0
        return self.quota_left - self.handed_since_quota

    async def _hand_over(
        self,
        session: AsyncSession,
        campaign: Campaign,
        number: PhoneNumber,
        template: Template,
        allowance: int,
        new_users_left: int | None,
    ) -> HandOver:
        """Claim up to `allowance` queued recipients (rows locked) and write their messages."""
        now = utcnow()
        repo = CampaignRepository(session)
        free_only = new_users_left is not None and new_users_left <= 0
        candidates = await repo.candidates(campaign, limit=allowance, free_only=free_only, now=now)
        if not candidates:
            empty = not await repo.has_status(campaign.id, RecipientStatus.QUEUED)
            return HandOver(0, queue_empty=empty, tier_blocked=free_only and not empty)
        sends: list[tuple[Candidate, Filled]] = []
        skips: list[dict[str, Any]] = []
        tier_blocked = False
        new_users = 0
        for candidate in candidates:
            contact = candidate.contact
            reason = "blocked" if contact.blocked else "opted_out" if contact.opted_out else None
            detail = None
            filled = None
            if reason is None:
                data = RecipientData.of(contact, candidate.recipient.parameters)
                filled = fill(template, campaign.parameter_mapping, data)
                if filled.problems:
                    reason, detail = "missing_parameter", "; ".join(filled.problems)[:255]
            if reason is not None or filled is None:
                skips.append(
                    {"rid": candidate.recipient.id, "status": RecipientStatus.SKIPPED, "skip_reason": reason,
                     "error_title": detail, "updated_at": now}
                )  # fmt: skip
                continue
            if candidate.uses_quota and new_users_left is not None:
                if new_users >= new_users_left:
                    tier_blocked = True
                    break
                new_users += 1
            sends.append((candidate, filled))
        await repo.update_recipients(skips, only_if=RecipientStatus.QUEUED)
        if not sends:
            return HandOver(0, tier_blocked=tier_blocked)
        conversations = await repo.active_conversations(number.id, [c.contact.id for c, _ in sends])
        messages: list[tuple[Conversation, dict[str, Any]]] = []
        claims: list[dict[str, Any]] = []
        for candidate, filled in sends:
            contact_id = candidate.contact.id
            content = {
                "name": template.name,
                "language": {"code": template.language},
                "components": filled.components,
                "rendered": filled.rendered,
                "category": template.category,
            }
            preview = message_preview("template", content)
            conversation = conversations.get(contact_id)
            if conversation is None:
                # A broadcast does not open a conversation in the inbox; the customer's reply does.
                conversation = Conversation(
                    tenant_id=self.tenant_id,
                    contact_id=contact_id,
                    phone_number_id=number.id,
                    status=ConversationStatus.RESOLVED,
                    last_message_at=now,
                    last_message_preview=preview,
                )
                session.add(conversation)
                conversations[contact_id] = conversation
            elif conversation.last_message_at <= now:
                conversation.last_message_at = now
                conversation.last_message_preview = preview
            message_id = uuid.uuid4()
            messages.append(
                (
                    conversation,
                    {
                        "id": message_id,
                        "tenant_id": self.tenant_id,
                        "phone_number_id": number.id,
                        "contact_id": contact_id,
                        "direction": Direction.OUTBOUND,
                        "type": "template",
                        "content": content,
                        "body_text": message_text("template", content),
                        "status": MessageStatus.QUEUED,
                        "created_at": now,
                        "campaign_recipient_id": candidate.recipient.id,
                    },
                )
            )
            claims.append(
                {"rid": candidate.recipient.id, "status": RecipientStatus.SENDING, "message_id": message_id,
                 "attempts": candidate.recipient.attempts + 1, "updated_at": now}
            )  # fmt: skip
        await session.flush()  # the new conversations get their ids
        rows = [{**values, "conversation_id": conversation.id} for conversation, values in messages]
        await session.execute(insert(Message), rows)
        await repo.update_recipients(claims, only_if=RecipientStatus.QUEUED)
        if campaign.waiting_reason is not None:
            campaign.waiting_reason = campaign.waiting_until = None
        self.runtime.jobs.enqueue_after_commit(
            session, SEND_JOB, message_ids=[str(row["id"]) for row in rows], tenant_id=str(self.tenant_id)
        )
        return HandOver(len(rows), tier_blocked=tier_blocked, new_users=new_users)

    def _complete(self, session: AsyncSession, campaign: Campaign, inflight: int) -> str | None:
        if inflight:
            return None  # the last messages are still on their way
        service.complete_by_system(session, campaign, utcnow())
        log.info("campaign_completed", campaign_id=str(campaign.id))
        return "completed"

    async def _wait_for_tier(
        self, session: AsyncSession, campaign: Campaign, number: PhoneNumber
    ) -> str | None:
        """Every recipient left would reach a new customer and the tier is used up: hold back until the
        oldest of those customers leaves the 24-hour window (the sweep wakes the campaign then)."""
        limit = unique_user_limit(number.messaging_limit_tier)
        usage = self.usage = await CampaignRepository(session).tier_usage(number.id, utcnow())
        self.usage_read_at, self.new_users_since_read = time.monotonic(), 0
        if limit is None or usage.users < limit:
            return None  # quota came free meanwhile
        until = usage.next_release_at or utcnow()
        campaign.waiting_until = until
        campaign.waiting_reason = service.tier_wait_reason(number.messaging_limit_tier, usage.users, until)
        log.info("campaign_waiting_for_tier", campaign_id=str(campaign.id), until=until.isoformat())
        return "waiting"


def _lock_key(number_id: uuid.UUID) -> int:
    return int.from_bytes(
        hashlib.sha256(f"campaign-tier:{number_id}".encode()).digest()[:8], "big", signed=True
    )
