"""Engine and sessions: one session per request or job, committed at the edge.

Tenant scope lives here, in one place: a session opened for a tenant adds `tenant_id = :tenant` to every ORM
query on a `TenantMixin` table (SELECT, UPDATE and DELETE) and stamps it on new rows, so no repository can
forget it. Jobs queued during a transaction are sent only after it commits and dropped on rollback.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.pool import NullPool, StaticPool

from wadesk.db.base import TenantMixin

TENANT_KEY = "tenant_id"
AFTER_COMMIT_KEY = "after_commit"

AfterCommit = Callable[[], Awaitable[None]]


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        memory = ":memory:" in url or url.endswith("sqlite+aiosqlite://")
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            poolclass=StaticPool if memory else NullPool,
        )
        _configure_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


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


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def tenant_of(session: AsyncSession | Session) -> uuid.UUID | None:
    value = session.info.get(TENANT_KEY)
    return value if isinstance(value, uuid.UUID) else None


def scope_to_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    session.info[TENANT_KEY] = tenant_id


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


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)


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
