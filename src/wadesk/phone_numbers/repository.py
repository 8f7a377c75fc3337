from __future__ import annotations

from sqlalchemy import select

from wadesk.kit.repository import Repository
from wadesk.phone_numbers.models import PhoneNumber


class PhoneNumberRepository(Repository[PhoneNumber]):
    model = PhoneNumber
    not_found_message = "Phone number not found."

    async def list_all(self) -> list[PhoneNumber]:
        result = await self.session.execute(
            select(PhoneNumber).order_by(PhoneNumber.created_at, PhoneNumber.id)
        )
        return list(result.scalars())

    async def by_meta_id(self, phone_number_id: str) -> PhoneNumber | None:
        """Find a number by Meta's id. Unscoped sessions use this to route webhooks to their tenant."""
        result = await self.session.execute(
            select(PhoneNumber).where(PhoneNumber.phone_number_id == phone_number_id)
        )
        return result.scalar_one_or_none()
