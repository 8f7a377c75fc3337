from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.kit.pagination import Cursor
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus


class WebhookEventRepository:
    """Webhook events are stored before their tenant is known, so this repository scopes by hand:
    `for_tenant` is the only way a tenant's request reads them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, event: WebhookEvent) -> WebhookEvent:
        self.session.add(event)
        return event

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

    async def stale_ids(self, older_than: datetime, limit: int) -> list[uuid.UUID]:
        stmt = (
            select(WebhookEvent.id)
            .where(WebhookEvent.status == WebhookEventStatus.RECEIVED, WebhookEvent.received_at < older_than)
            .order_by(WebhookEvent.received_at)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())
