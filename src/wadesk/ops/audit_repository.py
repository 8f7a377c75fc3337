from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from wadesk.kit.pagination import Cursor
from wadesk.kit.repository import Repository
from wadesk.ops.models import AuditEntry
from wadesk.users.models import User


@dataclass(frozen=True, slots=True)
class AuditFilters:
    action: str | None = None
    actor_id: uuid.UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditRepository(Repository[AuditEntry]):
    """Reads only: the audit log is append-only (entries are written by `ops.service.record_audit`)."""

    model = AuditEntry

    async def list_page(
        self, filters: AuditFilters, *, limit: int, before: Cursor | None
    ) -> list[tuple[AuditEntry, User | None]]:
        stmt = select(AuditEntry, User).outerjoin(User, User.id == AuditEntry.actor_user_id)
        if filters.action:
            # "auth." matches every auth action; a full name matches that action only.
            if filters.action.endswith("."):
                stmt = stmt.where(AuditEntry.action.startswith(filters.action, autoescape=True))
            else:
                stmt = stmt.where(AuditEntry.action == filters.action)
        if filters.actor_id is not None:
            stmt = stmt.where(AuditEntry.actor_user_id == filters.actor_id)
        if filters.target_type:
            stmt = stmt.where(AuditEntry.target_type == filters.target_type)
        if filters.target_id:
            stmt = stmt.where(AuditEntry.target_id == filters.target_id)
        if filters.since is not None:
            stmt = stmt.where(AuditEntry.created_at >= filters.since)
        if filters.until is not None:
            stmt = stmt.where(AuditEntry.created_at < filters.until)
        if before is not None and before.at is not None:
            stmt = stmt.where(
                or_(
                    AuditEntry.created_at < before.at,
                    and_(AuditEntry.created_at == before.at, AuditEntry.id < before.id),
                )
            )
        stmt = stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
        return [(entry, user) for entry, user in (await self.session.execute(stmt)).all()]
