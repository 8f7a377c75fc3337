"""Registration, login with throttling, refresh-token rotation with reuse detection, logout."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.db.base import utcnow
from wadesk.db.session import unit_of_work
from wadesk.errors import Conflict, TooManyRequests, Unauthorized, Unprocessable
from wadesk.infra.runtime import Runtime
from wadesk.kit.passwords import hash_password_async, password_problem, verify_password_async
from wadesk.kit.ratelimit import FailureCounter
from wadesk.kit.tokens import hash_opaque_token, new_refresh_token
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit
from wadesk.tenants.models import Tenant, TenantStatus
from wadesk.tenants.service import create_tenant
from wadesk.users.models import Role, User
from wadesk.users.repository import RefreshTokenRepository, UserRepository

INVALID_CREDENTIALS = "Invalid email or password."


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    per_account: FailureCounter
    per_ip: FailureCounter


async def issue_tokens(
    session: AsyncSession, runtime: Runtime, user: User, family_id: uuid.UUID | None = None
) -> IssuedTokens:
    refresh = new_refresh_token()
    session.add(
        RefreshTokenRepository.model(
            tenant_id=user.tenant_id,
            user_id=user.id,
            token_hash=hash_opaque_token(refresh),
            family_id=family_id or uuid.uuid4(),
            expires_at=utcnow() + timedelta(seconds=runtime.settings.refresh_token_ttl_seconds),
        )
    )
    access = runtime.signer.issue(user_id=user.id, tenant_id=user.tenant_id, role=user.role)
    return IssuedTokens(access, refresh, runtime.settings.access_token_ttl_seconds, user)


async def register(
    session: AsyncSession, runtime: Runtime, *, company_name: str, name: str, email: str, password: str
) -> tuple[IssuedTokens, Tenant]:
    if problem := password_problem(password):
        raise Unprocessable(problem, code="weak_password")
    users = UserRepository(session)
    if await users.by_email(email) is not None:
        raise Conflict("An account with this email already exists.", code="email_taken")
    tenant = await create_tenant(session, company_name)
    user = users.add(
        User(
            tenant_id=tenant.id,
            email=email.lower(),
            name=name,
            role=Role.ADMIN,
            password_hash=await hash_password_async(password),
        )
    )
    await session.flush()
    record_audit(session, tenant_id=tenant.id, actor_user_id=user.id, action=AuditAction.TENANT_REGISTERED)
    return await issue_tokens(session, runtime, user), tenant


async def login(
    session: AsyncSession,
    runtime: Runtime,
    throttle: LoginThrottle,
    *,
    email: str,
    password: str,
    client_ip: str,
) -> IssuedTokens:
    account_key = email.strip().lower()
    wait = max(
        await throttle.per_account.blocked_for(account_key), await throttle.per_ip.blocked_for(client_ip)
    )
    if wait:
        raise TooManyRequests(
            "Too many failed sign-in attempts. Try again in a minute.",
            code="login_throttled",
            headers={"Retry-After": str(wait)},
        )
    user = await UserRepository(session).by_email(account_key)
    password_ok = await verify_password_async(password, user.password_hash if user else None)
    tenant = await session.get(Tenant, user.tenant_id) if user else None
    if user is None or tenant is None or not password_ok or not user.is_active:
        await throttle.per_account.record_failure(account_key)
        await throttle.per_ip.record_failure(client_ip)
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    if tenant.status != TenantStatus.ACTIVE:
        raise Unauthorized("This company's account is suspended.", code="tenant_suspended")
    await throttle.per_account.clear(account_key)
    user.last_login_at = utcnow()
    record_audit(
        session, tenant_id=user.tenant_id, actor_user_id=user.id, action=AuditAction.AUTH_LOGIN, ip=client_ip
    )
    return await issue_tokens(session, runtime, user)


async def refresh(session: AsyncSession, runtime: Runtime, refresh_token: str) -> IssuedTokens:
    tokens = RefreshTokenRepository(session)
    stored = await tokens.by_hash(hash_opaque_token(refresh_token))
    now = utcnow()
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise Unauthorized(
            "The refresh token is invalid or expired; sign in again.", code="invalid_refresh_token"
        )
    if stored.spent_at is not None or not await tokens.mark_spent(stored.id, now):
        # A spent token came back: it was stolen or replayed. Revoke the whole family, committed even though
        # this request fails, so neither the thief nor the victim can continue with it. This request's
        # transaction ends first: on SQLite it holds the write lock the revocation needs.
        family_id = stored.family_id
        await session.rollback()
        async with unit_of_work(runtime.sessionmaker) as revoke_session:
            await RefreshTokenRepository(revoke_session).revoke_family(family_id, now)
        raise Unauthorized("This refresh token was already used; sign in again.", code="refresh_token_reused")
    user = await session.get(User, stored.user_id)
    tenant = await session.get(Tenant, stored.tenant_id)
    if user is None or not user.is_active or tenant is None or tenant.status != TenantStatus.ACTIVE:
        raise Unauthorized("This account is no longer active.", code="invalid_refresh_token")
    return await issue_tokens(session, runtime, user, family_id=stored.family_id)


async def logout(session: AsyncSession, refresh_token: str) -> None:
    tokens = RefreshTokenRepository(session)
    stored = await tokens.by_hash(hash_opaque_token(refresh_token))
    if stored is not None:
        await tokens.revoke_family(stored.family_id, utcnow())
