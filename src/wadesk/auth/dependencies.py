"""Typed request dependencies: the database session (committed at the edge) and the authenticated context.

Every tenant-owned query of a request goes through `Ctx.session`, which is scoped to the principal's tenant
(db.session applies the filter), so a route cannot read another tenant's rows even by mistake.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.db.session import commit, scope_to_tenant
from wadesk.errors import Forbidden, Unauthorized
from wadesk.infra.runtime import Runtime
from wadesk.kit.tokens import InvalidToken
from wadesk.tenants.models import Tenant, TenantStatus
from wadesk.users.models import Role, User


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop on every request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.sessionmaker() as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            await session.rollback()
            raise


# scope="function": commit before the response is sent, so a client never sees a 2xx for unsaved work.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An access token from /api/auth/login")


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    email: str
    name: str
    # Set when the request authenticated with an API key (acting for the user above, within its scopes).
    api_key_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


@dataclass(frozen=True, slots=True)
class Ctx:
    """What an authenticated route works with: the principal and a session scoped to its tenant."""

    principal: Principal
    session: AsyncSession
    runtime: Runtime

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.principal.tenant_id

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id


async def authenticate(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Ctx:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "Send an access token as 'Authorization: Bearer <token>'.", code="not_authenticated"
        )
    from wadesk.api_keys import service as api_keys  # imported here: it builds on this module

    if api_keys.is_api_key(credentials.credentials):
        principal = await api_keys.principal_for_api_key(
            session, credentials.credentials, method=request.method, path=request.url.path
        )
        return _context(request, runtime, session, principal)
    try:
        claims = runtime.signer.verify(credentials.credentials)
    except InvalidToken as exc:
        raise Unauthorized("The access token is invalid or expired.", code="invalid_token") from exc
    row = (
        await session.execute(
            select(User, Tenant).join(Tenant, Tenant.id == User.tenant_id).where(User.id == claims.user_id)
        )
    ).one_or_none()
    if row is None or row[0].tenant_id != claims.tenant_id or not row[0].is_active:
        raise Unauthorized("This account is no longer active.", code="invalid_token")
    user, tenant = row
    if tenant.status != TenantStatus.ACTIVE:
        raise Forbidden("This company's account is suspended.", code="tenant_suspended")
    # The role comes from the database, not the token, so a demotion takes effect at once.
    principal = Principal(user.id, tenant.id, user.role, user.email, user.name)
    return _context(request, runtime, session, principal)


def _context(request: Request, runtime: Runtime, session: AsyncSession, principal: Principal) -> Ctx:
    scope_to_tenant(session, principal.tenant_id)
    structlog.contextvars.bind_contextvars(tenant_id=str(principal.tenant_id), user_id=str(principal.user_id))
    request.state.principal = principal
    return Ctx(principal=principal, session=session, runtime=runtime)


async def require_admin(ctx: Annotated[Ctx, Depends(authenticate)]) -> Ctx:
    if not ctx.principal.is_admin:
        raise Forbidden("Only administrators can do this.", code="admin_required")
    return ctx


CtxDep = Annotated[Ctx, Depends(authenticate)]
AdminCtxDep = Annotated[Ctx, Depends(require_admin)]
