from __future__ import annotations

import uuid

from sqlalchemy import and_, delete, func, or_, select

from wadesk.collaboration.models import (
    CannedResponse,
    ConversationLabel,
    ConversationNote,
    ConversationParticipant,
)
from wadesk.conversations.repository import escape_like
from wadesk.kit.pagination import Cursor
from wadesk.kit.repository import Repository
from wadesk.users.models import User


class NoteRepository(Repository[ConversationNote]):
    model = ConversationNote
    not_found_message = "Note not found."

    async def list_page(
        self, conversation_id: uuid.UUID, *, limit: int, before: Cursor | None
    ) -> list[tuple[ConversationNote, User | None]]:
        """Newest first, with their authors, in one statement."""
        stmt = (
            select(ConversationNote, User)
            .outerjoin(User, User.id == ConversationNote.author_id)
            .where(ConversationNote.conversation_id == conversation_id)
        )
        if before is not None and before.at is not None:
            stmt = stmt.where(
                or_(
                    ConversationNote.created_at < before.at,
                    and_(ConversationNote.created_at == before.at, ConversationNote.id < before.id),
                )
            )
        stmt = stmt.order_by(ConversationNote.created_at.desc(), ConversationNote.id.desc()).limit(limit)
        return [(note, user) for note, user in (await self.session.execute(stmt)).all()]


class CannedResponseRepository(Repository[CannedResponse]):
    model = CannedResponse
    not_found_message = "Canned response not found."

    async def search(self, term: str | None, limit: int) -> list[CannedResponse]:
        stmt = select(CannedResponse)
        if term:
            cleaned = term.strip().lstrip("/").lower()
            pattern = f"%{escape_like(cleaned)}%"
            stmt = stmt.where(
                or_(
                    CannedResponse.short_code.like(f"{escape_like(cleaned)}%", escape="\\"),
                    func.lower(CannedResponse.title).like(pattern, escape="\\"),
                    func.lower(CannedResponse.body).like(pattern, escape="\\"),
                )
            )
        stmt = stmt.order_by(CannedResponse.short_code).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def by_code(self, short_code: str) -> CannedResponse | None:
        stmt = select(CannedResponse).where(CannedResponse.short_code == short_code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_codes(self, short_codes: set[str]) -> dict[str, CannedResponse]:
        if not short_codes:
            return {}
        stmt = select(CannedResponse).where(CannedResponse.short_code.in_(sorted(short_codes)))
        return {c.short_code: c for c in (await self.session.execute(stmt)).scalars()}


class LabelRepository(Repository[ConversationLabel]):
    model = ConversationLabel

    async def of_conversation(self, conversation_id: uuid.UUID) -> list[str]:
        stmt = select(ConversationLabel.label).where(ConversationLabel.conversation_id == conversation_id)
        return [str(label) for label in (await self.session.execute(stmt)).scalars()]

    async def replace(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, labels: list[str]) -> None:
        current = set(await self.of_conversation(conversation_id))
        removed = current - set(labels)
        if removed:
            await self.session.execute(
                delete(ConversationLabel).where(
                    ConversationLabel.conversation_id == conversation_id, ConversationLabel.label.in_(removed)
                )
            )
        for label in labels:
            if label not in current:
                self.session.add(
                    ConversationLabel(tenant_id=tenant_id, conversation_id=conversation_id, label=label)
                )

    async def counts(self) -> list[tuple[str, int]]:
        stmt = (
            select(ConversationLabel.label, func.count())
            .group_by(ConversationLabel.label)
            .order_by(func.count().desc(), ConversationLabel.label)
            .limit(500)
        )
        return [(str(label), int(count)) for label, count in (await self.session.execute(stmt)).all()]


class ParticipantRepository(Repository[ConversationParticipant]):
    model = ConversationParticipant

    async def of_conversation(self, conversation_id: uuid.UUID) -> list[tuple[ConversationParticipant, User]]:
        stmt = (
            select(ConversationParticipant, User)
            .join(User, User.id == ConversationParticipant.user_id)
            .where(ConversationParticipant.conversation_id == conversation_id)
            .order_by(ConversationParticipant.created_at, ConversationParticipant.id)
        )
        return [(p, u) for p, u in (await self.session.execute(stmt)).all()]

    async def find(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> ConversationParticipant | None:
        stmt = select(ConversationParticipant).where(
            ConversationParticipant.conversation_id == conversation_id,
            ConversationParticipant.user_id == user_id,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
