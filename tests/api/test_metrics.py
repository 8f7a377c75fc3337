"""`/metrics`: Prometheus exposition behind a bearer token; request counts by route template, the webhook
pipeline, pacing waits and open event streams."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client import REGISTRY

from conftest import PAYLOADS, TEST_APP_SECRET, Backend, assert_error, make_settings, register
from wadesk.app import create_app
from wadesk.config import Settings
from wadesk.infra import metrics
from wadesk.infra.pacing import InProcessPacer

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest_asyncio.fixture(loop_scope="session")
async def metrics_client(
    backend: Backend, settings: Settings, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    application: FastAPI = create_app(make_settings(backend, tmp_path, metrics_token=METRICS_TOKEN))
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=120):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50002))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def scrape(http: httpx.AsyncClient) -> str:
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_do_not_exist_without_a_token_setting(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/metrics"), 404)
    assert_error(await client.get("/metrics", headers={"Authorization": "Bearer anything"}), 404)


async def test_metrics_need_the_token(metrics_client: httpx.AsyncClient) -> None:
    assert_error(await metrics_client.get("/metrics"), 401)
    refused = await metrics_client.get("/metrics", headers={"Authorization": "Bearer wrong-token"})
    assert_error(refused, 401)
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "wadesk_http_requests_total" in await scrape(metrics_client)


async def test_requests_are_counted_by_route_template_not_raw_path(metrics_client: httpx.AsyncClient) -> None:
    owner = await register(metrics_client, "Metrics Co")
    user_id = owner.user["id"]
    before = sample("wadesk_http_requests_total", method="GET", route="/api/users/{user_id}", status="200")
    for _ in range(3):
        assert (await owner.get(f"/api/users/{user_id}")).status_code == 200
    text = await scrape(metrics_client)
    after = sample("wadesk_http_requests_total", method="GET", route="/api/users/{user_id}", status="200")
    assert after - before == 3
    assert user_id not in text
    assert (
        'wadesk_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/users/{user_id}"}'
        in (text)
    )


def _signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(TEST_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def test_webhook_deliveries_are_counted_received_rejected_and_processed(
    metrics_client: httpx.AsyncClient,
) -> None:
    accepted = sample("wadesk_webhook_events_received_total", outcome="accepted")
    rejected = sample("wadesk_webhook_events_received_total", outcome="rejected")
    processed = sample("wadesk_webhook_events_processed_total")
    lag_count = sample("wadesk_webhook_processing_lag_seconds_count")
    payload: dict[str, Any] = json.loads((PAYLOADS / "inbound_text.json").read_text())
    body = json.dumps(payload).encode()
    assert (await metrics_client.post("/api/webhook", content=body, headers=_signed(body))).status_code == 200
    bad = {"X-Hub-Signature-256": "sha256=" + "0" * 64, "Content-Type": "application/json"}
    assert (await metrics_client.post("/api/webhook", content=body, headers=bad)).status_code == 401
    for _ in range(100):
        if sample("wadesk_webhook_events_processed_total") > processed:
            break
        await asyncio.sleep(0.05)
    assert sample("wadesk_webhook_events_received_total", outcome="accepted") == accepted + 1
    assert sample("wadesk_webhook_events_received_total", outcome="rejected") == rejected + 1
    assert sample("wadesk_webhook_events_processed_total") == processed + 1
    assert sample("wadesk_webhook_processing_lag_seconds_count") == lag_count + 1
    text = await scrape(metrics_client)
    assert "wadesk_webhook_events_unprocessed 0.0" in text


async def test_pacing_waits_are_counted_per_number() -> None:
    pacer = InProcessPacer()
    waits = sample("wadesk_pacer_number_waits_total", number="metrics-test-number")
    for _ in range(3):
        await pacer.wait_for_slot("metrics-test-number", 50)
    assert sample("wadesk_pacer_number_waits_total", number="metrics-test-number") == waits + 2
    assert sample("wadesk_pacer_number_wait_seconds_total", number="metrics-test-number") > 0


async def test_open_event_streams_are_counted_while_they_run() -> None:
    before = sample("wadesk_sse_connections")

    async def events() -> AsyncIterator[int]:
        for index in range(2):
            yield index

    stream = metrics.track_sse(events())
    assert await anext(stream) == 0
    assert sample("wadesk_sse_connections") == before + 1
    await stream.aclose()
    assert sample("wadesk_sse_connections") == before


def test_sends_are_counted_by_outcome_and_meta_error_code() -> None:
    before = sample("wadesk_messages_sent_total", outcome="failed", error_code="131047")
    metrics.record_send("failed", 131047)
    assert sample("wadesk_messages_sent_total", outcome="failed", error_code="131047") == before + 1
