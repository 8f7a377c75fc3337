from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin, utcnow


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    ARCHIVED = "archived"


class Conversation(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_inbox", "tenant_id", "status", "last_message_at", "id"),
        # The unfiltered inbox, newest first (read backwards); without it every page sorts all conversations.
        Index("ix_conversations_recent", "tenant_id", "last_message_at", "id"),
        Index("ix_conversations_assignee", "tenant_id", "assignee_id", "last_message_at"),
        Index("ix_conversations_contact", "tenant_id", "contact_id", "phone_number_id"),
    )

    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contacts.id", ondelete="CASCADE"))
    phone_number_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("phone_numbers.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(20), default=ConversationStatus.OPEN)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    unread_count: Mapped[int] = mapped_column(default=0)
    # Never null (creation time until the first message) so keyset pagination has a total order.
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_preview: Mapped[str | None] = mapped_column(String(280), default=None)
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    customer_window_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    labels: Mapped[list[Any]] = mapped_column(default=list)
