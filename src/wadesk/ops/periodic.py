"""Jobs that run on a schedule, queued by the sweeper's loop (one process per interval acts in production).

The queue cannot delay a job by seconds, so work that waits (a webhook delivery's next retry) is a row with a
due time, and a periodic job picks up what is due. Each job here is queued at most once per its interval:
in production a Redis key with that expiry decides (shared by every worker), in embedded mode the process
remembers when it last queued it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from wadesk.infra.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    every_seconds: float
    # False: wait one interval after the process starts before the first run.
    at_start: bool = True


PERIODIC_JOBS = (
    # Outbound webhook retries whose time has come.
    PeriodicJob("dispatch_outbound_webhooks", every_seconds=10),
    # Scheduled campaigns that are due; running ones whose pump died or whose messaging-limit wait is over.
    PeriodicJob("sweep_campaigns", every_seconds=10),
    # Meta recommends a full template sync every few hours; status webhooks cover the time between.
    PeriodicJob("sync_all_templates", every_seconds=6 * 3600, at_start=False),
)

_last_queued: dict[str, float] = {}


async def _due(runtime: Runtime, job: PeriodicJob) -> bool:
    redis = runtime.extras.get("redis")
    if redis is not None:
        return bool(
            await redis.set(f"wadesk:periodic:{job.name}", "1", nx=True, ex=max(1, int(job.every_seconds)))
        )
    now = time.monotonic()
    last = _last_queued.get(job.name)
    if last is None and not job.at_start:
        _last_queued[job.name] = now
        return False
    if last is not None and now - last < job.every_seconds:
        return False
    _last_queued[job.name] = now
    return True


async def queue_periodic_jobs(runtime: Runtime) -> list[str]:
    """Queue every periodic job whose interval has passed; the names queued."""
    queued = []
    for job in PERIODIC_JOBS:
        if await _due(runtime, job):
            await runtime.jobs.send_now(job.name)
            queued.append(job.name)
    if queued:
        log.debug("periodic_jobs_queued", jobs=queued)
    return queued
