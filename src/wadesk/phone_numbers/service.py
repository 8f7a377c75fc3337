"""Connected WhatsApp numbers and their encrypted credentials."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.auth.dependencies import Ctx
from wadesk.errors import Conflict, NotFound, Unprocessable
from wadesk.kit.crypto import Keyring
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit
from wadesk.phone_numbers.models import PhoneNumber, PhoneNumberStatus
from wadesk.phone_numbers.repository import PhoneNumberRepository
from wadesk.phone_numbers.schemas import PhoneNumberCreate, PhoneNumberOut, PhoneNumberUpdate
from wadesk.tenants.models import Tenant


def to_out(number: PhoneNumber) -> PhoneNumberOut:
    return PhoneNumberOut.model_validate(
        {**{c: getattr(number, c) for c in PhoneNumberOut.model_fields if c != "has_app_secret"}}
        | {"has_app_secret": number.app_secret_encrypted is not None}
    )


def encrypt_credential(keyring: Keyring, tenant_id: uuid.UUID, value: str) -> str:
    return keyring.encrypt(value, associated_data=str(tenant_id))


def decrypt_credential(keyring: Keyring, tenant_id: uuid.UUID, stored: str) -> str:
    return keyring.decrypt(stored, associated_data=str(tenant_id))


async def list_numbers(ctx: Ctx) -> list[PhoneNumber]:
    return await PhoneNumberRepository(ctx.session).list_all()


async def get_number(ctx: Ctx, number_id: uuid.UUID) -> PhoneNumber:
    return await PhoneNumberRepository(ctx.session).get_or_404(number_id)


async def create_number(ctx: Ctx, data: PhoneNumberCreate) -> PhoneNumber:
    numbers = PhoneNumberRepository(ctx.session)
    # Meta's id is unique across tenants; look past the tenant scope to refuse a number owned elsewhere.
    existing = (
        await ctx.session.execute(
            select(PhoneNumber)
            .where(PhoneNumber.phone_number_id == data.phone_number_id)
            .execution_options(skip_tenant_scope=True)
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict("This WhatsApp number is already connected.", code="phone_number_taken")
    tenant = await ctx.session.get(Tenant, ctx.tenant_id)
    count = (await ctx.session.execute(select(func.count()).select_from(PhoneNumber))).scalar_one()
    if tenant is not None and count >= tenant.max_phone_numbers:
        raise Unprocessable("Your plan's phone number limit is reached.", code="phone_number_limit_reached")
    keyring = ctx.runtime.keyring
    number = numbers.add(
        PhoneNumber(
            tenant_id=ctx.tenant_id,
            name=data.name,
            waba_id=data.waba_id,
            phone_number_id=data.phone_number_id,
            display_phone_number=data.display_phone_number,
            verified_name=data.verified_name,
            access_token_encrypted=encrypt_credential(keyring, ctx.tenant_id, data.access_token),
            app_secret_encrypted=(
                encrypt_credential(keyring, ctx.tenant_id, data.app_secret) if data.app_secret else None
            ),
            messages_per_second=data.messages_per_second,
        )
    )
    await numbers.flush()
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.PHONE_NUMBER_CREATED,
        target_type="phone_number",
        target_id=number.id,
        details={"phone_number_id": number.phone_number_id},
    )
    return number


async def update_number(ctx: Ctx, number_id: uuid.UUID, data: PhoneNumberUpdate) -> PhoneNumber:
    number = await PhoneNumberRepository(ctx.session).get_or_404(number_id)
    changes = data.model_dump(exclude_unset=True)
    keyring = ctx.runtime.keyring
    credentials_changed = []
    if token := changes.pop("access_token", None):
        number.access_token_encrypted = encrypt_credential(keyring, ctx.tenant_id, token)
        if number.status == PhoneNumberStatus.NEEDS_CREDENTIALS:
            number.status = PhoneNumberStatus.CONNECTED
        credentials_changed.append("access_token")
    if secret := changes.pop("app_secret", None):
        number.app_secret_encrypted = encrypt_credential(keyring, ctx.tenant_id, secret)
        credentials_changed.append("app_secret")
    for key, value in changes.items():
        if value is not None or key in {"verified_name", "messaging_limit_tier"}:
            setattr(number, key, value)
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.PHONE_NUMBER_UPDATED,
        target_type="phone_number",
        target_id=number.id,
        details={"fields": sorted(changes), "credentials_changed": credentials_changed},
    )
    return number


async def disconnect_number(ctx: Ctx, number_id: uuid.UUID) -> None:
    """Remove a number. Its conversations and messages go with it, so only a number without history can be
    deleted; one with history is disabled instead (no sending, history kept)."""
    numbers = PhoneNumberRepository(ctx.session)
    number = await numbers.get_or_404(number_id)
    from wadesk.conversations.models import Conversation

    has_history = (
        await ctx.session.execute(
            select(Conversation.id).where(Conversation.phone_number_id == number.id).limit(1)
        )
    ).first() is not None
    if has_history:
        number.status = PhoneNumberStatus.DISABLED
    else:
        await ctx.session.delete(number)
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.PHONE_NUMBER_DISABLED if has_history else AuditAction.PHONE_NUMBER_DELETED,
        target_type="phone_number",
        target_id=number_id,
    )


async def reencrypt_credentials(session: AsyncSession, keyring: Keyring) -> int:
    """Re-encrypt every stored credential under the current key (all tenants). Returns how many changed."""
    changed = 0
    rows = (await session.execute(select(PhoneNumber).execution_options(skip_tenant_scope=True))).scalars()
    for number in rows:
        for column in ("access_token_encrypted", "app_secret_encrypted"):
            stored = getattr(number, column)
            if stored and keyring.needs_rotation(stored):
                plain = decrypt_credential(keyring, number.tenant_id, stored)
                setattr(number, column, encrypt_credential(keyring, number.tenant_id, plain))
                changed += 1
    return changed


async def find_number(session: AsyncSession, phone_number_id: str | uuid.UUID) -> PhoneNumber:
    """The tenant's number by Meta id or our id, disabled or not (404 for other tenants' numbers)."""
    numbers = PhoneNumberRepository(session)
    number: PhoneNumber | None
    if isinstance(phone_number_id, uuid.UUID):
        number = await numbers.get(phone_number_id)
    else:
        number = await numbers.by_meta_id(phone_number_id)
        if number is None:
            try:
                number = await numbers.get(uuid.UUID(phone_number_id))
            except ValueError:
                number = None
    if number is None:
        raise NotFound("Phone number not found.", code="phone_number_not_found")
    return number


async def require_active_number(session: AsyncSession, phone_number_id: str | uuid.UUID) -> PhoneNumber:
    """The tenant's number by Meta id or our id, refusing disabled ones (404 for other tenants' numbers)."""
    number = await find_number(session, phone_number_id)
    if number.status == PhoneNumberStatus.DISABLED:
        raise Unprocessable("This phone number is disconnected.", code="phone_number_disabled")
    return number
