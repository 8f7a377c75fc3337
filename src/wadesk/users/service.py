"""User management within a tenant: admins add agents, change roles, deactivate."""

from __future__ import annotations

import uuid

from wadesk.auth.dependencies import Ctx
from wadesk.db.base import utcnow
from wadesk.errors import Conflict, Forbidden, Unprocessable
from wadesk.kit.passwords import hash_password_async, password_problem
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit
from wadesk.tenants.models import Tenant
from wadesk.users.models import Role, User
from wadesk.users.repository import RefreshTokenRepository, UserRepository
from wadesk.users.schemas import UserCreate, UserUpdate


async def list_users(ctx: Ctx) -> list[User]:
    return await UserRepository(ctx.session).list_all()


async def get_user(ctx: Ctx, user_id: uuid.UUID) -> User:
    return await UserRepository(ctx.session).get_or_404(user_id)


async def create_user(ctx: Ctx, data: UserCreate) -> User:
    users = UserRepository(ctx.session)
    if problem := password_problem(data.password):
        raise Unprocessable(problem, code="weak_password")
    if await users.by_email(data.email) is not None:
        raise Conflict("A user with this email already exists.", code="email_taken")
    tenant = await ctx.session.get(Tenant, ctx.tenant_id)
    if tenant is not None and await users.count() >= tenant.max_users:
        raise Unprocessable("Your plan's user limit is reached.", code="user_limit_reached")
    user = users.add(
        User(
            email=data.email.lower(),
            name=data.name,
            role=data.role,
            password_hash=await hash_password_async(data.password),
        )
    )
    await users.flush()
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.USER_CREATED,
        target_type="user",
        target_id=user.id,
        details={"email": user.email, "role": user.role},
    )
    return user


async def update_user(ctx: Ctx, user_id: uuid.UUID, data: UserUpdate) -> User:
    users = UserRepository(ctx.session)
    user = await users.get_or_404(user_id)
    is_self = user.id == ctx.user_id
    changes = data.model_dump(exclude_unset=True)
    if not ctx.principal.is_admin and (not is_self or set(changes) - {"name", "availability"}):
        raise Forbidden(
            "Only administrators can change other users, roles or activation.", code="admin_required"
        )
    for key in ("name", "role", "is_active", "availability"):
        if changes.get(key) is None:
            changes.pop(key, None)
    demotes_admin = user.role == Role.ADMIN and (
        changes.get("role", Role.ADMIN) != Role.ADMIN or changes.get("is_active") is False
    )
    if demotes_admin and user.is_active and await users.count_active_admins(lock=True) <= 1:
        raise Unprocessable("A company needs at least one active administrator.", code="last_admin")
    before = {"role": user.role, "is_active": user.is_active}
    for key, value in changes.items():
        setattr(user, key, value)
    if changes.get("is_active") is False:
        await RefreshTokenRepository(ctx.session).revoke_for_user(user.id, utcnow())
    if "role" in changes or "is_active" in changes:
        record_audit(
            ctx.session,
            tenant_id=ctx.tenant_id,
            actor_user_id=ctx.user_id,
            action=AuditAction.USER_UPDATED,
            target_type="user",
            target_id=user.id,
            details={"before": before, "after": {"role": user.role, "is_active": user.is_active}},
        )
    return user
