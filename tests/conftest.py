"""Shared fixtures: a migrated database per backend (SQLite always; PostgreSQL when reachable, required in
CI), a running app per test with its lifespan, and HTTP clients that talk to it the way clients do."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from wadesk.app import create_app
from wadesk.config import Settings
from wadesk.db.migrate import upgrade_to_head
from wadesk.db.models import Base

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get("WADESK_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("WADESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PAYLOADS = Path(__file__).resolve().parents[2] / "shared" / "whatsapp" / "payloads"

TEST_APP_SECRET = "test-meta-app-secret-0123456789"
TEST_VERIFY_TOKEN = "test-verify-token-0123456789"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps its own event loop for the rest of the session,
    and async tests collected after it would be called without being awaited."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


def unavailable(what: str, reason: str) -> None:
    """Skip outside CI with a visible reason; in CI a missing service is a failure, never a silent skip."""
    message = f"{what} unreachable ({reason})"
    if IN_CI:
        pytest.fail(message + " — CI requires it", pytrace=False)
    pytest.skip(message)


async def _postgres_reachable(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any failure to connect means "not available"
        return f"{type(exc).__name__}: {exc}"[:200]
    finally:
        await engine.dispose()


def _reset_postgres_schema(url: str) -> None:
    async def reset() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


@dataclass(frozen=True)
class Backend:
    name: str
    url: str


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade_to_head(url)
        yield Backend("sqlite", url)
        return
    problem = asyncio.run(_postgres_reachable(POSTGRES_URL))
    if problem:
        unavailable("PostgreSQL", problem)
    _reset_postgres_schema(POSTGRES_URL)
    upgrade_to_head(POSTGRES_URL)
    yield Backend("postgresql", POSTGRES_URL)


async def _clear(url: str) -> None:
    engine = create_async_engine(url)
    # DELETE rather than TRUNCATE on PostgreSQL too: on tables this small it is several times faster.
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
    await engine.dispose()


def make_settings(backend: Backend, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": backend.url,
        "data_dir": data_dir,
        "jwt_secret": secrets.token_urlsafe(48),
        "encryption_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "meta_app_secret": TEST_APP_SECRET,
        "meta_verify_token": TEST_VERIFY_TOKEN,
        "log_json": True,
    }
    values.update(overrides)
    return Settings(**values)


@pytest_asyncio.fixture(loop_scope="session")
async def settings(backend: Backend, tmp_path: Path) -> AsyncIterator[Settings]:
    await _clear(backend.url)
    yield make_settings(backend, tmp_path)


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=120):
        yield application


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass
class Account:
    """A signed-in user of a tenant, with helpers to call the API as them."""

    http: httpx.AsyncClient
    token: str
    refresh_token: str
    user: dict[str, Any]
    tenant_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, headers=self.headers, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.http.post(url, headers=headers, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.patch(url, headers=self.headers, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.delete(url, headers=self.headers, **kwargs)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, url, headers=self.headers, **kwargs)


async def login(http: httpx.AsyncClient, email: str, password: str) -> Account:
    response = await http.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(http, body["accessToken"], body["refreshToken"], body["user"], body["user"]["tenantId"])


async def register(http: httpx.AsyncClient, company: str, email: str | None = None) -> Account:
    email = email or f"owner-{uuid.uuid4().hex[:8]}@example.com"
    response = await http.post(
        "/api/auth/register",
        json={"companyName": company, "name": "Owner", "email": email, "password": "correct horse battery"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(http, body["accessToken"], body["refreshToken"], body["user"], body["tenant"]["id"])


@pytest_asyncio.fixture(loop_scope="session")
async def demo(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Account]:
    """The demo tenant of the contract, signed in as its admin and its agent."""
    from wadesk.db.session import unit_of_work
    from wadesk.ops.demo_seed import seed_demo

    runtime = app.state.runtime
    async with unit_of_work(runtime.sessionmaker) as session:
        await seed_demo(session, runtime.keyring)
    return {
        "admin": await login(client, "admin@demo.com", "admin123"),
        "agent": await login(client, "agent@demo.com", "agent123"),
    }


@dataclass(frozen=True)
class PasswordHashing:
    hasher: Any
    dummy_hash: str


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[PasswordHashing]:
    """Argon2id at its minimum cost for the test run: a production-cost hash takes a good fraction of a second
    and most tests sign in several times. Yields the production hasher, which tests/unit/kit/test_passwords.py
    puts back to assert its parameters."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from wadesk.kit import passwords

    production = PasswordHashing(passwords._hasher, passwords._DUMMY_HASH)
    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", cheap)
        patch.setattr(passwords, "_DUMMY_HASH", cheap.hash("wadesk-timing-equaliser"))
        yield production


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error of the API's one shape, `{"error": {"code", "message", "details"}}`."""
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str), body
    assert error["code"], body
    assert isinstance(error["message"], str), body
    assert error["message"], body
    assert "Traceback" not in response.text
    if code is not None:
        assert error["code"] == code, body
    return dict(error)


