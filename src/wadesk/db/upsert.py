"""`INSERT … ON CONFLICT DO NOTHING` on either backend: the idempotent write used by at-least-once handlers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.db.base import Base


async def insert_if_absent(
    session: AsyncSession, model: type[Base], values: dict[str, Any], conflict_columns: Sequence[str]
) -> uuid.UUID | None:
    """Insert a row unless one with the same unique key exists; the new id, or None when it existed."""
    values = {"id": uuid.uuid4(), **values}
    table = model.__table__
    assert isinstance(table, Table)
    stmt = _statement(table, session.get_bind().dialect.name, tuple(conflict_columns))
    row = (await session.execute(stmt, values)).first()
    return row[0] if row else None


@lru_cache(maxsize=128)
def _statement(table: Table, dialect: str, conflict_columns: tuple[str, ...]) -> Insert:
    # Built once, the values bound at execution: building it with the values inlined cost more than running it
    # (a new statement to coerce and a cache key to compute on every insert).
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns)).returning(table.c.id)
