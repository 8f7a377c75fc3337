"""One statement outside a transaction, given to the driver itself (asyncpg) on a pooled connection.

For the hottest single-statement paths only (a webhook delivery's INSERT, a job's probe of its delivery):
there SQLAlchemy's connection and execution layers cost as much as the statement. The statement commits
once it returns, in one round trip, and is prepared once per connection."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn


def supported(engine: AsyncEngine) -> bool:
    return engine.dialect.driver == "asyncpg"


async def fetch_value(engine: AsyncEngine, statement: str, *args: Any) -> Any:
    """The first column of the first row (None without rows)."""
    return await _run(engine, "fetchval", statement, args)


async def execute(engine: AsyncEngine, statement: str, *args: Any) -> None:
    await _run(engine, "execute", statement, args)


async def _run(engine: AsyncEngine, method: str, statement: str, args: tuple[Any, ...]) -> Any:
    pooled = await engine.raw_connection()
    driver = cast(Any, pooled.driver_connection)
    try:
        return await getattr(driver, method)(statement, *args)
    except BaseException as exc:
        # SQLAlchemy never saw the statement, so it cannot tell a lost connection: never hand this one out again.
        closed = driver.is_closed()
        await greenlet_spawn(pooled.invalidate, exc)
        if closed and isinstance(exc, Exception):
            # The database dropped this pooled connection (a restart) before we used it: to the caller the
            # database is out of reach for now, as with any other lost connection.
            raise ConnectionResetError("the database closed the pooled connection") from exc
        raise
    finally:
        # Closing and invalidating may await the driver, which SQLAlchemy does from a greenlet.
        await greenlet_spawn(pooled.close)
