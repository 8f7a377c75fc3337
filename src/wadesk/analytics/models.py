"""The history analytics needs and no other table keeps: every change of a conversation's status.

A conversation row only holds its current status and last `resolved_at`, so a conversation resolved, reopened
and resolved again would lose its first resolution. Each change of `Conversation.status` on a stored
conversation is recorded here by an ORM attribute listener, wherever in the code the change is made (an agent
resolving it, a customer writing to a resolved conversation, an agent sending to it), in the same transaction.
Bulk `UPDATE` statements bypass attribute events; the code changes conversation status through the ORM.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, object_session

from wadesk.conversations.models import Conversation
from wadesk.db.base import Base, IdMixin, TenantMixin, utcnow


class ConversationStatusChange(IdMixin, TenantMixin, Base):
    __tablename__ = "conversation_status_changes"
    __table_args__ = (
        Index("ix_conversation_status_changes_conversation", "tenant_id", "conversation_id", "changed_at"),
        Index("ix_conversation_status_changes_changed", "tenant_id", "changed_at"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(Conversation.status, "set")
def _record_status_change(target: Conversation, value: Any, oldvalue: Any, _initiator: Any) -> None:
    state = inspect(target)
    # A conversation being created has no previous status; only changes of stored ones are history.
    if not state.persistent or not isinstance(oldvalue, str) or oldvalue == value:
        return
    session = object_session(target)
    if session is None:
        return
    session.add(
        ConversationStatusChange(
            tenant_id=target.tenant_id,
            conversation_id=target.id,
            from_status=oldvalue,
            to_status=str(value),
            changed_at=utcnow(),
        )
    )
