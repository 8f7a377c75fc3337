from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


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
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class CampaignRecipient(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_recipients_pump", "campaign_id", "status", "id"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contacts.id", ondelete="CASCADE"))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    error_code: Mapped[int | None] = mapped_column(default=None)
    error_title: Mapped[str | None] = mapped_column(String(255), default=None)
    skip_reason: Mapped[str | None] = mapped_column(String(255), default=None)
