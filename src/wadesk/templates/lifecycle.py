"""The template lifecycle against the WhatsApp Business Account: sync, submission, deletion, and preview.

Statuses, categories and quality changes after submission arrive by webhook (webhooks.processing); the
periodic sync catches anything a webhook missed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.auth.dependencies import Ctx
from wadesk.db.base import utcnow
from wadesk.db.session import unit_of_work
from wadesk.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable
from wadesk.infra.runtime import Runtime
from wadesk.kit.pagination import Cursor
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit
from wadesk.phone_numbers.models import PhoneNumber, PhoneNumberStatus
from wadesk.phone_numbers.service import decrypt_credential, require_active_number
from wadesk.realtime.service import publish_after_commit
from wadesk.templates.models import Template
from wadesk.templates.repository import TemplateFilters, TemplateRepository
from wadesk.templates.schemas import (
    PreviewButton,
    TemplateCreate,
    TemplateOut,
    TemplateParameters,
    TemplatePreview,
    TemplatePreviewIn,
    TemplateSyncReport,
)
from wadesk.templates.service import (
    parameter_problems,
    render_template,
    render_text,
    required_parameters,
    send_components,
)
from wadesk.templates.validation import template_problems
from wadesk.whatsapp.errors import ErrorCategory, GraphApiError
from wadesk.whatsapp.graph import TemplateInfo
from wadesk.whatsapp.outbound import OutboundMessageError, template_definition

log = structlog.get_logger(__name__)

TEMPLATE_FIELDS = (
    "id",
    "name",
    "language",
    "status",
    "category",
    "components",
    "parameter_format",
    "rejected_reason",
    "quality_score",
)
# Meta's subcode for "no such template" on delete: it is already gone, which is what was asked.
TEMPLATE_NOT_FOUND_SUBCODE = 2593002
REMOVED = "DELETED"


def template_to_out(template: Template) -> TemplateOut:
    required = required_parameters(template)
    return TemplateOut(
        id=template.id,
        waba_id=template.waba_id,
        meta_template_id=template.meta_template_id,
        name=template.name,
        language=template.language,
        category=template.category,
        status=template.status,
        parameter_format=template.parameter_format,
        components=list(template.components or []),
        quality_score=template.quality_score,
        rejected_reason=template.rejected_reason,
        parameters=TemplateParameters(
            header_text=required.header_text,
            header_media=required.header_media,
            body=required.body,
            buttons=required.buttons,
        ),
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


def _publish(session: AsyncSession, runtime: Runtime, template: Template) -> None:
    publish_after_commit(
        session,
        runtime,
        template.tenant_id,
        "template.updated",
        template_to_out(template).model_dump(mode="json", by_alias=True),
    )


# --- reading ------------------------------------------------------------------------------------------------


async def list_templates(
    ctx: Ctx, filters: TemplateFilters, *, limit: int, cursor: str | None
) -> tuple[list[TemplateOut], str | None]:
    after = Cursor.decode(cursor) if cursor else None
    rows = await TemplateRepository(ctx.session).list_page(filters, limit=limit + 1, after=after)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1].created_at, rows[-1].id).encode()
    return [template_to_out(t) for t in rows], next_cursor


async def get_template(ctx: Ctx, template_id: uuid.UUID) -> Template:
    return await TemplateRepository(ctx.session).get_or_404(template_id)


def preview(template: Template, data: TemplatePreviewIn) -> TemplatePreview:
    """The template as the customer would read it with these parameters, rendered by the sender's own
    function, and what a send with them would still lack."""
    components = data.components or send_components(data.parameters)
    given = {str(c.get("type", "")).lower(): list(c.get("parameters") or []) for c in components}
    header = body = footer = None
    buttons: list[PreviewButton] = []
    for component in template.components or []:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            fmt = str(component.get("format", "TEXT")).upper()
            header = (
                render_text(str(component.get("text", "")), given.get("header", []))
                if fmt == "TEXT"
                else f"[{fmt.lower()}]"
            )
        elif kind == "BODY":
            body = render_text(str(component.get("text", "")), given.get("body", []))
        elif kind == "FOOTER":
            footer = str(component.get("text", "")) or None
        elif kind == "BUTTONS":
            for button in component.get("buttons") or []:
                buttons.append(
                    PreviewButton(
                        type=str(button.get("type", "")).upper(),
                        text=str(button.get("text", "")),
                        url=button.get("url"),
                        phone_number=button.get("phone_number"),
                    )
                )
    problems = parameter_problems(template, components)
    return TemplatePreview(
        rendered=render_template(template, components),
        header=header,
        body=body or "",
        footer=footer,
        buttons=buttons,
        components=components,
        problems=problems,
        sendable=not problems and template.status == "APPROVED",
    )


# --- the account's numbers and tokens ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WabaAccess:
    waba_id: str
    token: str


async def _accounts(session: AsyncSession, runtime: Runtime, tenant_id: uuid.UUID) -> list[WabaAccess]:
    """Each WhatsApp Business Account of the tenant, with a working number's token to call it."""
    numbers = (
        await session.execute(
            select(PhoneNumber)
            .where(PhoneNumber.status == PhoneNumberStatus.CONNECTED)
            .order_by(PhoneNumber.created_at)
        )
    ).scalars()
    accounts: dict[str, WabaAccess] = {}
    for number in numbers:
        if number.waba_id not in accounts:
            token = decrypt_credential(runtime.keyring, tenant_id, number.access_token_encrypted)
            accounts[number.waba_id] = WabaAccess(number.waba_id, token)
    return list(accounts.values())


