"""Queue jobs of outbound webhooks: one attempt of one delivery, and the periodic pick-up of due retries."""

from __future__ import annotations

import uuid

from wadesk.infra.jobs import job
from wadesk.infra.runtime import current_runtime
from wadesk.integrations.service import DELIVER_JOB, attempt_delivery, queue_due_deliveries

DISPATCH_DUE_JOB = "dispatch_outbound_webhooks"


@job(DELIVER_JOB)
async def deliver_outbound_webhook(delivery_id: str, tenant_id: str) -> str:
    """Attempt one delivery if it is due; a duplicate job finds it claimed or done and does nothing."""
    return await attempt_delivery(current_runtime(), uuid.UUID(tenant_id), uuid.UUID(delivery_id))


@job(DISPATCH_DUE_JOB)
async def dispatch_outbound_webhooks() -> int:
    """Queue the deliveries whose retry is due (run periodically)."""
    return await queue_due_deliveries(current_runtime())
