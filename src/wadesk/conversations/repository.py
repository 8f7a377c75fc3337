from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select, tuple_

from wadesk.collaboration.models import ConversationLabel
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.kit.pagination import Cursor
from wadesk.kit.repository import Repository
from wadesk.messages.models import Message
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.users.models import User

ACTIVE_STATUSES = (ConversationStatus.OPEN, ConversationStatus.PENDING)


@dataclass(frozen=True, slots=True)
class ConversationFilters:
    status: ConversationStatus | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    search: str | None = None
    phone_number_id: uuid.UUID | None = None
    has_unread: bool = False
    contact_id: uuid.UUID | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationRow:
    conversation: Conversation
    contact: Contact
    phone_number: PhoneNumber
    assignee: User | None


class ConversationRepository(Repository[Conversation]):
    model = Conversation
    not_found_message = "Conversation not found."

    def _joined(self) -> Select[Conversation, Contact, PhoneNumber, User]:
        return (
            select(Conversation, Contact, PhoneNumber, User)
            .join(Contact, Contact.id == Conversation.contact_id)
            .join(PhoneNumber, PhoneNumber.id == Conversation.phone_number_id)
            .outerjoin(User, User.id == Conversation.assignee_id)
        )

    async def list_page(
        self, filters: ConversationFilters, *, limit: int, after: Cursor | None
    ) -> list[ConversationRow]:
        """One statement whatever the page size: the conversations with contact, number and assignee."""
        stmt = self._joined()
        if filters.status is not None:
            stmt = stmt.where(Conversation.status == filters.status)
        if filters.assignee_id is not None:
            stmt = stmt.where(Conversation.assignee_id == filters.assignee_id)
        if filters.unassigned:
            stmt = stmt.where(Conversation.assignee_id.is_(None))
        if filters.phone_number_id is not None:
            stmt = stmt.where(Conversation.phone_number_id == filters.phone_number_id)
        if filters.has_unread:
            stmt = stmt.where(Conversation.unread_count > 0)
        if filters.contact_id is not None:
            stmt = stmt.where(Conversation.contact_id == filters.contact_id)
        if filters.label:
            stmt = stmt.where(
                exists(
                    select(ConversationLabel.id).where(
                        ConversationLabel.conversation_id == Conversation.id,
                        ConversationLabel.label == filters.label,
                    )
                )
            )
        if filters.search:
            pattern = f"%{escape_like(filters.search.strip().lower())}%"
            digits = "".join(ch for ch in filters.search if ch.isdigit())
            matches = [
                func.lower(Contact.name).like(pattern, escape="\\"),
                func.lower(Contact.profile_name).like(pattern, escape="\\"),
                func.lower(Conversation.last_message_preview).like(pattern, escape="\\"),
                exists(
                    select(Message.id).where(
                        Message.conversation_id == Conversation.id,
                        func.lower(Message.body_text).like(pattern, escape="\\"),
                    )
                ),
            ]
            if digits:
                matches.append(Contact.wa_id.like(f"%{digits}%"))
            stmt = stmt.where(or_(*matches))
        if after is not None and after.at is not None:
            # A row-value comparison is one index range (ix_conversations_recent); the equivalent OR would make
            # PostgreSQL walk and discard every row of the pages before (page 1,000: 25,000 rows).
            stmt = stmt.where(tuple_(Conversation.last_message_at, Conversation.id) < (after.at, after.id))
        stmt = stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit)
        rows = (await self.session.execute(stmt)).all()
        return [ConversationRow(c, contact, number, user) for c, contact, number, user in rows]

    async def get_row(self, conversation_id: uuid.UUID) -> ConversationRow | None:
        row = (
            await self.session.execute(self._joined().where(Conversation.id == conversation_id))
        ).one_or_none()
        if row is None:
            return None
        conversation, contact, number, assignee = row
        return ConversationRow(conversation, contact, number, assignee)

    async def get_rows(self, conversation_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ConversationRow]:
        """Several conversations with their contact, number and assignee, in one statement."""
        stmt = self._joined().where(Conversation.id.in_(conversation_ids))
        rows = (await self.session.execute(stmt)).all()
        return {c.id: ConversationRow(c, contact, number, assignee) for c, contact, number, assignee in rows}

    async def find_active(self, contact_id: uuid.UUID, phone_number_id: uuid.UUID) -> Conversation | None:
        """The newest conversation of this contact on this number that is not archived."""
        stmt = (
            select(Conversation)
            .where(
                Conversation.contact_id == contact_id,
                Conversation.phone_number_id == phone_number_id,
                Conversation.status != ConversationStatus.ARCHIVED,
            )
            .order_by(Conversation.created_at.desc(), Conversation.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def stats(self, user_id: uuid.UUID) -> dict[str, int]:
        """Counts by status, unassigned, mine and unread in one statement."""

        def count_where(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
            return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)

        active = Conversation.status.in_(ACTIVE_STATUSES)
        not_archived = Conversation.status != ConversationStatus.ARCHIVED
        stmt = select(
            *(count_where(Conversation.status == s).label(s.value) for s in ConversationStatus),
            func.count().label("total"),
            count_where(active, Conversation.assignee_id.is_(None)).label("unassigned"),
            count_where(active, Conversation.assignee_id == user_id).label("mine"),
            count_where(not_archived, Conversation.unread_count > 0).label("unread"),
        ).select_from(Conversation)
        row = (await self.session.execute(stmt)).one()
        return {key: int(value or 0) for key, value in row._mapping.items()}


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
