"""API keys: creation (the key is shown once, its SHA-256 kept), rotation, revocation, and authentication.

A key acts for the administrator who created it, limited by its scopes: `read` allows reading (GET),
`send` allows sending messages, `admin` allows everything the administrator may do. If that administrator
is deactivated the key stops working; if they lose the admin role, the key loses admin rights.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.api_keys.models import ApiKey, ApiKeyScope
from wadesk.api_keys.repository import ApiKeyRepository
from wadesk.api_keys.schemas import ApiKeyCreate, ApiKeyOut, ApiKeyUpdate
from wadesk.auth.dependencies import Ctx, Principal
from wadesk.db.base import utcnow
from wadesk.errors import Forbidden, Unauthorized, Unprocessable
from wadesk.kit.tokens import hash_opaque_token
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit
from wadesk.tenants.models import Tenant, TenantStatus
from wadesk.users.models import Role, User

API_KEY_PREFIX = "wdk_"
SHOWN_PREFIX_LENGTH = 12
# last_used_at is a hint, not a log: write it at most this often per key.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SEND_PATHS = ("/api/messages", "/api/media")


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def required_scope(method: str, path: str) -> ApiKeyScope:
    """The scope a request needs: reading needs `read`, sending messages (and uploading their media)
    `send`, anything else `admin`."""
    if method.upper() in _READ_METHODS:
        return ApiKeyScope.READ
    if any(path == root or path.startswith(root + "/") for root in _SEND_PATHS):
        return ApiKeyScope.SEND
    return ApiKeyScope.ADMIN


def key_to_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key)


async def principal_for_api_key(session: AsyncSession, token: str, *, method: str, path: str) -> Principal:
    """The principal a request with this API key acts as; 401 for an unknown or revoked key, 403 when the
    key's scopes do not cover the request."""
    key = await ApiKeyRepository(session).by_hash_any_tenant(hash_opaque_token(token))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("The API key is invalid or revoked.", code="invalid_api_key")
    row = (
        await session.execute(
            select(User, Tenant)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(User.id == key.created_by_id)
            .execution_options(skip_tenant_scope=True)
        )
    ).one_or_none()
    if row is None or row[0].tenant_id != key.tenant_id or not row[0].is_active:
        raise Unauthorized(
            "The administrator this API key acts for is no longer active.", code="invalid_api_key"
        )
    owner, tenant = row
    if tenant.status != TenantStatus.ACTIVE:
        raise Forbidden("This company's account is suspended.", code="tenant_suspended")
    scopes = {str(s) for s in key.scopes or []}
    needed = required_scope(method, path)
    if needed not in scopes and ApiKeyScope.ADMIN not in scopes:
        raise Forbidden(
            f"This API key lacks the '{needed}' scope needed for {method.upper()} {path}.",
            code="api_key_scope_missing",
            details={"required": needed.value, "scopes": sorted(scopes)},
        )
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
    role = Role.ADMIN if ApiKeyScope.ADMIN in scopes and owner.role == Role.ADMIN else Role.AGENT
    return Principal(
        user_id=owner.id,
        tenant_id=tenant.id,
        role=role,
        email=owner.email,
        name=owner.name,
        api_key_id=key.id,
    )


async def list_keys(ctx: Ctx) -> list[ApiKey]:
    return await ApiKeyRepository(ctx.session).list_all()


async def get_key(ctx: Ctx, key_id: uuid.UUID) -> ApiKey:
    return await ApiKeyRepository(ctx.session).get_or_404(key_id)


def _require_person(ctx: Ctx) -> None:
    # A key minting keys would let a leaked key outlive its own revocation.
    if ctx.principal.api_key_id is not None:
        raise Forbidden("API keys are managed by signed-in administrators only.", code="api_key_not_allowed")


async def create_key(ctx: Ctx, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    """A new key acting for the calling administrator; returns it with the plain key (shown once)."""
    _require_person(ctx)
    plain = new_api_key()
    repository = ApiKeyRepository(ctx.session)
    key = repository.add(
        ApiKey(
            tenant_id=ctx.tenant_id,
            name=data.name,
            prefix=plain[:SHOWN_PREFIX_LENGTH],
            key_hash=hash_opaque_token(plain),
            scopes=[s.value for s in data.scopes],
            created_by_id=ctx.user_id,
        )
    )
    await repository.flush()
    _audit(ctx, AuditAction.API_KEY_CREATED, key, {"name": key.name, "scopes": key.scopes})
    return key, plain


async def rename_key(ctx: Ctx, key_id: uuid.UUID, data: ApiKeyUpdate) -> ApiKey:
    key = await get_key(ctx, key_id)
    key.name = data.name
    return key


async def rotate_key(ctx: Ctx, key_id: uuid.UUID) -> tuple[ApiKey, str]:
    """Replace a key's secret: the old key stops working now; name and scopes stay."""
    _require_person(ctx)
    key = await get_key(ctx, key_id)
    if key.revoked_at is not None:
        raise Unprocessable("A revoked key cannot be rotated; create a new one.", code="api_key_revoked")
    plain = new_api_key()
    key.key_hash = hash_opaque_token(plain)
    key.prefix = plain[:SHOWN_PREFIX_LENGTH]
    key.created_by_id = ctx.user_id
    key.last_used_at = None
    key.updated_at = utcnow()
    _audit(ctx, AuditAction.API_KEY_ROTATED, key, {"name": key.name})
    return key, plain


async def revoke_key(ctx: Ctx, key_id: uuid.UUID) -> ApiKey:
    key = await get_key(ctx, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        _audit(ctx, AuditAction.API_KEY_REVOKED, key, {"name": key.name})
    return key


def _audit(ctx: Ctx, action: AuditAction, key: ApiKey, details: dict[str, object]) -> None:
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=action,
        target_type="api_key",
        target_id=key.id,
        details={**details, "prefix": key.prefix},
    )
