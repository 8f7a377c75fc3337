from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin, utcnow


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    RECEIVED = "received"


class Message(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("phone_number_id", "wamid", name="uq_messages_phone_number_wamid"),
        Index("ix_messages_thread", "conversation_id", "created_at", "id"),
        Index("ix_messages_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_messages_outbox", "status", "updated_at"),
        Index("uq_messages_idempotency", "tenant_id", "idempotency_key", unique=True),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    phone_number_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("phone_numbers.id", ondelete="CASCADE")
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(10))
    type: Mapped[str] = mapped_column(String(30))
    # Meta's object for the type (e.g. {"body": ...} for text), as sent or received.
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Searchable plain text (text body, caption, button title, ...).
    body_text: Mapped[str | None] = mapped_column(Text, default=None)
    # Reactions on this message: [{"from": "customer" | user id, "emoji": ...}].
    reactions: Mapped[list[Any]] = mapped_column(default=list)
    wamid: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(default=None)
    error_title: Mapped[str | None] = mapped_column(String(255), default=None)
    error_details: Mapped[str | None] = mapped_column(Text, default=None)
    # Meta's timestamp for inbound messages; the creation time for outbound ones. Orders the thread.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta_timestamp: Mapped[datetime | None] = mapped_column(default=None)
    sender_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    reply_to_message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    reply_to_wamid: Mapped[str | None] = mapped_column(String(255), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Meta's pricing of this message from its status webhooks (billable, category, pricing_model).
    pricing: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    campaign_recipient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
