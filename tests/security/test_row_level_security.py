"""PostgreSQL row-level security, the second wall: even a query written without the tenant filter sees only
the current company's rows, a connection with no tenant sees nothing, and a pooled connection never carries
one company's setting into another's transaction.

Everything here connects as a login role that is a member of `wadesk_app` (not the owner, no BYPASSRLS), the
way production does; the rest of the suite connects as the superuser, which PostgreSQL exempts from policies.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from conftest import PAYLOADS, TEST_APP_SECRET, Account, Backend, make_settings, register
from wadesk.app import create_app
from wadesk.config import Settings
from wadesk.db import rls
from wadesk.db.session import create_engine, make_sessionmaker, scope_to_tenant, unit_of_work
from wadesk.users.models import User

PROBE_ROLE = "wadesk_rls_probe"
INSERT_USER = text(
    "INSERT INTO users (id, tenant_id, email, name, role, is_active, availability, created_at, updated_at) "
    "VALUES (:id, :tenant, 'intruder@example.com', 'Intruder', 'admin', true, 'online', now(), now())"
)


def _require_postgres(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's; SQLite relies on the session's tenant filter alone")


@pytest_asyncio.fixture(loop_scope="session")
async def app_role_url(backend: Backend, settings: Settings) -> str:
    """A URL that logs in as a member of wadesk_app (created here; the migration created wadesk_app)."""
    _require_postgres(backend)
    admin = create_async_engine(backend.url)
    try:
        async with admin.begin() as connection:
            await connection.execute(
                text(
                    "DO $$ BEGIN "
                    f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PROBE_ROLE}') THEN "
                    f"CREATE ROLE {PROBE_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$"
                )
            )
            await connection.execute(text(f"GRANT {rls.APP_ROLE} TO {PROBE_ROLE}"))
    finally:
        await admin.dispose()
    return make_url(backend.url).set(username=PROBE_ROLE, password=None).render_as_string(hide_password=False)


@pytest_asyncio.fixture(loop_scope="session")
async def probe_app(app_role_url: str, backend: Backend, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """The application connected as the app role through a pool of exactly two connections."""
    probe = Backend(backend.name, app_role_url)
    application = create_app(
        make_settings(
            probe,
            tmp_path,
            database_pool_size=2,
            database_max_overflow=0,
            rate_limit_enabled=False,
        )
    )
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=120):
        yield application


@pytest_asyncio.fixture(loop_scope="session")
async def probe_client(probe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=probe_app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest_asyncio.fixture(loop_scope="session")
async def probe_engine(app_role_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(app_role_url, pool_size=2, max_overflow=0)
    yield engine
    await engine.dispose()


async def _company(http: httpx.AsyncClient, name: str, agents: int) -> tuple[Account, set[str]]:
    """A company registered through the API with `agents` more users; returns its admin and user ids."""
    owner = await register(http, name)
    ids = {owner.user["id"]}
    for index in range(agents):
        response = await owner.post(
            "/api/users",
            json={"email": f"agent{index}-{uuid.uuid4().hex[:6]}@example.com", "name": f"Agent {index}",
                  "password": "correct horse battery"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        ids.add(response.json()["id"])
    return owner, ids


async def _tenants_seen(session: AsyncSession) -> set[uuid.UUID]:
    # Deliberately raw SQL: the session's ORM tenant filter does not touch it; only the policy can.
    return set((await session.execute(text("SELECT DISTINCT tenant_id FROM users"))).scalars())


async def test_every_tenant_table_has_forced_row_level_security_and_the_tenant_policy(
    backend: Backend, probe_engine: AsyncEngine
) -> None:
    admin = create_async_engine(backend.url)
    try:
        async with admin.connect() as connection:
            tenant_tables = await connection.run_sync(rls.tenant_tables)
            isolated = await connection.run_sync(rls.isolated_tables)
    finally:
        await admin.dispose()
    assert {"users", "refresh_tokens", "phone_numbers", "contacts", "conversations", "messages"} <= set(
        tenant_tables
    )
    assert set(tenant_tables) <= set(isolated), set(tenant_tables) - set(isolated)
    async with probe_engine.connect() as connection:
        role = (
            await connection.execute(
                text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).scalar_one()
    assert role is False


async def test_a_query_written_without_the_tenant_filter_sees_only_the_current_tenants_rows(
    probe_client: httpx.AsyncClient, probe_engine: AsyncEngine
) -> None:
    first, first_users = await _company(probe_client, "First Co", agents=2)
    second, _ = await _company(probe_client, "Second Co", agents=1)
    sessions = make_sessionmaker(probe_engine)
    first_tenant = uuid.UUID(first.tenant_id)

    async with sessions() as session:
        scope_to_tenant(session, first_tenant)
        assert await _tenants_seen(session) == {first_tenant}
        # Core on the table, not the entity: outside the ORM filter's reach.
        rows = (await session.execute(select(User.__table__.c.id))).scalars().all()
        assert {str(row) for row in rows} == first_users
        changed = await session.execute(text("UPDATE users SET name = name"))
        assert changed.rowcount == len(first_users)  # type: ignore[attr-defined]
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.execute(INSERT_USER, {"id": uuid.uuid4(), "tenant": uuid.UUID(second.tenant_id)})
        await session.rollback()


async def test_a_connection_with_no_tenant_and_no_bypass_sees_and_writes_nothing(
    probe_client: httpx.AsyncClient, probe_engine: AsyncEngine
) -> None:
    owner, _ = await _company(probe_client, "Walled Co", agents=1)
    async with probe_engine.connect() as connection:
        setting = (await connection.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar()
        assert setting in (None, "")
        assert (await connection.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0
        assert (await connection.execute(text("SELECT count(*) FROM refresh_tokens"))).scalar_one() == 0
        with pytest.raises(DBAPIError, match="row-level security"):
            await connection.execute(INSERT_USER, {"id": uuid.uuid4(), "tenant": uuid.UUID(owner.tenant_id)})


async def test_scoping_a_session_after_its_transaction_began_walls_the_next_statement(
    probe_client: httpx.AsyncClient, probe_engine: AsyncEngine
) -> None:
    first, _ = await _company(probe_client, "Early Co", agents=1)
    second, _ = await _company(probe_client, "Late Co", agents=1)
    both = {uuid.UUID(first.tenant_id), uuid.UUID(second.tenant_id)}
    async with make_sessionmaker(probe_engine)() as session:
        # A system session (the auth dependency's user lookup) sees every company ...
        assert both <= await _tenants_seen(session)
        # ... until it is scoped, within the same transaction.
        scope_to_tenant(session, uuid.UUID(second.tenant_id))
        assert await _tenants_seen(session) == {uuid.UUID(second.tenant_id)}
        # A statement that deliberately looks past the scope (webhook routing) does so for itself only.
        across = (
            await session.execute(
                select(func.count(func.distinct(User.tenant_id))).execution_options(skip_tenant_scope=True)
            )
        ).scalar_one()
        assert across >= 2
        assert await _tenants_seen(session) == {uuid.UUID(second.tenant_id)}
        await session.rollback()


async def test_pooled_connections_never_carry_a_tenant_setting_into_the_next_transaction(
    probe_client: httpx.AsyncClient, probe_engine: AsyncEngine
) -> None:
    tenants = [
        uuid.UUID((await _company(probe_client, f"Pool {i}", agents=1))[0].tenant_id) for i in range(3)
    ]
    sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(probe_engine)
    rng = random.Random(8)
    plan: list[uuid.UUID | None] = [rng.choice([*tenants, None]) for _ in range(240)]

    async def one(tenant: uuid.UUID | None) -> None:
        if tenant is None:
            # A connection outside any session: whatever ran on it before, it sees no tenant rows.
            async with probe_engine.connect() as connection:
                visible = (await connection.execute(text("SELECT count(*) FROM users"))).scalar_one()
                assert visible == 0
            return
        async with unit_of_work(sessions, tenant) as session:
            setting = (await session.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar()
            assert setting == str(tenant)
            await asyncio.sleep(0)  # let other tasks queue for the two connections
            assert await _tenants_seen(session) == {tenant}

    await asyncio.gather(*(one(tenant) for tenant in plan))


async def test_interleaved_requests_of_three_companies_over_a_pool_of_two_see_only_their_own_rows(
    probe_client: httpx.AsyncClient,
) -> None:
    companies = [await _company(probe_client, f"Busy {i}", agents=3) for i in range(3)]
    numbers: dict[str, set[str]] = {}
    for index, (owner, _) in enumerate(companies):
        response = await owner.post(
            "/api/phone-numbers",
            json={"wabaId": f"80{index}", "phoneNumberId": f"90{index}{uuid.uuid4().int % 10**8}",
                  "displayPhoneNumber": f"+1555000{index}", "accessToken": f"token-{index}-secret"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        numbers[owner.tenant_id] = {response.json()["id"]}
    rng = random.Random(3)
    calls = [(rng.choice(companies), rng.choice(["/api/users", "/api/phone-numbers"])) for _ in range(150)]

    async def call(company: tuple[Account, set[str]], path: str) -> None:
        owner, users = company
        response = await owner.get(path)
        assert response.status_code == 200, response.text
        seen = {item["id"] for item in response.json()}
        assert seen == (users if path == "/api/users" else numbers[owner.tenant_id])

    await asyncio.gather(*(call(company, path) for company, path in calls))


def _signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(TEST_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def test_the_inbound_pipeline_runs_as_the_application_role(probe_client: httpx.AsyncClient) -> None:
    owner, _ = await _company(probe_client, "Inbound Co", agents=0)
    payload: dict[str, Any] = json.loads((PAYLOADS / "inbound_text.json").read_text())
    metadata = payload["entry"][0]["changes"][0]["value"]["metadata"]
    response = await owner.post(
        "/api/phone-numbers",
        json={"wabaId": payload["entry"][0]["id"], "phoneNumberId": metadata["phone_number_id"],
              "displayPhoneNumber": metadata["display_phone_number"], "accessToken": "token-inbound-co"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body = json.dumps(payload).encode()
    delivered = await probe_client.post("/api/webhook", content=body, headers=_signed(body))
    assert delivered.status_code == 200, delivered.text
    items: list[dict[str, Any]] = []
    for _ in range(100):
        listed = await owner.get("/api/conversations")
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        if items:
            break
        await asyncio.sleep(0.05)
    assert len(items) == 1
    assert items[0]["lastMessagePreview"] == "Does it come in another color?"