def _graph_failure(exc: GraphApiError, doing: str) -> Exception:
    """The API error for a failed Graph call: retry later, fix the credentials, or what Meta objected to."""
    if exc.retryable:
        return ServiceUnavailable(
            f"WhatsApp could not be reached while {doing}; try again shortly.",
            code="whatsapp_unavailable",
            details={"error": str(exc)},
        )
    if exc.category == ErrorCategory.AUTH:
        return Unprocessable(
            "WhatsApp rejected this number's access token; an admin must enter a new one.",
            code="phone_number_needs_credentials",
            details={"code": exc.code, "title": exc.title},
        )
    return Unprocessable(
        f"WhatsApp refused {doing}: {exc.details or exc.message}",
        code="whatsapp_error",
        details={"code": exc.code, "subcode": exc.subcode, "title": exc.title, "details": exc.details},
    )


# --- sync -----------------------------------------------------------------------------------------------------


def _quality(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("score")
    return str(value).upper() if value else None


def _apply_remote(template: Template, remote: TemplateInfo) -> bool:
    """Copy Meta's view onto the stored template; True when something changed."""
    values = {
        "meta_template_id": remote.id,
        "status": (remote.status or template.status).upper(),
        "category": (remote.category or template.category).upper(),
        "components": [
            {**c, "type": str(c.get("type", "")).upper()} for c in remote.components or template.components
        ],
        "parameter_format": (remote.parameter_format or template.parameter_format or "POSITIONAL").upper(),
        "quality_score": _quality(remote.quality_score) or template.quality_score,
        "rejected_reason": (
            remote.rejected_reason
            if remote.rejected_reason and remote.rejected_reason.upper() != "NONE"
            else None
        ),
    }
    changed = False
    for key, value in values.items():
        if getattr(template, key) != value:
            setattr(template, key, value)
            changed = True
    return changed


async def sync_account(
    session: AsyncSession, runtime: Runtime, tenant_id: uuid.UUID, account: WabaAccess
) -> tuple[int, int, int]:
    """Make the stored templates of one WABA match Meta's list: (created, updated, removed).

    Templates Meta no longer lists are kept, marked DELETED: campaigns and sent messages still refer to them.
    """
    remote = await runtime.graph.list_templates(account.token, account.waba_id, fields=TEMPLATE_FIELDS)
    repository = TemplateRepository(session)
    local = {(t.name, t.language): t for t in await repository.of_waba(account.waba_id)}
    created = updated = removed = 0
    seen: set[tuple[str, str]] = set()
    changed: list[Template] = []
    for info in remote:
        key = (info.name, info.language)
        seen.add(key)
        template = local.get(key)
        if template is None:
            template = repository.add(
                Template(
                    tenant_id=tenant_id,
                    waba_id=account.waba_id,
                    name=info.name,
                    language=info.language,
                    category=(info.category or "UTILITY").upper(),
                    components=[],
                )
            )
            _apply_remote(template, info)
            created += 1
            changed.append(template)
        elif _apply_remote(template, info):
            template.updated_at = utcnow()
            updated += 1
            changed.append(template)
    for key, template in local.items():
        if key not in seen and template.status != REMOVED:
            template.status = REMOVED
            template.updated_at = utcnow()
            removed += 1
            changed.append(template)
    await session.flush()
    for template in changed:
        _publish(session, runtime, template)
    return created, updated, removed


async def sync_templates(ctx: Ctx, phone_number_id: str | None) -> TemplateSyncReport:
    """Sync the templates of the company's WABAs (or of one number's WABA) from Meta, now."""
    accounts = await _accounts(ctx.session, ctx.runtime, ctx.tenant_id)
    if phone_number_id:
        number = await require_active_number(ctx.session, phone_number_id)
        accounts = [a for a in accounts if a.waba_id == number.waba_id]
        if not accounts:
            raise Unprocessable(
                "This number's credentials were rejected; an admin must enter a new access token.",
                code="phone_number_needs_credentials",
            )
    totals = [0, 0, 0]
    for account in accounts:
        try:
            counts = await sync_account(ctx.session, ctx.runtime, ctx.tenant_id, account)
        except GraphApiError as exc:
            raise _graph_failure(exc, f"listing the templates of account {account.waba_id}") from exc
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    return TemplateSyncReport(wabas=len(accounts), created=totals[0], updated=totals[1], removed=totals[2])


async def sync_all_tenants(runtime: Runtime) -> int:
    """The periodic sync: every tenant's every WABA, each in its own transaction; how many WABAs synced."""
    async with runtime.sessionmaker() as session:
        pairs = (
            await session.execute(
                select(PhoneNumber.tenant_id)
                .where(PhoneNumber.status == PhoneNumberStatus.CONNECTED)
                .distinct()
                .execution_options(skip_tenant_scope=True)
            )
        ).all()
        await session.rollback()
    synced = 0
    for (tenant_id,) in pairs:
        async with unit_of_work(runtime.sessionmaker, tenant_id) as session:
            accounts = await _accounts(session, runtime, tenant_id)
        for account in accounts:
            try:
                async with unit_of_work(runtime.sessionmaker, tenant_id) as session:
                    await sync_account(session, runtime, tenant_id, account)
                synced += 1
            except GraphApiError as exc:  # one account's failure must not stop the others
                log.warning("template_sync_failed", waba_id=account.waba_id, error=str(exc))
    return synced


# --- submission and deletion ----------------------------------------------------------------------------------


def definition_of(data: TemplateCreate) -> dict[str, Any]:
    """Meta's creation body for the request (component types uppercased as Meta lists them)."""
    return {
        "name": data.name,
        "language": data.language,
        "category": data.category.upper(),
        "parameter_format": data.parameter_format.upper(),
        "components": [
            {**c, "type": c["type"].upper()} if isinstance(c.get("type"), str) else dict(c)
            for c in data.components
        ],
    }


def check_definition(definition: dict[str, Any]) -> None:
    """422 `template_invalid` naming the first problem, with all of them in `details.problems`."""
    problems = template_problems(definition)
    if problems:
        first = problems[0]
        raise Unprocessable(
            f"{first.path}: {first.message}"
            + (f" ({len(problems) - 1} more problem(s) in details)" if len(problems) > 1 else ""),
            code="template_invalid",
            details={"problems": [p.as_dict() for p in problems]},
        )


async def _account_for(ctx: Ctx, phone_number_id: str | None, waba_id: str | None) -> WabaAccess:
    accounts = await _accounts(ctx.session, ctx.runtime, ctx.tenant_id)
    if phone_number_id:
        waba_id = (await require_active_number(ctx.session, phone_number_id)).waba_id
    if waba_id:
        found = next((a for a in accounts if a.waba_id == waba_id), None)
        if found is None:
            raise NotFound("No connected number of this company belongs to that WABA.", code="waba_not_found")
        return found
    if len(accounts) == 1:
        return accounts[0]
    if not accounts:
        raise Unprocessable("Connect a WhatsApp number before creating templates.", code="no_phone_number")
    raise Unprocessable(
        "This company has several WhatsApp Business Accounts: say which with phoneNumberId or wabaId.",
        code="waba_required",
    )


async def create_template(ctx: Ctx, data: TemplateCreate) -> Template:
    """Validate a template as Meta would, then submit it for review; stored as Meta answers (PENDING)."""
    definition = definition_of(data)
    check_definition(definition)
    account = await _account_for(ctx, data.phone_number_id, data.waba_id)
    repository = TemplateRepository(ctx.session)
    existing = await repository.find(account.waba_id, data.name, data.language)
    if existing is not None and existing.status != REMOVED:
        raise Conflict(
            f"A template '{data.name}' in {data.language} already exists.",
            code="template_exists",
            details={"templateId": str(existing.id)},
        )
    try:
        body = template_definition(
            definition["name"],
            definition["language"],
            definition["category"],
            definition["components"],
            parameter_format=definition["parameter_format"],
        )
        result = await ctx.runtime.graph.create_template(account.token, account.waba_id, body)
    except OutboundMessageError as exc:
        raise Unprocessable(str(exc), code="template_invalid") from exc
    except GraphApiError as exc:
        raise _graph_failure(exc, "the template") from exc
    template = existing or repository.add(
        Template(tenant_id=ctx.tenant_id, waba_id=account.waba_id, name=data.name, language=data.language)
    )
    template.meta_template_id = result.id
    template.category = (result.category or definition["category"]).upper()
    template.status = (result.status or "PENDING").upper()
    template.parameter_format = definition["parameter_format"]
    template.components = definition["components"]
    template.quality_score = None
    template.rejected_reason = None
    template.updated_at = utcnow()
    await repository.flush()
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.TEMPLATE_SUBMITTED,
        target_type="template",
        target_id=template.id,
        details={"name": template.name, "language": template.language, "category": template.category},
    )
    _publish(ctx.session, ctx.runtime, template)
    return template


