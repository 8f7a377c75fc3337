"""`GET /api/audit`: who did what and when, for administrators. The log is append-only: no route changes it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from wadesk.auth.dependencies import AdminCtxDep
from wadesk.conversations.schemas import UserRef
from wadesk.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Cursor
from wadesk.kit.schemas import Page, error_responses
from wadesk.ops.audit_repository import AuditFilters, AuditRepository
from wadesk.ops.audit_schemas import AuditActions, AuditEntryOut
from wadesk.ops.models import AuditAction

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=error_responses(401, 403, 422))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get(
    "",
    summary="The audit log, newest first (admin)",
    description="Sign-ins, user and role changes, phone number and credential changes, template submissions, "
    "contact imports and exports, API key and webhook secret changes, settings changes. `action` takes a full "
    "action (`auth.login`) or a prefix ending in a dot (`api_key.`).",
    responses=error_responses(400),
)
async def list_audit(
    ctx: AdminCtxDep,
    action: Annotated[str | None, Query(max_length=80)] = None,
    actor_id: Annotated[uuid.UUID | None, Query(alias="actorId")] = None,
    target_type: Annotated[str | None, Query(alias="targetType", max_length=40)] = None,
    target_id: Annotated[str | None, Query(alias="targetId", max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[AuditEntryOut]:
    filters = AuditFilters(
        action=action or None,
        actor_id=actor_id,
        target_type=target_type or None,
        target_id=target_id or None,
        since=_aware(since),
        until=_aware(until),
    )
    before = Cursor.decode(cursor) if cursor else None
    rows = await AuditRepository(ctx.session).list_page(filters, limit=limit + 1, before=before)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = Cursor(last.created_at, last.id).encode()
    items = [
        AuditEntryOut(
            id=entry.id,
            action=entry.action,
            actor=UserRef.model_validate(user) if user is not None else None,
            target_type=entry.target_type,
            target_id=entry.target_id,
            details=dict(entry.details or {}),
            ip=entry.ip,
            created_at=entry.created_at,
        )
        for entry, user in rows
    ]
    return Page[AuditEntryOut](items=items, next_cursor=next_cursor)


@router.get(
    "/actions",
    summary="Every action the audit log records, sorted (admin)",
    description="The values `action` filters on; their prefix up to the dot names the area (`api_key.`).",
)
async def list_audit_actions(ctx: AdminCtxDep) -> AuditActions:
    return AuditActions(actions=sorted(AuditAction))
