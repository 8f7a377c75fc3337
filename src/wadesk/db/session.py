"""Engine and sessions: one session per request or job, committed at the edge.

Tenant scope lives here, in one place: a session opened for a tenant adds `tenant_id = :tenant` to every ORM
query on a `TenantMixin` table (SELECT, UPDATE and DELETE) and stamps it on new rows, so no repository can
forget it. Jobs queued during a transaction are sent only after it commits and dropped on rollback.

On PostgreSQL the same scope also drives row-level security (wadesk.db.rls), the second wall: before a
session's statement reaches the server, its transaction's `app.tenant_id` is set to the session's tenant
(`set_config(..., true)`, so it dies with the transaction and a pooled connection never carries it to the next
one). A session with no tenant is a system session (sign-in lookups, webhook routing, the sweeper) and sets
`app.bypass_rls = 'on'`; so does a statement marked `skip_tenant_scope`, for that statement only. Raw engine
connections that belong to no session set nothing, and see no tenant rows. Connections whose role ignores
policies anyway (superuser, BYPASSRLS) skip all of this.
"""

from __future__ import annotations

import errno
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExecutionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.orm.unitofwork import UOWTransaction
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from wadesk.db.base import TenantMixin

TENANT_KEY = "tenant_id"
AFTER_COMMIT_KEY = "after_commit"
# session.info: set while a flush writes rows of several tenants (see _flush_rls).
FLUSH_BYPASS_KEY = "rls_flush_bypass"
# connection.info (per pooled DBAPI connection): the owning session's info, what was set, role exemption.
_RLS_SESSION = "wadesk_rls_session"
# What the current transaction of a pooled connection has set (tenant, bypass); benchmarks count changes.
RLS_APPLIED_KEY = "wadesk_rls_applied"
_RLS_EXEMPT = "wadesk_rls_exempt"
# A pooled connection idle for longer than this is pinged (one round trip) before it is handed out: the server
# may have closed it meanwhile (restart, idle timeout). One in steady use is not: a ping on every checkout
# doubled the round trips of short transactions such as a webhook's insert.
PING_AFTER_IDLE_SECONDS = 5.0
_RETURNED_AT = "wadesk_returned_at"

AfterCommit = Callable[[], Awaitable[None]]
# session.info: what code remembers for the length of the current transaction (transaction_cache).
_TRANSACTION_CACHES = "transaction_caches"