async def delete_template(ctx: Ctx, template_id: uuid.UUID) -> None:
    """Delete one language of a template at Meta and here (kept as DELETED when campaigns use it)."""
    from wadesk.campaigns.models import Campaign

    repository = TemplateRepository(ctx.session)
    template = await repository.get_or_404(template_id)
    if template.status != REMOVED:
        account = next(
            (
                a
                for a in await _accounts(ctx.session, ctx.runtime, ctx.tenant_id)
                if a.waba_id == template.waba_id
            ),
            None,
        )
        if account is None:
            raise Unprocessable(
                "No connected number can reach this template's account.",
                code="phone_number_needs_credentials",
            )
        if (
            template.meta_template_id is None
            and len(_same_name(await repository.of_waba(template.waba_id), template)) > 1
        ):
            raise Conflict(
                "This template exists in several languages and has no Meta id yet: sync templates first, so "
                "only this language is deleted.",
                code="template_not_synced",
            )
        try:
            await ctx.runtime.graph.delete_template(
                account.token, template.waba_id, template.name, template_id=template.meta_template_id
            )
        except GraphApiError as exc:
            if exc.subcode != TEMPLATE_NOT_FOUND_SUBCODE:
                raise _graph_failure(exc, "deleting the template") from exc
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.TEMPLATE_DELETED,
        target_type="template",
        target_id=template.id,
        details={"name": template.name, "language": template.language},
    )
    in_use = (
        await ctx.session.execute(select(Campaign.id).where(Campaign.template_id == template.id).limit(1))
    ).first() is not None
    if in_use:
        template.status = REMOVED
        template.updated_at = utcnow()
        _publish(ctx.session, ctx.runtime, template)
    else:
        await ctx.session.delete(template)
        publish_after_commit(
            ctx.session, ctx.runtime, ctx.tenant_id, "template.deleted", {"id": str(template_id)}
        )


def _same_name(templates: Iterable[Template], template: Template) -> list[Template]:
    return [t for t in templates if t.name == template.name]
