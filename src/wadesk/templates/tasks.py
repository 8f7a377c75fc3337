"""Queue job of templates: the periodic sync of every company's templates from Meta."""

from __future__ import annotations

from wadesk.infra.jobs import job
from wadesk.infra.runtime import current_runtime
from wadesk.templates.lifecycle import sync_all_tenants

SYNC_ALL_JOB = "sync_all_templates"


@job(SYNC_ALL_JOB)
async def sync_all_templates() -> int:
    """Sync every connected WABA's templates (webhooks keep them current; this catches what they missed)."""
    return await sync_all_tenants(current_runtime())
