"""Prometheus metrics: HTTP traffic by route template, the webhook pipeline, the job queue, sends, pacing and
realtime connections.

Each process keeps its own counters (prometheus-client's default registry): every API replica serves them at
`/metrics` (token-protected) and every worker on `WADESK_WORKER_METRICS_PORT`; Prometheus scrapes each process
and sums across them. Instrumented code calls the small `record_*` functions below, one line each.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, TypeVar

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
WAIT_BUCKETS = (0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Meta's deliveries, by route template.
WEBHOOK_DELIVERY_ROUTES = frozenset({"/api/webhook", "/api/webhook/{tenant_slug}"})

HTTP_REQUESTS = Counter("wadesk_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "wadesk_http_request_duration_seconds",
    "Time to answer an HTTP request (streams excluded)",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOKS_RECEIVED = Counter(
    "wadesk_webhook_events_received_total",
    "Meta webhook deliveries received: accepted (stored) or rejected (bad signature, too large...)",
    ["outcome"],
)
WEBHOOKS_PROCESSED = Counter("wadesk_webhook_events_processed_total", "Webhook deliveries processed")
WEBHOOKS_FAILED = Counter(
    "wadesk_webhook_events_failed_total", "Webhook deliveries whose processing failed", ["reason"]
)
WEBHOOK_LAG = Histogram(
    "wadesk_webhook_processing_lag_seconds",
    "From a delivery's receipt to the end of its processing",
    buckets=LAG_BUCKETS,
)
WEBHOOK_BACKLOG = Gauge(
    "wadesk_webhook_events_unprocessed", "Deliveries stored and not yet processed (at scrape time)"
)
WEBHOOK_BACKLOG_AGE = Gauge(
    "wadesk_webhook_oldest_unprocessed_age_seconds", "Age of the oldest unprocessed delivery (at scrape time)"
)
QUEUE_DEPTH = Gauge("wadesk_queue_depth", "Jobs in the queue's stream (at scrape time)", ["queue"])
QUEUE_PENDING = Gauge(
    "wadesk_queue_pending", "Jobs handed to a worker and not yet acknowledged (at scrape time)", ["queue"]
)
SENDS = Counter(
    "wadesk_messages_sent_total",
    "Outbound send jobs by outcome, with Meta's error code for failures",
    ["outcome", "error_code"],
)
PACER_WAIT = Histogram(
    "wadesk_pacer_wait_seconds", "Time a send waited for its number's next slot", buckets=WAIT_BUCKETS
)
PACER_WAIT_BY_NUMBER = Counter(
    "wadesk_pacer_number_wait_seconds_total", "Seconds sends waited for a slot, per phone number", ["number"]
)
PACER_WAITS_BY_NUMBER = Counter(
    "wadesk_pacer_number_waits_total", "Sends that had to wait for a slot, per phone number", ["number"]
)
PACER_LATE_SLOTS = Counter(
    "wadesk_pacer_late_slots_total",
    "Slots given up because the send woke too late for them (a busy process), per phone number",
    ["number"],
)
SSE_CONNECTIONS = Gauge(
    "wadesk_sse_connections", "Open Server-Sent Events streams", multiprocess_mode="livesum"
)


def record_request(method: str, route: str, status: int, seconds: float | None) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    if seconds is not None:
        HTTP_LATENCY.labels(method, route).observe(seconds)
    if method == "POST" and route in WEBHOOK_DELIVERY_ROUTES:
        WEBHOOKS_RECEIVED.labels("accepted" if 200 <= status < 300 else "rejected").inc()


def record_webhook_processed(received_at: datetime | None) -> None:
    WEBHOOKS_PROCESSED.inc()
    if received_at is not None:
        WEBHOOK_LAG.observe(max(0.0, time.time() - received_at.timestamp()))


def record_webhook_failed(reason: str) -> None:
    WEBHOOKS_FAILED.labels(reason).inc()


def record_send(outcome: str, error_code: int | None = None) -> None:
    SENDS.labels(outcome, "" if error_code is None else str(error_code)).inc()


def record_late_slot(number: str) -> None:
    PACER_LATE_SLOTS.labels(number).inc()


def record_pacer_wait(number: str, seconds: float) -> None:
    PACER_WAIT.observe(seconds)
    if seconds > 0:
        PACER_WAITS_BY_NUMBER.labels(number).inc()
        PACER_WAIT_BY_NUMBER.labels(number).inc(seconds)


ItemT = TypeVar("ItemT")


async def track_sse(stream: AsyncIterator[ItemT]) -> AsyncIterator[ItemT]:
    """Wrap an event stream so the open-connections gauge counts it while it runs."""
    SSE_CONNECTIONS.inc()
    try:
        async for item in stream:
            yield item
    finally:
        SSE_CONNECTIONS.dec()


def set_queue_depth(queue: str, depth: int, pending: int) -> None:
    QUEUE_DEPTH.labels(queue).set(depth)
    QUEUE_PENDING.labels(queue).set(pending)


def set_webhook_backlog(unprocessed: int, oldest_age_seconds: float) -> None:
    WEBHOOK_BACKLOG.set(unprocessed)
    WEBHOOK_BACKLOG_AGE.set(oldest_age_seconds)


def render() -> bytes:
    """The exposition text of this process (or of all processes sharing PROMETHEUS_MULTIPROC_DIR)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def serve_worker_metrics(port: int | None, host: str = "0.0.0.0") -> None:
    """Expose this process's metrics on `port` (a worker has no HTTP app); nothing when port is None."""
    if port is None:
        return
    start_http_server(port, addr=host)
    log.info("metrics_served", port=port)


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    # Unrouted requests (refused before routing, e.g. rate limited) share one label: raw paths would let
    # any client create series without bound.
    return path if isinstance(path, str) and path else "unrouted"


class MetricsMiddleware:
    """Counts every HTTP request by method, route template and status, and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        streaming = False

        async def observing_send(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type" and value.startswith(b"text/event-stream"):
                        streaming = True
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            elapsed = None if streaming else time.perf_counter() - started
            record_request(scope["method"], _route_template(scope), status, elapsed)
