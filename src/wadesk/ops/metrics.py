"""`GET /metrics`: Prometheus exposition of this process, for a scraper holding `WADESK_METRICS_TOKEN`.

Without the setting the route does not exist (404), so a deployment never exposes metrics by accident.
Queue depth and the webhook backlog are read from Redis and the database at scrape time.
"""

from __future__ import annotations

import contextlib
import hmac
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import func, select

from wadesk.auth.dependencies import RuntimeDep
from wadesk.db.base import utcnow
from wadesk.errors import NotFound, Unauthorized
from wadesk.infra import metrics
from wadesk.infra.broker import QUEUE_NAME
from wadesk.infra.runtime import Runtime
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus

router = APIRouter(tags=["health"], include_in_schema=False)
CONSUMER_GROUP = "wadesk-workers"


async def _refresh_gauges(runtime: Runtime) -> None:
    redis: Any = runtime.extras.get("redis")
    if redis is not None:
        with contextlib.suppress(Exception):  # Redis down: the health endpoints say so; keep serving
            depth = int(await redis.xlen(QUEUE_NAME))
            pending = 0
            with contextlib.suppress(Exception):  # no consumer group before the first worker starts
                summary = await redis.xpending(QUEUE_NAME, CONSUMER_GROUP)
                pending = int(summary.get("pending", 0)) if isinstance(summary, dict) else 0
            metrics.set_queue_depth(QUEUE_NAME, depth, pending)
    with contextlib.suppress(Exception):
        async with runtime.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(func.count(), func.min(WebhookEvent.received_at)).where(
                        WebhookEvent.status == WebhookEventStatus.RECEIVED
                    )
                )
            ).one()
        count, oldest = int(row[0]), row[1]
        if isinstance(oldest, datetime) and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age = (utcnow() - oldest).total_seconds() if isinstance(oldest, datetime) else 0.0
        metrics.set_webhook_backlog(count, max(0.0, age))


@router.get("/metrics", summary="Prometheus metrics of this process (bearer token)")
async def prometheus_metrics(request: Request, runtime: RuntimeDep) -> Response:
    token = runtime.settings.metrics_token
    if not token:
        raise NotFound("No route at /metrics.")
    presented = request.headers.get("authorization", "")
    if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
        raise Unauthorized(
            "Send the metrics token as 'Authorization: Bearer <token>'.",
            code="not_authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await _refresh_gauges(runtime)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE, headers={"cache-control": "no-store"})
