from __future__ import annotations

from sqlalchemy import select

from wadesk.api_keys.models import ApiKey
from wadesk.kit.repository import Repository


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey
    not_found_message = "API key not found."

    async def list_all(self) -> list[ApiKey]:
        stmt = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        return list((await self.session.execute(stmt)).scalars())

    async def by_hash_any_tenant(self, key_hash: str) -> ApiKey | None:
        """The key with this hash whatever its tenant: the key is what tells the tenant."""
        stmt = select(ApiKey).where(ApiKey.key_hash == key_hash).execution_options(skip_tenant_scope=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()
