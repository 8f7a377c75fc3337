from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from wadesk.integrations.models import DeliveryStatus, OutboundAttempt, OutboundDelivery, OutboundWebhook
from wadesk.kit.pagination import Cursor
from wadesk.kit.repository import Repository

# A claim older than this belongs to a worker that died mid-attempt; the delivery may be taken again.
CLAIM_TIMEOUT = timedelta(minutes=5)


class OutboundWebhookRepository(Repository[OutboundWebhook]):
    model = OutboundWebhook
    not_found_message = "Webhook not found."

    async def list_all(self) -> list[OutboundWebhook]:
        stmt = select(OutboundWebhook).order_by(OutboundWebhook.created_at, OutboundWebhook.id)
        return list((await self.session.execute(stmt)).scalars())

    async def active(self) -> list[OutboundWebhook]:
        stmt = select(OutboundWebhook).where(OutboundWebhook.is_active.is_(True))
        return list((await self.session.execute(stmt)).scalars())


class OutboundDeliveryRepository(Repository[OutboundDelivery]):
    model = OutboundDelivery
    not_found_message = "Delivery not found."

    async def list_page(
        self, webhook_id: uuid.UUID, status: DeliveryStatus | None, *, limit: int, before: Cursor | None
    ) -> list[OutboundDelivery]:
        stmt = select(OutboundDelivery).where(OutboundDelivery.webhook_id == webhook_id)
        if status is not None:
            stmt = stmt.where(OutboundDelivery.status == status)
        if before is not None and before.at is not None:
            stmt = stmt.where(
                or_(
                    OutboundDelivery.created_at < before.at,
                    and_(OutboundDelivery.created_at == before.at, OutboundDelivery.id < before.id),
                )
            )
        stmt = stmt.order_by(OutboundDelivery.created_at.desc(), OutboundDelivery.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def attempts_of(self, delivery_id: uuid.UUID) -> list[OutboundAttempt]:
        stmt = (
            select(OutboundAttempt)
            .where(OutboundAttempt.delivery_id == delivery_id)
            .order_by(OutboundAttempt.number)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def claim(self, delivery_id: uuid.UUID, now: datetime) -> bool:
        """Compare-and-set: take a due delivery (or one whose claimer died) for one attempt."""
        result = await self.session.execute(
            update(OutboundDelivery)
            .where(
                OutboundDelivery.id == delivery_id,
                or_(
                    and_(
                        OutboundDelivery.status == DeliveryStatus.PENDING,
                        OutboundDelivery.next_attempt_at <= now,
                    ),
                    and_(
                        OutboundDelivery.status == DeliveryStatus.DELIVERING,
                        OutboundDelivery.claimed_at < now - CLAIM_TIMEOUT,
                    ),
                ),
            )
            .values(status=DeliveryStatus.DELIVERING, claimed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def due(self, now: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(delivery id, tenant id) of deliveries whose next attempt is due, oldest first (all tenants)."""
        stmt = (
            select(OutboundDelivery.id, OutboundDelivery.tenant_id)
            .where(
                or_(
                    and_(
                        OutboundDelivery.status == DeliveryStatus.PENDING,
                        OutboundDelivery.next_attempt_at <= now,
                    ),
                    and_(
                        OutboundDelivery.status == DeliveryStatus.DELIVERING,
                        OutboundDelivery.claimed_at < now - CLAIM_TIMEOUT,
                    ),
                )
            )
            .order_by(OutboundDelivery.next_attempt_at)
            .limit(limit)
            .execution_options(skip_tenant_scope=True)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]
