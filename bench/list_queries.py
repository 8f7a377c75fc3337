"""Conversation list and message history on a big tenant: 100,000 conversations and 2,000,000 messages.

Builds a scratch PostgreSQL database (created and dropped here), migrates it, seeds one company through the
API and the ORM, then multiplies the rows server-side (INSERT ... SELECT generate_series: every column the
schema has, new ones included, copied from a row the application wrote). Then, for the API in this process
(httpx over ASGI, no network):

- the inbox (`GET /api/conversations`) first page, and page 1,000 reached by walking the cursors;
- a message history (`GET /api/messages?conversationId=`) of a 100,019-message conversation, same pages;

p50/p95 latency and SQL statements per request (row-level security's `set_config` included), connected
as the application role (wadesk_app: policies apply) and as the owner (superuser: policies bypassed), next to
the raw baseline: the very statement the API sent, run bare on asyncpg.

`python -m bench.list_queries [--keep] [--reuse]`: --keep leaves the scratch database for inspection; --reuse
measures again on a kept one (migrated to the current schema) instead of loading it anew.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bench.pgbench import libpq_url

ADMIN_URL = os.environ.get(
    "WADESK_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
SCRATCH_DB = "wadesk_bench_lists"
APP_LOGIN = "wadesk_bench_app"
CONVERSATIONS = 100_000
MESSAGES = 2_000_000
PER_CONVERSATION = 19  # messages in each ordinary conversation
PAGE = 25  # the API's default page size
FAR_PAGE = 1_000
SAMPLES = int(os.environ.get("WADESK_BENCH_SAMPLES", "200"))
WARMUP = 20
PASSWORD = "bench horse battery staple"


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


class StatementCounter:
    """Counts statements sent on an engine, including row-level security's set_config (sent on the raw cursor
    by wadesk.db.session, visible here as a change of what the connection has applied)."""

    def __init__(self) -> None:
        self.count = 0
        self.last: tuple[str, Any] | None = None

    def attach(self, sync_engine: Any) -> None:
        from wadesk.db.session import RLS_APPLIED_KEY

        @event.listens_for(sync_engine, "before_cursor_execute")
        def _count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            self.count += 1
            applied = conn.info.get(RLS_APPLIED_KEY)
            if applied is not None and conn.info.get("bench_seen") != applied:
                self.count += 1
            conn.info["bench_seen"] = applied
            if statement.lstrip().upper().startswith("SELECT") and (
                "FROM conversations" in statement or "FROM messages" in statement
            ):
                self.last = (statement, parameters)

        @event.listens_for(sync_engine, "commit")
        @event.listens_for(sync_engine, "rollback")
        def _end(conn: Any) -> None:
            conn.info.pop("bench_seen", None)


def _url(database: str, user: str | None = None) -> str:
    url = make_url(ADMIN_URL).set(database=database)
    if user is not None:
        url = url.set(username=user, password=None)
    return url.render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(libpq_url(ADMIN_URL))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create_scratch_database() -> str:
    await _admin(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
    await _admin(f"CREATE DATABASE {SCRATCH_DB}")
    url = _url(SCRATCH_DB)
    from wadesk.db.migrate import upgrade_to_head

    await asyncio.to_thread(upgrade_to_head, url)
    await _admin(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_LOGIN}') THEN "
        f"CREATE ROLE {APP_LOGIN} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$"
    )
    await _admin(f"GRANT wadesk_app TO {APP_LOGIN}")
    return url


@asynccontextmanager
async def running_app(database_url: str, data_dir: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    from wadesk.app import create_app
    from wadesk.config import Settings
    from wadesk.infra.logging import configure_logging

    settings = Settings(
        env="development",
        database_url=database_url,
        data_dir=data_dir,
        rate_limit_enabled=False,
        log_json=True,
        # The cursor walks take minutes on a busy machine; the measured requests must not expire midway.
        access_token_ttl_seconds=6 * 3600,
    )
    application = create_app(settings)
    # One log line per request would be measured too.
    configure_logging(json_output=True, level=logging.WARNING)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as http:
            yield http, application


async def seed(database_url: str, data_dir: Path) -> dict[str, Any]:
    """One company with a number, one contact, conversation and message, written by the application."""
    from wadesk.contacts.models import Contact
    from wadesk.conversations.models import Conversation
    from wadesk.db.base import utcnow
    from wadesk.db.session import unit_of_work
    from wadesk.messages.models import Direction, Message, MessageStatus

    async with running_app(database_url, data_dir) as (http, application):
        registered = await http.post(
            "/api/auth/register",
            json={
                "companyName": "Bench Co",
                "name": "Owner",
                "email": "owner@bench.example",
                "password": PASSWORD,
            },
        )
        registered.raise_for_status()
        token = registered.json()["accessToken"]
        tenant_id = uuid.UUID(registered.json()["tenant"]["id"])
        number = await http.post(
            "/api/phone-numbers",
            headers={"Authorization": f"Bearer {token}"},
            json={"wabaId": "100200300", "phoneNumberId": "400500600", "displayPhoneNumber": "+1 555 0100",
                  "accessToken": "bench-number-access-token"},
        )  # fmt: skip
        number.raise_for_status()
        number_id = uuid.UUID(number.json()["id"])
        now = utcnow()
        async with unit_of_work(application.state.runtime.sessionmaker, tenant_id) as session:
            contact = Contact(wa_id="15550000000", profile_name="Customer 0")
            session.add(contact)
            await session.flush()
            conversation = Conversation(
                contact_id=contact.id,
                phone_number_id=number_id,
                last_message_at=now,
                last_message_preview="Hi",
            )
            session.add(conversation)
            await session.flush()
            message = Message(
                conversation_id=conversation.id, phone_number_id=number_id, contact_id=contact.id,
                direction=Direction.INBOUND, type="text", content={"body": "Hi"}, body_text="Hi",
                wamid="wamid.bench.0", status=MessageStatus.RECEIVED, created_at=now, meta_timestamp=now,
            )  # fmt: skip
            session.add(message)
            await session.flush()
            ids = {"contact": contact.id, "conversation": conversation.id, "message": message.id}
    return {"tenant": tenant_id, **ids}


async def _clone(
    connection: asyncpg.Connection, table: str, template: uuid.UUID, overrides: dict[str, str], extra: str
) -> int:
    """INSERT copies of one row, every column copied unless overridden by an expression."""
    columns = [
        row["column_name"]
        for row in await connection.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            table,
        )
    ]
    select = ", ".join(overrides.get(column, f't."{column}"') for column in columns)
    names = ", ".join(f'"{column}"' for column in columns)
    status = await connection.execute(
        f"INSERT INTO {table} ({names}) SELECT {select} FROM {table} t {extra.replace('$template', '$1')}",
        template,
    )
    return int(status.split()[-1])


async def multiply(database_url: str, ids: dict[str, Any]) -> dict[str, int]:
    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        # The generated rows reference each other correctly by construction: skip the per-row foreign-key
        # triggers (superuser only), which would otherwise dominate the load time.
        await connection.execute("SET session_replication_role = replica")
        others = CONVERSATIONS - 1
        contacts = await _clone(
            connection, "contacts", ids["contact"],
            {"id": "gen_random_uuid()", "wa_id": "'1555' || lpad(g::text, 7, '0')",
             "profile_name": "'Customer ' || g", "created_at": "t.created_at - g * interval '1 second'",
             "updated_at": "t.created_at - g * interval '1 second'"},
            f", generate_series(1, {others}) g WHERE t.id = $template",
        )  # fmt: skip
        conversations = await _clone(
            connection, "conversations", ids["conversation"],
            {"id": "gen_random_uuid()", "contact_id": "c.id",
             "status": "(ARRAY['open','pending','resolved','resolved','archived'])[1 + abs(hashtext(c.id::text)) % 5]",
             "unread_count": "abs(hashtext(c.wa_id)) % 3",
             "last_message_at": "c.created_at + interval '1 minute'",
             "last_message_preview": "'Message 1 from ' || c.profile_name",
             "created_at": "c.created_at", "updated_at": "c.created_at + interval '1 minute'"},
            ", contacts c WHERE t.id = $template AND c.tenant_id = t.tenant_id AND c.id <> t.contact_id",
        )  # fmt: skip
        ordinary = await _clone(
            connection, "messages", ids["message"],
            {"id": "gen_random_uuid()", "conversation_id": "v.id", "contact_id": "v.contact_id",
             "wamid": "'wamid.bench.' || v.id || '.' || g",
             "direction": "CASE WHEN g % 2 = 0 THEN 'outbound' ELSE 'inbound' END",
             "status": "CASE WHEN g % 2 = 0 THEN 'read' ELSE 'received' END",
             "content": "jsonb_build_object('body', 'Message ' || g)", "body_text": "'Message ' || g",
             "created_at": "v.last_message_at - (g - 1) * interval '2 minutes'",
             "updated_at": "v.last_message_at - (g - 1) * interval '2 minutes'",
             "meta_timestamp": "v.last_message_at - (g - 1) * interval '2 minutes'"},
            f", conversations v, generate_series(1, {PER_CONVERSATION}) g "
            "WHERE t.id = $template AND v.tenant_id = t.tenant_id AND v.id <> t.conversation_id",
        )  # fmt: skip
        whale = MESSAGES - 1 - ordinary
        thread = await _clone(
            connection, "messages", ids["message"],
            {"id": "gen_random_uuid()", "wamid": "'wamid.thread.' || g",
             "direction": "CASE WHEN g % 2 = 0 THEN 'outbound' ELSE 'inbound' END",
             "status": "CASE WHEN g % 2 = 0 THEN 'read' ELSE 'received' END",
             "content": "jsonb_build_object('body', 'Message ' || g)", "body_text": "'Message ' || g",
             "created_at": "t.created_at - g * interval '1 second'",
             "updated_at": "t.created_at - g * interval '1 second'",
             "meta_timestamp": "t.created_at - g * interval '1 second'"},
            f", generate_series(1, {whale}) g WHERE t.id = $template",
        )  # fmt: skip
        for table in ("contacts", "conversations", "messages"):
            await connection.execute(f"VACUUM (ANALYZE) {table}")
        counts = {
            "contacts": contacts + 1,
            "conversations": conversations + 1,
            "messages": ordinary + thread + 1,
            "thread": thread + 1,
        }
        actual = await connection.fetchval("SELECT count(*) FROM messages")
        assert actual == MESSAGES, actual
        assert await connection.fetchval("SELECT count(*) FROM conversations") == CONVERSATIONS
        return counts
    finally:
        await connection.close()


async def _timed(
    http: httpx.AsyncClient, counter: StatementCounter, url: str, headers: dict[str, str]
) -> tuple[float, int, dict[str, Any]]:
    before = counter.count
    started = time.perf_counter()
    response = await http.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, counter.count - before, response.json()


async def measure(
    http: httpx.AsyncClient, counter: StatementCounter, url: str, headers: dict[str, str]
) -> tuple[Figures, tuple[str, Any] | None]:
    figures = Figures()
    for _ in range(WARMUP):
        await _timed(http, counter, url, headers)
    counter.last = None
    for _ in range(SAMPLES):
        elapsed, statements, _ = await _timed(http, counter, url, headers)
        figures.latencies.append(elapsed)
        figures.statements.append(statements)
    return figures, counter.last


async def walk(http: httpx.AsyncClient, counter: StatementCounter, url: str, headers: dict[str, str]) -> str:
    """The cursor of page FAR_PAGE, following nextCursor from the first page."""
    cursor = None
    for _ in range(FAR_PAGE - 1):
        page_url = url if cursor is None else f"{url}&cursor={cursor}"
        _, _, body = await _timed(http, counter, page_url, headers)
        cursor = body["nextCursor"]
        assert cursor, "ran out of pages"
    return str(cursor)


async def raw_baseline(database_url: str, statement: tuple[str, Any] | None) -> Figures:
    """The API's own SELECT for the page, run bare on asyncpg (as the owner: no policies)."""
    figures = Figures()
    if statement is None:
        return figures
    sql, parameters = statement
    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        prepared = await connection.prepare(sql)
        for index in range(WARMUP + SAMPLES):
            started = time.perf_counter()
            await prepared.fetch(*parameters)
            if index >= WARMUP:
                figures.latencies.append(time.perf_counter() - started)
    finally:
        await connection.close()
    return figures


