"""Campaign jobs: `run_campaign` (one slice of a campaign's pump; it queues the next slice itself while work
remains) and `sweep_campaigns` (queued periodically by the sweeper, see ops.periodic)."""

from __future__ import annotations

import uuid

from wadesk.campaigns.pump import CampaignPump
from wadesk.campaigns.service import PUMP_JOB, SWEEP_JOB, sweep_campaigns
from wadesk.infra.jobs import job
from wadesk.infra.runtime import current_runtime


@job(PUMP_JOB)
async def run_campaign(campaign_id: str, tenant_id: str) -> str:
    """Pump one campaign for a while; a second copy of this job finds the lease taken and returns."""
    pump = CampaignPump(current_runtime(), uuid.UUID(tenant_id), uuid.UUID(campaign_id))
    return await pump.run_slice()


@job(SWEEP_JOB)
async def sweep() -> dict[str, int]:
    """Start due scheduled campaigns and resume running ones that nobody is pumping."""
    return await sweep_campaigns(current_runtime())
