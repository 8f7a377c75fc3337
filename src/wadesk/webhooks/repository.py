from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import LargeBinary, Table, and_, bindparam, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from wadesk.db import raw
from wadesk.kit.pagination import Cursor
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus


class WebhookEventRepository:
    """Webhook events are stored before their tenant is known, so this repository scopes by hand:
    `for_tenant` is the only way a tenant's request reads them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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

    async def claim_received(
        self,
        limit: int,
        *,
        exclude: uuid.UUID,
        containing: Sequence[bytes] = (),
        without: Sequence[bytes] = (),
    ) -> list[WebhookEvent]:
        """Lock up to `limit` more unprocessed deliveries whose body contains every `containing` fragment and
        none of `without`, oldest first, skipping those another transaction holds: they are being processed
        there. PostgreSQL only."""
        conditions = [
            text(f"position(:{name}{i} in raw_body) {operator}").bindparams(
                bindparam(f"{name}{i}", fragment, type_=LargeBinary)
            )
            for name, operator, fragments in (("has", "> 0", containing), ("lacks", "= 0", without))
            for i, fragment in enumerate(fragments)
        ]
        stmt = (
            select(WebhookEvent)
            .where(
                WebhookEvent.status == WebhookEventStatus.RECEIVED, WebhookEvent.id != exclude, *conditions
            )
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


async def store(engine: AsyncEngine, values: dict[str, Any]) -> None:
    """Store a delivery in one statement, without a session: the ingest path is hot and the row is not read
    back. On asyncpg the statement goes to the driver itself (db.raw), committed once it returns; elsewhere
    (SQLite) it is an ordinary transaction."""
    if not raw.supported(engine):
        async with engine.begin() as connection:
            await connection.execute(_INSERT, values)
        return
    await raw.execute(
        engine,
        _ASYNCPG_INSERT,
        values["id"],
        values["tenant_id"],
        values["raw_body"],
        json.dumps(values["headers"]),
        values["body_sha256"],
        values["status"],
        values["received_at"],
    )


async def waiting(engine: AsyncEngine, event_id: uuid.UUID) -> bool:
    """Whether the delivery is still to be processed (`received`) and no transaction holds it: one statement
    outside a transaction (db.raw). Most jobs of a busy queue find their delivery already taken by another
    job's batch, and stop here. PostgreSQL only."""
    status = await raw.fetch_value(engine, _WAITING, event_id)
    return bool(status == WebhookEventStatus.RECEIVED.value)


# Core, not the ORM's bulk insert: nothing to track or return.
_INSERT = insert(cast(Table, WebhookEvent.__table__))
_ASYNCPG_INSERT = (
    "INSERT INTO webhook_events (id, tenant_id, raw_body, headers, body_sha256, status, received_at, attempts) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, 0)"
)
_WAITING = "SELECT status FROM webhook_events WHERE id = $1 FOR UPDATE SKIP LOCKED"
