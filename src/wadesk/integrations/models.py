from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERING = "delivering"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class OutboundWebhook(IdMixin, TenantMixin, TimestampMixin, Base):
    """A tenant's subscription: events of the listed types are POSTed, signed, to `url`."""

    __tablename__ = "outbound_webhooks"

    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # The signing secret, encrypted (it must be recoverable to sign; it is shown to the tenant only once).
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class OutboundDelivery(IdMixin, TenantMixin, Base):
    """One event for one subscription, with its exact body, retried until delivered or 24 hours old."""

    __tablename__ = "outbound_deliveries"
    __table_args__ = (
        Index("ix_outbound_deliveries_due", "status", "next_attempt_at"),
        Index("ix_outbound_deliveries_webhook", "tenant_id", "webhook_id", "created_at", "id"),
    )

    webhook_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("outbound_webhooks.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(60))
    # The JSON body exactly as signed and sent; a replay sends these same bytes.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    replay_of_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboundAttempt(IdMixin, TenantMixin, Base):
    """One HTTP attempt of a delivery: when, the answer's status, how long it took, what it said."""

    __tablename__ = "outbound_attempts"
    __table_args__ = (Index("ix_outbound_attempts_delivery", "delivery_id", "number"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("outbound_deliveries.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    response_snippet: Mapped[str | None] = mapped_column(String(1000), default=None)
