from __future__ import annotations

from sqlalchemy import select

from wadesk.kit.repository import Repository
from wadesk.templates.models import Template


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
