"""`INSERT … ON CONFLICT DO NOTHING` on either backend: the idempotent write used by at-least-once handlers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.db.base import Base


async def insert_if_absent(
    session: AsyncSession, model: type[Base], values: dict[str, Any], conflict_columns: Sequence[str]
) -> uuid.UUID | None:
    """Insert a row unless one with the same unique key exists; the new id, or None when it existed."""
    values = {"id": uuid.uuid4(), **values}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(model.__table__.c.id)
    )
    result = await session.execute(stmt)
    row = result.first()
    return row[0] if row else None
