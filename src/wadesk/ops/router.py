"""Health probes: liveness (the process answers), readiness and health (dependencies reachable)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, text

from wadesk.auth.dependencies import RuntimeDep
from wadesk.db.base import utcnow
from wadesk.infra.runtime import Runtime
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus

router = APIRouter(prefix="/api/health", tags=["health"])
CHECK_TIMEOUT = 3.0


async def _check_database(runtime: Runtime) -> dict[str, Any]:
    async with runtime.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        oldest: datetime | None = (
            await connection.execute(
                select(func.min(WebhookEvent.received_at)).where(
                    WebhookEvent.status == WebhookEventStatus.RECEIVED
                )
            )
        ).scalar_one()
        pending = (
            await connection.execute(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.status == WebhookEventStatus.RECEIVED)
            )
        ).scalar_one()
    if oldest is not None and oldest.tzinfo is None:
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    return {
        "status": "ok",
        "unprocessedWebhookEvents": int(pending),
        "oldestUnprocessedAgeSeconds": round((utcnow() - oldest).total_seconds(), 3) if oldest else 0,
    }


async def _check_redis(runtime: Runtime) -> dict[str, Any]:
    redis = runtime.extras.get("redis")
    if redis is None:
        return {"status": "not_configured"}
    await redis.ping()
    from wadesk.infra.broker import queue_backlog

    backlog = await queue_backlog(redis)
    return {"status": "ok", "queueDepth": backlog["waiting"], "queueInProgress": backlog["pending"]}


async def _checks(runtime: Runtime) -> tuple[bool, dict[str, Any]]:
    results: dict[str, Any] = {}
    healthy = True
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            results[name] = await asyncio.wait_for(check(runtime), CHECK_TIMEOUT)
        except Exception as exc:
            healthy = False
            results[name] = {"status": "down", "error": type(exc).__name__}
    results["queue"] = {"status": "ok", "mode": runtime.settings.mode.value}
    return healthy, results


@router.get("", summary="Overall health: database, queue and Redis (503 when one is down)")
async def health(runtime: RuntimeDep) -> JSONResponse:
    healthy, checks = await _checks(runtime)
    body = {"status": "ok" if healthy else "degraded", "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/live", summary="Liveness: the process is running")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: dependencies reachable, ready for traffic")
async def ready(runtime: RuntimeDep) -> JSONResponse:
    healthy, checks = await _checks(runtime)
    return JSONResponse(
        {"status": "ready" if healthy else "not_ready", "checks": checks}, status_code=200 if healthy else 503
    )
