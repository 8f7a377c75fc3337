from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import LargeBinary, Table, and_, bindparam, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.kit.pagination import Cursor
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus


class WebhookEventRepository:
    """Webhook events are stored before their tenant is known, so this repository scopes by hand:
    `for_tenant` is the only way a tenant's request reads them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, values: dict[str, Any]) -> None:
        """Store a delivery in one statement, without the unit of work: the ingest path is hot, and the row is
        not read back. As the first statement of a PostgreSQL session it runs in autocommit, so it is committed
        once it returns, in one round trip instead of three (BEGIN, INSERT, COMMIT); the session's commit, and
        the jobs queued after it, follow as usual."""
        if not self.session.in_transaction() and self._postgresql:
            await self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        await self.session.execute(_INSERT, values)

    async def get(self, event_id: uuid.UUID) -> WebhookEvent | None:
        return await self.session.get(WebhookEvent, event_id)

    async def get_for_tenant(self, tenant_id: uuid.UUID, event_id: uuid.UUID) -> WebhookEvent | None:
        stmt = select(WebhookEvent).where(WebhookEvent.id == event_id, WebhookEvent.tenant_id == tenant_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list_for_tenant(
        self, tenant_id: uuid.UUID, status: WebhookEventStatus | None, *, limit: int, before: Cursor | None
    ) -> list[WebhookEvent]:
        stmt = select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id)
        if status is not None:
            stmt = stmt.where(WebhookEvent.status == status)
        if before is not None and before.at is not None:
            stmt = stmt.where(
                or_(
                    WebhookEvent.received_at < before.at,
                    and_(WebhookEvent.received_at == before.at, WebhookEvent.id < before.id),
                )
            )
        stmt = stmt.order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def waiting(self, event_id: uuid.UUID) -> bool:
        """Whether the delivery is still to be processed and no transaction holds it: one autocommit round
        trip, as the first statement of a PostgreSQL session. Most jobs of a busy queue find their delivery
        already taken by another job's batch, and stop here."""
        await self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        stmt = (
            select(WebhookEvent.status).where(WebhookEvent.id == event_id).with_for_update(skip_locked=True)
        )
        status = (await self.session.execute(stmt)).scalar_one_or_none()
        return status is not None and status != WebhookEventStatus.PROCESSED

    async def unprocessed_naming(self, fragment: str) -> bool:
        """Whether a delivery still to be processed contains `fragment` (an id we gave Meta). Scans the backlog
        only, which the workers keep short; used when a crashed send is taken over, not per message."""
        # Byte search in the raw body (it may not even be UTF-8), in each database's own words.
        found = "position(:needle in raw_body) > 0" if self._postgresql else "instr(raw_body, :needle) > 0"
        contains = text(found).bindparams(bindparam("needle", fragment.encode(), type_=LargeBinary))
        stmt = select(WebhookEvent.id).where(WebhookEvent.status == WebhookEventStatus.RECEIVED, contains)
        return (await self.session.execute(stmt.limit(1))).first() is not None

    @property
    def _postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def claim_received(self, limit: int, *, exclude: uuid.UUID) -> list[WebhookEvent]:
        """Lock up to `limit` more unprocessed deliveries, oldest first, skipping those another transaction
        holds: they are being processed there."""
        stmt = (
            select(WebhookEvent)
            .where(WebhookEvent.status == WebhookEventStatus.RECEIVED, WebhookEvent.id != exclude)
            .order_by(WebhookEvent.received_at, WebhookEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def stale_ids(self, older_than: datetime, limit: int) -> list[uuid.UUID]:
        stmt = (
            select(WebhookEvent.id)
            .where(WebhookEvent.status == WebhookEventStatus.RECEIVED, WebhookEvent.received_at < older_than)
            .order_by(WebhookEvent.received_at)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())


# Core, not the ORM's bulk insert: nothing to track or return.
_INSERT = insert(cast(Table, WebhookEvent.__table__))
