from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class PauseCode(StrEnum):
    """Why a campaign is paused. The readiness codes (phone_number_disabled, …) are the ones a start
    refused for the same reason answers with."""

    BY_USER = "paused_by_user"
    PHONE_NUMBER_DISABLED = "phone_number_disabled"
    PHONE_NUMBER_NEEDS_CREDENTIALS = "phone_number_needs_credentials"
    TEMPLATE_NOT_APPROVED = "template_not_approved"
    PARAMETER_MAPPING_INVALID = "parameter_mapping_invalid"
    PHONE_NUMBER_REFUSED = "phone_number_refused"
    PHONE_NUMBER_QUALITY_DROPPED = "phone_number_quality_dropped"
    MONTHLY_QUOTA_USED = "monthly_quota_used"


class RecipientStatus(StrEnum):
    """Where one recipient is. `sending` = handed to the sender (a queued message row exists)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    REPLIED = "replied"
    FAILED = "failed"
    SKIPPED = "skipped"


class Campaign(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "campaigns"

    name: Mapped[str] = mapped_column(String(200))
    phone_number_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("phone_numbers.id", ondelete="CASCADE")
    )
    template_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("templates.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.DRAFT)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parameter_mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    # The IANA zone the schedule was given in, kept to show it back the way it was entered.
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    # The same as a code (PauseCode), for clients to act on.
    paused_code: Mapped[str | None] = mapped_column(String(40), default=None)
    # Running but holding back (messaging limit reached), until when, and why.
    waiting_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    waiting_until: Mapped[datetime | None] = mapped_column(default=None)
    # A customer message within this many hours of the campaign message marks the recipient `replied`.
    reply_window_hours: Mapped[int] = mapped_column(default=24, server_default="24")
    # Materialisation of a contacts audience: done yet, the last contact id written, and how many.
    audience_ready: Mapped[bool] = mapped_column(default=False, server_default=false())
    audience_cursor: Mapped[str | None] = mapped_column(String(64), default=None)
    audience_total: Mapped[int] = mapped_column(default=0, server_default="0")
    # The pump's lease: one pump per campaign; an expired lease means its worker died.
    pump_owner: Mapped[str | None] = mapped_column(String(32), default=None)
    pump_lease_until: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class CampaignRecipient(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_recipients_pump", "campaign_id", "status", "id"),
        Index("ix_campaign_recipients_contact", "tenant_id", "contact_id"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contacts.id", ondelete="CASCADE"))
    # The recipient's CSV row (column -> value) for CSV audiences; empty for contact audiences.
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The CSV line the recipient came from (its number's first row); None for contact audiences.
    csv_line: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(20), default=RecipientStatus.QUEUED)
    # The latest attempt's message (a retry makes a new one).
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error_code: Mapped[int | None] = mapped_column(default=None)
    error_title: Mapped[str | None] = mapped_column(String(255), default=None)
    skip_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    replied_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
