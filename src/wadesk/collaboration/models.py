from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin, utcnow


class ConversationNote(IdMixin, TenantMixin, TimestampMixin, Base):
    """A private note in a conversation: visible to the team, never sent to WhatsApp."""

    __tablename__ = "conversation_notes"
    __table_args__ = (
        Index("ix_conversation_notes_thread", "tenant_id", "conversation_id", "created_at", "id"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)
    # Ids (as strings) of the users mentioned in the note.
    mentions: Mapped[list[Any]] = mapped_column(default=list)


class CannedResponse(IdMixin, TenantMixin, TimestampMixin, Base):
    """A saved reply an agent inserts by typing `/short_code` in the composer."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("tenant_id", "short_code", name="uq_canned_responses_short_code"),)

    short_code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class ConversationLabel(IdMixin, TenantMixin, Base):
    """One label on one conversation; `Conversation.labels` mirrors the set for display."""

    __tablename__ = "conversation_labels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "conversation_id", "label", name="uq_conversation_labels_label"),
        Index("ix_conversation_labels_label", "tenant_id", "label", "conversation_id"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    label: Mapped[str] = mapped_column(String(64))


class Label(IdMixin, TenantMixin, TimestampMixin, Base):
    """A label of the company's catalogue: the name conversations carry (`ConversationLabel.label`) and the
    colour it is shown in. Every label in use has one; setting an unknown label on a conversation adds it."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_labels_name"),)

    name: Mapped[str] = mapped_column(String(64))
    color: Mapped[str] = mapped_column(String(16), default="gray")


class ConversationParticipant(IdMixin, TenantMixin, Base):
    """A teammate following a conversation besides its assignee (added by hand or by a mention)."""

    __tablename__ = "conversation_participants"
    __table_args__ = (
        UniqueConstraint("tenant_id", "conversation_id", "user_id", name="uq_conversation_participants_user"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutoAssignmentState(IdMixin, TenantMixin, Base):
    """Where the tenant's round-robin stands: the user who got the last automatically assigned conversation.

    One row per tenant, locked while choosing the next agent, so concurrent new conversations never pick
    the same turn.
    """

    __tablename__ = "auto_assignment_state"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_auto_assignment_state_tenant"),)

    last_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