async def run_api(
    database_url: str, label: str, data_dir: Path, thread_id: uuid.UUID
) -> list[tuple[str, Figures, Figures]]:
    async with running_app(database_url, data_dir) as (http, application):
        counter = StatementCounter()
        counter.attach(application.state.runtime.engine.sync_engine)
        login = await http.post(
            "/api/auth/login", json={"email": "owner@bench.example", "password": PASSWORD}
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        inbox = f"/api/conversations?limit={PAGE}"
        history = f"/api/messages?conversationId={thread_id}&limit={PAGE}"
        results = []
        for name, url in (("inbox", inbox), ("history", history)):
            first, first_sql = await measure(http, counter, url, headers)
            far_cursor = await walk(http, counter, url, headers)
            far, far_sql = await measure(http, counter, f"{url}&cursor={far_cursor}", headers)
            owner_url = _url(SCRATCH_DB)
            results.append((f"{name} page 1 [{label}]", first, await raw_baseline(owner_url, first_sql)))
            results.append(
                (f"{name} page {FAR_PAGE:,} [{label}]", far, await raw_baseline(owner_url, far_sql))
            )
        return results


def report(results: list[tuple[str, Figures, Figures]], counts: dict[str, int], load_seconds: float) -> None:
    loaded = f"loaded in {load_seconds:.0f} s" if load_seconds else "kept from an earlier run"
    print(
        f"data: {counts['conversations']:,} conversations, {counts['messages']:,} messages "
        f"(history thread: {counts['thread']:,} messages), {loaded}; "
        f"page size {PAGE}, {SAMPLES} samples each; load average {os.getloadavg()[0]:.1f}"
    )
    header = f"{'request':<40} {'p50 ms':>8} {'p95 ms':>8} {'SQL/req':>8} {'raw p50':>8} {'raw p95':>8}"
    print(header)
    print("-" * len(header))
    for name, api, raw in results:
        statements = statistics.mean(api.statements)
        spread = "" if min(api.statements) == max(api.statements) else "~"
        raw_p50 = f"{raw.p(0.5):8.2f}" if raw.latencies else f"{'-':>8}"
        raw_p95 = f"{raw.p(0.95):8.2f}" if raw.latencies else f"{'-':>8}"
        print(
            f"{name:<40} {api.p(0.5):8.2f} {api.p(0.95):8.2f} {spread}{statements:7.0f} {raw_p50} {raw_p95}"
        )


@contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="wadesk-bench-") as folder:
        yield Path(folder)


