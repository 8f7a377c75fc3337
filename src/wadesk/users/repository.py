from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update

from wadesk.kit.repository import Repository
from wadesk.users.models import RefreshToken, Role, User


class UserRepository(Repository[User]):
    model = User
    not_found_message = "User not found."

    async def by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(func.lower(User.email) == email.lower()))
        return result.scalar_one_or_none()

    async def list_all(self) -> list[User]:
        result = await self.session.execute(select(User).order_by(User.name, User.id))
        return list(result.scalars())

    async def count_active_admins(self, *, lock: bool = False) -> int:
        """With `lock`, the admins' rows stay locked until commit: two concurrent demotions then cannot both
        see the other admin and leave the company with none."""
        active_admin = (User.role == Role.ADMIN, User.is_active.is_(True))
        if lock:
            locked = select(User.id).where(*active_admin).order_by(User.id).with_for_update()
            return len((await self.session.execute(locked)).all())
        stmt = select(func.count()).select_from(User).where(*active_admin)
        return int((await self.session.execute(stmt)).scalar_one())

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(User))).scalar_one())


class RefreshTokenRepository(Repository[RefreshToken]):
    model = RefreshToken

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        result = await self.session.execute(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
        return result.scalar_one_or_none()

    async def mark_spent(self, token_id: uuid.UUID, at: datetime) -> bool:
        """Compare-and-set: only one concurrent refresh may spend a token."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.id == token_id,
                RefreshToken.spent_at.is_(None),
                RefreshToken.revoked_at.is_(None),
            )
            .values(spent_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
            .execution_options(synchronize_session=False)
        )

    async def revoke_for_user(self, user_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
            .execution_options(synchronize_session=False)
        )
