from __future__ import annotations

from fastapi import APIRouter

from wadesk.auth.dependencies import AdminCtxDep, Ctx
from wadesk.errors import NotFound
from wadesk.kit.schemas import error_responses
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit
from wadesk.tenants import service
from wadesk.tenants.models import Tenant
from wadesk.tenants.schemas import TenantOut, TenantSettingsUpdate

router = APIRouter(prefix="/api/tenant", tags=["tenant"], responses=error_responses(401, 403, 422))


async def _tenant(ctx: Ctx) -> Tenant:
    tenant = await ctx.session.get(Tenant, ctx.tenant_id)
    if tenant is None:
        raise NotFound("Company not found.")
    return tenant


@router.get("", summary="The company and its settings (admin)")
async def get_tenant(ctx: AdminCtxDep) -> TenantOut:
    return TenantOut.model_validate(await _tenant(ctx))


@router.patch(
    "",
    summary="Change the company's name or settings: reopening resolved conversations, auto-assignment (admin)",
)
async def update_tenant(data: TenantSettingsUpdate, ctx: AdminCtxDep) -> TenantOut:
    tenant = await _tenant(ctx)
    changed = service.update_settings(tenant, data.model_dump(exclude_unset=True))
    if changed:
        record_audit(
            ctx.session,
            tenant_id=ctx.tenant_id,
            actor_user_id=ctx.user_id,
            action=AuditAction.TENANT_UPDATED,
            target_type="tenant",
            target_id=tenant.id,
            details=changed,
        )
    return TenantOut.model_validate(tenant)