@dataclass(frozen=True)
class DemoData:
    """Ids of the demo tenant's rows, read from the database after seeding."""

    tenant_id: uuid.UUID
    admin_id: uuid.UUID
    agent_id: uuid.UUID
    number_id: uuid.UUID
    # wa_id -> id
    contacts: dict[str, uuid.UUID]
    conversations: dict[str, uuid.UUID]
    # wa_id -> message ids, oldest first
    messages: dict[str, list[uuid.UUID]]
    templates: dict[str, uuid.UUID]


@pytest_asyncio.fixture(loop_scope="session")
async def demo_data(app: FastAPI, demo: dict[str, Account]) -> DemoData:
    from sqlalchemy import select

    from wadesk.contacts.models import Contact
    from wadesk.conversations.models import Conversation
    from wadesk.db.session import unit_of_work
    from wadesk.messages.models import Message
    from wadesk.phone_numbers.models import PhoneNumber
    from wadesk.templates.models import Template

    tenant_id = uuid.UUID(demo["admin"].tenant_id)
    async with unit_of_work(app.state.runtime.sessionmaker, tenant_id) as session:
        contacts = {c.wa_id: c for c in (await session.execute(select(Contact))).scalars()}
        by_contact = {c.id: c.wa_id for c in contacts.values()}
        conversations = {
            by_contact[c.contact_id]: c.id for c in (await session.execute(select(Conversation))).scalars()
        }
        messages: dict[str, list[uuid.UUID]] = {}
        for m in (await session.execute(select(Message).order_by(Message.created_at, Message.id))).scalars():
            messages.setdefault(by_contact[m.contact_id], []).append(m.id)
        number = (await session.execute(select(PhoneNumber))).scalar_one()
        templates = {t.name: t.id for t in (await session.execute(select(Template))).scalars()}
    return DemoData(
        tenant_id=tenant_id,
        admin_id=uuid.UUID(demo["admin"].user["id"]),
        agent_id=uuid.UUID(demo["agent"].user["id"]),
        number_id=number.id,
        contacts={wa_id: c.id for wa_id, c in contacts.items() if wa_id},
        conversations=conversations,
        messages=messages,
        templates=templates,
    )


@dataclass(frozen=True)
class Operation:
    """One method of one API route, as the app's route table declares it."""

    method: str
    path: str
    path_params: dict[str, Any]  # name -> annotation
    query_params: dict[str, Any]  # wire name -> annotation
    body: Any | None  # annotation of the JSON body, None when the route takes none
    body_required: bool
    form_body: bool = False  # a multipart form (file uploads) rather than JSON

    def url(self, **values: object) -> str:
        url = self.path
        for name in self.path_params:
            url = url.replace("{" + name + "}", str(values[name]))
        return url


def api_operations(app: FastAPI) -> list[Operation]:
    """Every operation under /api, flattened from the route table (included routers too), except the
    catch-all that answers unknown API paths."""
    from fastapi import params, routing

    if hasattr(routing, "iter_route_contexts"):
        routes = [(c.original_route, c.path, c.methods) for c in routing.iter_route_contexts(app.routes)]
    else:
        routes = [(r, getattr(r, "path", None), getattr(r, "methods", None)) for r in app.routes]
    operations = []
    for route, path, methods in routes:
        if not isinstance(route, routing.APIRoute) or not path or not path.startswith("/api/"):
            continue
        if path == "/api/{path:path}":
            continue
        dependant = route.dependant
        body = route.body_field
        for method in sorted(methods or ()):
            operations.append(
                Operation(
                    method=method,
                    path=path,
                    path_params={p.name: p.field_info.annotation for p in dependant.path_params},
                    query_params={q.alias: q.field_info.annotation for q in dependant.query_params},
                    body=body.field_info.annotation if body is not None else None,
                    body_required=bool(body is not None and body.field_info.is_required()),
                    form_body=body is not None and isinstance(body.field_info, params.Form),
                )
            )
    return operations
