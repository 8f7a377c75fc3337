"""While the database cannot be reached, every request is answered 503 `database_unavailable` with a
Retry-After, never a 500: Meta retries a webhook it was refused, and nothing it was told is stored is lost.
Once the database is back, so is the service, stale pooled connections included."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from bench.cluster import free_port, libpq_url
from fastapi import FastAPI
from pipeline_kit import post_webhook

from conftest import Account, Backend, assert_error, register
from wadesk.db.session import create_engine, make_sessionmaker

DELIVERY = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()


@asynccontextmanager
async def database_down(app: FastAPI) -> AsyncIterator[None]:
    """The application's engine and sessions go to a PostgreSQL address nothing listens on (connection
    refused)."""
    runtime = app.state.runtime
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone")
    kept = runtime.engine, runtime.sessionmaker
    runtime.engine, runtime.sessionmaker = engine, make_sessionmaker(engine)
    try:
        yield
    finally:
        runtime.engine, runtime.sessionmaker = kept
        await engine.dispose()


def assert_database_unavailable(response: httpx.Response) -> None:
    assert_error(response, 503, "database_unavailable")
    assert int(response.headers["retry-after"]) > 0


async def test_a_webhook_is_refused_with_503_and_retry_after_while_the_database_is_down(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with database_down(app):
        assert_database_unavailable(await post_webhook(client, DELIVERY))
        assert_database_unavailable(await post_webhook(client, DELIVERY, path="/api/webhook/some-company"))
    assert (await post_webhook(client, DELIVERY)).status_code == 200


async def test_a_signed_in_request_is_refused_with_503_while_the_database_is_down(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client, "Outage Ltd")
    async with database_down(app):
        assert_database_unavailable(await account.get("/api/conversations"))
    assert (await account.get("/api/conversations")).status_code == 200


async def test_pooled_connections_the_server_dropped_cost_at_most_a_503_and_are_replaced(
    app: FastAPI, client: httpx.AsyncClient, backend: Backend
) -> None:
    if backend.name != "postgresql":
        pytest.skip("a server that drops connections is PostgreSQL's case")
    account: Account = await register(client, "Restart Ltd")
    assert (await account.get("/api/conversations")).status_code == 200
    # What a PostgreSQL restart does to the pool's connections, just used so not pinged again: the server
    # ends every one of them.
    admin = await asyncpg.connect(libpq_url(backend.url))
    try:
        terminated = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert terminated > 0
    statuses = [(await account.get("/api/conversations")).status_code for _ in range(4)]
    assert set(statuses[:1]) <= {200, 503}
    assert statuses[1:] == [200, 200, 200]