# PostgreSQL's SQLSTATEs for "no server to talk to": connection exceptions (class 08), the server shutting
# down or starting up (57P01-57P03), and no connection slot left (53300).
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
_UNREACHABLE_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN})


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached right now (refused, dropped, shutting down, no pool
    connection in time) rather than that a statement is wrong: worth retrying once the database is back.

    Connecting is not wrapped by SQLAlchemy, so the driver's own errors (OSError, asyncpg's) arrive as they
    are; a connection lost mid-statement arrives wrapped, marked `connection_invalidated`, its cause the
    driver's error."""
    current: BaseException | None = exc
    for _ in range(5):
        if current is None:
            return False
        if isinstance(current, PoolTimeout | ConnectionError | TimeoutError | socket.gaierror):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OSError) and current.errno in _UNREACHABLE_ERRNOS:
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNREACHABLE_SQLSTATES):
            return True
        current = current.__cause__
    return False


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    if url.startswith("sqlite"):
        memory = ":memory:" in url or url.endswith("sqlite+aiosqlite://")
        # A file database keeps a pool of connections: opening one starts a thread, connects and sets four
        # pragmas, and aiosqlite waits for that thread on the event loop (half the embedded server's busy
        # time during a campaign when every transaction opened its own).
        pooling: dict[str, Any] = (
            {"poolclass": StaticPool} if memory else {"pool_size": pool_size, "max_overflow": 0}
        )
        engine = create_async_engine(url, connect_args={"timeout": 30}, **pooling)
        _configure_sqlite(engine.sync_engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
    )
    _ping_idle_connections(engine.sync_engine)
    if engine.dialect.name == "postgresql":
        _configure_row_level_security(engine.sync_engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return  # new, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out another (a new one if need be).
            raise DisconnectionError("pooled connection is gone") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself so SELECT ... then UPDATE share one transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so concurrent writers queue instead of deadlocking.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_row_level_security(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
        finally:
            cursor.close()
        dbapi_connection.rollback()
        record.info[_RLS_EXEMPT] = bool(row and row[0])

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(
        connection: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        info = connection.info
        session_info = info.get(_RLS_SESSION)
        if session_info is None or info.get(_RLS_EXEMPT):
            return
        skip = bool(context is not None and context.execution_options.get("skip_tenant_scope"))
        wanted = _rls_settings(session_info, bypass=skip)
        if info.get(RLS_APPLIED_KEY) == wanted:
            return
        tenant, bypass = wanted
        # Values are a UUID's canonical form and a constant, so they are inlined; the raw cursor keeps this
        # statement out of the events it is part of.
        cursor.execute(
            f"SELECT set_config('app.tenant_id', '{tenant}', true), set_config('app.bypass_rls', '{bypass}', true)"
        )
        info[RLS_APPLIED_KEY] = wanted

    def _forget_applied(connection: Connection, *_: Any) -> None:
        # set_config(..., true) ends with the transaction (or the savepoint rolled back): set it anew next time.
        if not connection.invalidated:
            connection.info.pop(RLS_APPLIED_KEY, None)

    def _end_of_transaction(connection: Connection) -> None:
        # A connection the server dropped has no info left to clear (reading it would raise, hiding the
        # disconnect behind a PendingRollbackError); the pool replaces it.
        if connection.invalidated:
            return
        connection.info.pop(RLS_APPLIED_KEY, None)
        connection.info.pop(_RLS_SESSION, None)

    event.listen(engine, "commit", _end_of_transaction)
    event.listen(engine, "rollback", _end_of_transaction)
    event.listen(engine, "rollback_savepoint", _forget_applied)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_: Any, record: ConnectionPoolEntry) -> None:
        record.info.pop(RLS_APPLIED_KEY, None)
        record.info.pop(_RLS_SESSION, None)


def _rls_settings(session_info: dict[str, Any], *, bypass: bool) -> tuple[str, str]:
    tenant = session_info.get(TENANT_KEY)
    if not isinstance(tenant, uuid.UUID):
        return "", "on"
    return str(tenant), "on" if bypass or session_info.get(FLUSH_BYPASS_KEY) else "off"


@event.listens_for(Session, "after_begin")
def _link_connection(session: Session, _: SessionTransaction, connection: Connection) -> None:
    # The connection reads the session's scope at each statement, so scoping a session whose transaction
    # has already begun (the auth dependency looks the user up first) takes effect at the next statement.
    if connection.dialect.name == "postgresql":
        connection.info[_RLS_SESSION] = session.info


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def tenant_of(session: AsyncSession | Session) -> uuid.UUID | None:
    value = session.info.get(TENANT_KEY)
    return value if isinstance(value, uuid.UUID) else None


def scope_to_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    session.info[TENANT_KEY] = tenant_id


def transaction_cache(session: AsyncSession | Session, name: str) -> dict[Any, Any]:
    """A dictionary that lives as long as the session's current transaction: what one delivery of a batch
    looked up (a number's owner, a lock taken) serves the next, and nothing outlives the transaction."""
    caches: dict[str, dict[Any, Any]] = session.info.setdefault(_TRANSACTION_CACHES, {})
    return caches.setdefault(name, {})


@event.listens_for(Session, "after_transaction_end")
def _drop_transaction_caches(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_TRANSACTION_CACHES, None)


def run_after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the current transaction commits; forget it on rollback."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


@event.listens_for(Session, "do_orm_execute")
def _apply_tenant_scope(state: ORMExecuteState) -> None:
    tenant_id = tenant_of(state.session)
    if tenant_id is None or state.execution_options.get("skip_tenant_scope"):
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantMixin,
                lambda cls: cls.tenant_id == tenant_id,
                include_aliases=True,
                track_closure_variables=False,
            )
        )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, *_: Any) -> None:
    tenant_id = tenant_of(session)
    if tenant_id is None:
        return
    for obj in session.new:
        if isinstance(obj, TenantMixin):
            current = getattr(obj, "tenant_id", None)
            if current is None:
                obj.tenant_id = tenant_id
            elif current != tenant_id:
                raise PermissionError("refusing to write a row of another tenant")
    _flush_rls(session, tenant_id)


def _flush_rls(session: Session, tenant_id: uuid.UUID) -> None:
    # A session that moved from one tenant to the next (a webhook delivery for several companies) writes
    # back rows it loaded under the earlier scope: those rows were read legitimately, so the flush may
    # write them. New rows of another tenant are refused above whatever the database would say.
    spans_tenants = any(
        isinstance(obj, TenantMixin) and getattr(obj, "tenant_id", tenant_id) != tenant_id
        for obj in (*session.dirty, *session.deleted)
    )
    if spans_tenants:
        session.info[FLUSH_BYPASS_KEY] = True


@event.listens_for(Session, "after_flush_postexec")
def _end_flush_rls(session: Session, _: UOWTransaction) -> None:
    session.info.pop(FLUSH_BYPASS_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _end_flush_rls_on_failure(session: Session, _: SessionTransaction) -> None:
    session.info.pop(FLUSH_BYPASS_KEY, None)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)
    session.info.pop(FLUSH_BYPASS_KEY, None)


async def commit(session: AsyncSession) -> None:
    """Commit, then run what was deferred until after the commit (enqueueing jobs, publishing events)."""
    await session.commit()
    callbacks: list[AfterCommit] = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        await callback()


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID | None = None
) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    async with sessionmaker() as session:
        if tenant_id is not None:
            scope_to_tenant(session, tenant_id)
        try:
            yield session
            await commit(session)
        except BaseException:
            await session.rollback()
            raise
