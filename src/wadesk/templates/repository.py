from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from wadesk.conversations.repository import escape_like
from wadesk.kit.pagination import Cursor
from wadesk.kit.repository import Repository
from wadesk.templates.models import Template


@dataclass(frozen=True, slots=True)
class TemplateFilters:
    status: str | None = None
    name: str | None = None
    language: str | None = None
    category: str | None = None
    waba_id: str | None = None


class TemplateRepository(Repository[Template]):
    model = Template
    not_found_message = "Template not found."

    async def list_all(self) -> list[Template]:
        stmt = select(Template).order_by(Template.name, Template.language, Template.id)
        return list((await self.session.execute(stmt)).scalars())

    async def find(self, waba_id: str, name: str, language: str) -> Template | None:
        stmt = select(Template).where(
            Template.waba_id == waba_id, Template.name == name, Template.language == language
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_waba(self, waba_id: str) -> list[Template]:
        stmt = select(Template).where(Template.waba_id == waba_id)
        return list((await self.session.execute(stmt)).scalars())

    async def list_page(
        self, filters: TemplateFilters, *, limit: int, after: Cursor | None
    ) -> list[Template]:
        stmt = select(Template)
        if filters.status:
            stmt = stmt.where(Template.status == filters.status.upper())
        if filters.category:
            stmt = stmt.where(Template.category == filters.category.upper())
        if filters.language:
            stmt = stmt.where(Template.language == filters.language)
        if filters.waba_id:
            stmt = stmt.where(Template.waba_id == filters.waba_id)
        if filters.name:
            pattern = f"%{escape_like(filters.name.strip().lower())}%"
            stmt = stmt.where(func.lower(Template.name).like(pattern, escape="\\"))
        if after is not None and after.at is not None:
            stmt = stmt.where(
                or_(
                    Template.created_at < after.at,
                    and_(Template.created_at == after.at, Template.id < after.id),
                )
            )
        stmt = stmt.order_by(Template.created_at.desc(), Template.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())
