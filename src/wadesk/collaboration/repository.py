from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import and_, delete, func, or_, select, update

from wadesk.collaboration.models import (
    CannedResponse,
    ConversationLabel,
    ConversationNote,
    ConversationParticipant,
    Label,
)
from wadesk.conversations.models import Conversation
from wadesk.conversations.repository import escape_like
from wadesk.db.base import utcnow
from wadesk.db.upsert import insert_if_absent
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


class LabelCatalogRepository(Repository[Label]):
    model = Label
    not_found_message = "Label not found."

    async def with_counts(self) -> list[tuple[Label, int]]:
        """Every label of the catalogue with how many conversations carry it, most used first; one statement."""
        stmt = (
            select(Label, func.count(ConversationLabel.id))
            .outerjoin(
                ConversationLabel,
                and_(ConversationLabel.tenant_id == Label.tenant_id, ConversationLabel.label == Label.name),
            )
            .group_by(Label.id)
            .order_by(func.count(ConversationLabel.id).desc(), Label.name)
            .limit(1000)
        )
        return [(label, int(count)) for label, count in (await self.session.execute(stmt)).all()]

    async def by_name(self, name: str) -> Label | None:
        stmt = select(Label).where(Label.name == name)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_missing(
        self, tenant_id: uuid.UUID, names: list[str], color_of: Callable[[str], str]
    ) -> list[str]:
        """Add catalogue entries for the names that have none (safe against a concurrent add); returns the
        names added."""
        if not names:
            return []
        known = set((await self.session.execute(select(Label.name).where(Label.name.in_(names)))).scalars())
        added = []
        for name in names:
            if name in known:
                continue
            values = {"tenant_id": tenant_id, "name": name, "color": color_of(name), "created_at": utcnow(),
                      "updated_at": utcnow()}  # fmt: skip
            if await insert_if_absent(self.session, Label, values, ("tenant_id", "name")) is not None:
                added.append(name)
        return added

    async def conversations_with(self, name: str) -> list[uuid.UUID]:
        stmt = select(ConversationLabel.conversation_id).where(ConversationLabel.label == name)
        return list((await self.session.execute(stmt)).scalars())

    async def rename_on_conversations(self, old: str, new: str) -> None:
        """Rename a label on every conversation; one that already has the new name just loses the old one."""
        having_new = select(ConversationLabel.conversation_id).where(ConversationLabel.label == new)
        await self.session.execute(
            delete(ConversationLabel).where(
                ConversationLabel.label == old, ConversationLabel.conversation_id.in_(having_new)
            )
        )
        await self.session.execute(
            update(ConversationLabel).where(ConversationLabel.label == old).values(label=new)
        )

    async def remove_from_conversations(self, name: str) -> None:
        await self.session.execute(delete(ConversationLabel).where(ConversationLabel.label == name))

    async def rewrite_conversation_labels(
        self, conversation_ids: list[uuid.UUID], change: Callable[[list[str]], list[str]]
    ) -> None:
        """Apply `change` to the label list each conversation shows (the mirror of its label rows)."""
        for start in range(0, len(conversation_ids), 500):
            batch = conversation_ids[start : start + 500]
            stmt = select(Conversation).where(Conversation.id.in_(batch))
            for conversation in (await self.session.execute(stmt)).scalars():
                conversation.labels = change([str(name) for name in conversation.labels or []])
            await self.session.flush()


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
