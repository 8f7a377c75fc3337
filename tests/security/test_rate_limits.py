"""API rate limits: per company by plan, per client address for anonymous callers, one global cap; 429 with
Retry-After in the API's error shape. Meta's webhook deliveries and the health probes are never limited."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import update

from conftest import REDIS_URL, Account, Backend, assert_error, make_settings, register, unavailable
from wadesk.app import create_app
from wadesk.db.session import unit_of_work
from wadesk.ops.rate_limits import is_exempt
from wadesk.tenants.models import Tenant

Limited = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def limited_app(backend: Backend, settings: Any, tmp_path: Path) -> Limited:
    """An app with the given rate-limit settings (the `settings` fixture has emptied the database)."""

    @asynccontextmanager
    async def start(
        client_address: str = "127.0.0.1", **overrides: Any
    ) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        values = {"rate_limit_global": "1000/second", "rate_limit_anonymous": "1000/minute", **overrides}
        application = create_app(make_settings(backend, tmp_path, **values))
        async with LifespanManager(application, startup_timeout=120, shutdown_timeout=120):
            transport = httpx.ASGITransport(app=application, client=(client_address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                await _clear_of_a_minute_boundary()
                yield application, http

    return start


async def _clear_of_a_minute_boundary(margin: float = 15.0) -> None:
    """Start a test's requests well inside a calendar minute. The sliding-window counter weighs the previous
    minute's count by the share of the window still covering it, so a burst that straddles the boundary is
    counted as slightly less than it was (4 requests become 3.99 just after it), and a test expecting the
    Nth request to be refused would see it pass."""
    into_minute = time.time() % 60
    if into_minute > 60 - margin:
        await asyncio.sleep(60 - into_minute + 0.05)


async def _set_plan(app: FastAPI, account: Account, plan: str) -> None:
    async with unit_of_work(app.state.runtime.sessionmaker) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == uuid.UUID(account.tenant_id)).values(plan=plan)
        )


async def test_a_company_over_its_limit_gets_429_with_retry_after_in_the_error_shape(
    limited_app: Limited,
) -> None:
    async with limited_app(rate_limit_tenant="5/minute") as (_, http):
        owner = await register(http, "Busy Co")
        for _ in range(5):
            assert (await owner.get("/api/auth/me")).status_code == 200
        refused = await owner.get("/api/auth/me")
        error = assert_error(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert error["details"]["scope"] == "tenant"
        assert error["details"]["limit"] == "5 per 1 minute"
        # The refusal still carries the API's security headers and request id.
        assert refused.headers["x-content-type-options"] == "nosniff"
        assert refused.headers["x-request-id"]


async def test_each_plan_has_its_own_limit_and_each_company_its_own_budget(limited_app: Limited) -> None:
    async with limited_app(rate_limit_tenant="3/minute", rate_limit_plans='{"enterprise": "8/minute"}') as (
        app,
        http,
    ):
        standard = await register(http, "Standard Co")
        enterprise = await register(http, "Enterprise Co")
        await _set_plan(app, enterprise, "enterprise")
        standard_ok = [(await standard.get("/api/auth/me")).status_code for _ in range(5)]
        enterprise_ok = [(await enterprise.get("/api/auth/me")).status_code for _ in range(10)]
        assert standard_ok == [200] * 3 + [429] * 2
        assert enterprise_ok == [200] * 8 + [429] * 2


async def test_a_request_through_nested_dependencies_is_counted_once(limited_app: Limited) -> None:
    async with limited_app(rate_limit_tenant="4/minute") as (_, http):
        owner = await register(http, "Admin Co")
        # Admin routes authenticate through require_admin -> authenticate; still one count per request.
        statuses = [(await owner.get("/api/webhook/events")).status_code for _ in range(5)]
        assert statuses == [200] * 4 + [429]


async def test_anonymous_callers_are_limited_per_client_address(limited_app: Limited) -> None:
    async with limited_app(rate_limit_anonymous="3/minute") as (app, http):
        attempts = [
            (await http.post("/api/auth/login", json={"email": "a@example.com", "password": "x"})).status_code
            for _ in range(4)
        ]
        assert attempts == [401, 401, 401, 429]
        elsewhere = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
        async with httpx.AsyncClient(transport=elsewhere, base_url="http://testserver") as other:
            response = await other.post("/api/auth/login", json={"email": "a@example.com", "password": "x"})
            assert response.status_code == 401


async def test_unrecognised_credentials_are_counted_per_credential(limited_app: Limited) -> None:
    async with limited_app(rate_limit_tenant="2/minute", rate_limit_anonymous="100/minute") as (_, http):

        async def me(token: str) -> int:
            response = await http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
            return response.status_code

        assert [await me("wdk_first_made_up_key") for _ in range(3)] == [401, 401, 429]
        assert await me("wdk_second_made_up_key") == 401


async def test_the_global_limit_caps_the_whole_deployment(limited_app: Limited) -> None:
    async with limited_app(rate_limit_global="6/minute", rate_limit_tenant="100/minute") as (_, http):
        first = await register(http, "First Co")  # 1 request
        second = await register(http, "Second Co")  # 2
        statuses = []
        for account in (first, second, first, second, first):
            statuses.append((await account.get("/api/auth/me")).status_code)
        assert statuses == [200, 200, 200, 200, 429]
        error = assert_error(await second.get("/api/auth/me"), 429, "rate_limited")
        assert error["details"]["scope"] == "global"


async def test_meta_webhooks_and_health_probes_are_never_limited(limited_app: Limited) -> None:
    async with limited_app(rate_limit_global="2/minute", rate_limit_anonymous="2/minute") as (_, http):
        for _ in range(6):
            delivery = await http.post(
                "/api/webhook", content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"}
            )
            assert delivery.status_code == 401  # refused for its signature, never for its rate
            handshake = await http.get(
                "/api/webhook",
                params={"hub.mode": "subscribe", "hub.verify_token": "no", "hub.challenge": "1"},
            )
            assert handshake.status_code == 403
            for path in ("/api/health", "/api/health/live", "/api/health/ready"):
                probe = await http.get(path)
                # The probe's own answer: 200, or 503 when a dependency check timed out on a loaded machine
                # (seen once in a full run); never the limiter's 429.
                assert probe.status_code in (200, 503), probe.text
                assert probe.json()["status"] in ("ok", "ready", "degraded", "not_ready"), probe.text
        # Ordinary API calls are limited as configured.
        statuses = [(await http.get("/api/auth/me")).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]


def test_what_is_exempt() -> None:
    assert is_exempt("POST", "/api/webhook")
    assert is_exempt("POST", "/api/webhook/acme-co")
    assert is_exempt("GET", "/api/health/ready")
    assert is_exempt("OPTIONS", "/api/conversations")
    assert is_exempt("GET", "/assets/index.js")
    assert not is_exempt("GET", "/api/webhook/events")
    assert not is_exempt("POST", "/api/webhook/events/1234/replay")
    assert not is_exempt("GET", "/api/conversations")


async def test_processes_sharing_redis_share_the_counters(limited_app: Limited) -> None:
    import redis.asyncio as aioredis

    probe = aioredis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:
        unavailable("Redis", f"{type(exc).__name__}: {exc}")
    finally:
        await probe.aclose()
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    overrides = {"redis_url": REDIS_URL, "rate_limit_anonymous": "4/minute", "client_address": address}
    async with limited_app(**overrides) as (_, one), limited_app(**overrides) as (_, two):
        login = {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "password": "x"}
        # One after another, alternating: six connections opened at once to a loaded Redis once timed out, and
        # the limiter rightly serves when its store is unreachable.
        statuses = [(await http.post("/api/auth/login", json=login)).status_code for http in (one, two) * 3]
        assert statuses == [401] * 4 + [429] * 2
