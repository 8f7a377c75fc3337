from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_, update

from wadesk.kit.pagination import Cursor
from wadesk.kit.repository import Repository
from wadesk.messages.models import Direction, Message, MessageStatus


@dataclass(frozen=True, slots=True)
class MessageFilters:
    conversation_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    direction: Direction | None = None
    status: MessageStatus | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class MessageRepository(Repository[Message]):
    model = Message
    not_found_message = "Message not found."

    async def list_page(self, filters: MessageFilters, *, limit: int, before: Cursor | None) -> list[Message]:
        """Newest first; the cursor continues with older messages."""
        stmt = select(Message)
        if filters.conversation_id is not None:
            stmt = stmt.where(Message.conversation_id == filters.conversation_id)
        if filters.contact_id is not None:
            stmt = stmt.where(Message.contact_id == filters.contact_id)
        if filters.direction is not None:
            stmt = stmt.where(Message.direction == filters.direction)
        if filters.status is not None:
            stmt = stmt.where(Message.status == filters.status)
        if filters.type is not None:
            stmt = stmt.where(Message.type == filters.type)
        if filters.since is not None:
            stmt = stmt.where(Message.created_at >= filters.since)
        if filters.until is not None:
            stmt = stmt.where(Message.created_at < filters.until)
        if before is not None and before.at is not None:
            # One index range (ix_messages_thread) instead of an OR that scans the newer messages first.
            stmt = stmt.where(tuple_(Message.created_at, Message.id) < (before.at, before.id))
        stmt = stmt.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def by_wamid(self, phone_number_id: uuid.UUID, wamid: str) -> Message | None:
        stmt = select(Message).where(Message.phone_number_id == phone_number_id, Message.wamid == wamid)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock_idempotency_key(self, tenant_id: uuid.UUID, key: str) -> None:
        """Hold back other requests with the same key until this transaction ends, so that a concurrent retry
        finds the first request's message instead of inserting a second one. PostgreSQL only: SQLite
        transactions are serialised already."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        digest = hashlib.sha256(f"idempotency:{tenant_id}:{key}".encode()).digest()
        await self.session.execute(
            select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True)))
        )

    async def by_idempotency_key(self, key: str) -> Message | None:
        return (
            await self.session.execute(select(Message).where(Message.idempotency_key == key))
        ).scalar_one_or_none()

    async def outbound_count_since(self, since: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(Message)
            .where(Message.direction == Direction.OUTBOUND, Message.created_at >= since)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def mark_inbound_read_up_to(
        self, conversation_id: uuid.UUID, until: datetime, at: datetime
    ) -> None:
        await self.session.execute(
            update(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == Direction.INBOUND,
                Message.status == MessageStatus.RECEIVED,
                Message.created_at <= until,
            )
            .values(status=MessageStatus.READ, read_at=at)
            .execution_options(synchronize_session=False)
        )

    async def unread_inbound_count(self, conversation_id: uuid.UUID) -> int:
        stmt = (
            select(func.count())
            .select_from(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == Direction.INBOUND,
                Message.status == MessageStatus.RECEIVED,
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())