async def loaded_database() -> tuple[dict[str, Any], dict[str, int]] | None:
    """The scratch database of an earlier `--keep` run, when it holds the full data set."""
    try:
        connection = await asyncpg.connect(libpq_url(_url(SCRATCH_DB)))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        if await connection.fetchval("SELECT count(*) FROM messages") != MESSAGES:
            return None
        thread, size = await connection.fetchrow(
            "SELECT conversation_id, count(*) FROM messages GROUP BY conversation_id ORDER BY 2 DESC LIMIT 1"
        )
        conversations = await connection.fetchval("SELECT count(*) FROM conversations")
        counts = {
            "contacts": conversations,
            "conversations": conversations,
            "messages": MESSAGES,
            "thread": size,
        }
        return {"conversation": thread}, counts
    finally:
        await connection.close()


async def run(keep: bool, reuse: bool) -> int:
    started = time.perf_counter()
    earlier = await loaded_database() if reuse else None
    url = _url(SCRATCH_DB) if earlier else await create_scratch_database()
    if earlier:
        from wadesk.db.migrate import upgrade_to_head

        await asyncio.to_thread(upgrade_to_head, url)
    try:
        with scratch_dir() as data_dir:
            if earlier:
                ids, counts = earlier  # the owner's password is in the database; new secrets are fine
            else:
                ids = await seed(url, data_dir)
                counts = await multiply(url, ids)
            load_seconds = 0.0 if earlier else time.perf_counter() - started
            results = await run_api(
                _url(SCRATCH_DB, APP_LOGIN), "app role, RLS", data_dir, ids["conversation"]
            )
            results += await run_api(url, "owner", data_dir, ids["conversation"])
        report(results, counts, load_seconds)
    finally:
        if not keep:
            await _admin(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
    return 0


def main(argv: list[str]) -> int:
    return asyncio.run(run(keep="--keep" in argv or "--reuse" in argv, reuse="--reuse" in argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
