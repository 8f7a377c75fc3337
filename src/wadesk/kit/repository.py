"""Repository base. Tenant scope is applied by the session (db.session), so repositories stay plain."""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.db.base import Base
from wadesk.errors import NotFound

ModelT = TypeVar("ModelT", bound=Base)


class Repository(Generic[ModelT]):
    model: type[ModelT]
    not_found_message = "Not found."

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id: uuid.UUID) -> ModelT | None:
        result = await self.session.execute(select(self.model).where(self.model.id == id))  # type: ignore[attr-defined]
        return result.scalar_one_or_none()

    async def get_or_404(self, id: uuid.UUID) -> ModelT:
        found = await self.get(id)
        if found is None:
            raise NotFound(self.not_found_message)
        return found

    def add(self, obj: ModelT) -> ModelT:
        self.session.add(obj)
        return obj

    async def flush(self) -> None:
        await self.session.flush()

    async def lock(self, obj: ModelT, **_: Any) -> None:
        await self.session.refresh(obj, with_for_update=True)
