from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, utcnow


class WebhookEventStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


class WebhookEvent(IdMixin, Base):
    """A verified delivery from Meta, stored raw before it is acknowledged.

    Not tenant-scoped at ingest: the tenant is known only once the payload is parsed (`tenant_id` is set then),
    or up front for a tenant's own webhook URL.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_status", "status", "received_at"),
        Index("ix_webhook_events_tenant", "tenant_id", "status", "received_at"),
    )

    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), default=None
    )
    raw_body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body_sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default=WebhookEventStatus.RECEIVED)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # What was recorded but not applied (unknown number, message or template): information, not failure.
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
