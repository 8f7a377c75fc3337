"""Tenants: creation with a unique slug, and per-tenant preferences."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.db.session import transaction_cache
from wadesk.tenants.models import Tenant

DEFAULT_SETTINGS = {"reopen_resolved_conversations": True, "auto_assign": False}


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60] or "company"


async def unique_slug(session: AsyncSession, name: str) -> str:
    base = slugify(name)
    taken = set(
        (await session.execute(select(Tenant.slug).where(Tenant.slug.like(f"{base}%")))).scalars().all()
    )
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


async def create_tenant(session: AsyncSession, name: str, *, slug: str | None = None) -> Tenant:
    tenant = Tenant(name=name, slug=slug or await unique_slug(session, name), settings=dict(DEFAULT_SETTINGS))
    session.add(tenant)
    await session.flush()
    return tenant


def tenant_setting(tenant: Tenant, key: str) -> bool:
    return bool(tenant.settings.get(key, DEFAULT_SETTINGS.get(key, False)))


async def setting_in_transaction(session: AsyncSession, tenant_id: uuid.UUID, key: str) -> bool:
    """A company's setting, its row read once per transaction: a batch of webhooks asks for every new
    conversation, and the session's identity map alone would not keep the row between asks."""
    tenants = transaction_cache(session, "tenants")
    if tenant_id not in tenants:
        tenants[tenant_id] = await session.get(Tenant, tenant_id)
    tenant = tenants[tenant_id]
    return tenant is not None and tenant_setting(tenant, key)


def update_settings(tenant: Tenant, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply a settings change (`name` and the preference flags); returns what actually changed."""
    changed: dict[str, Any] = {}
    if changes.get("name") is not None and changes["name"] != tenant.name:
        changed["name"] = {"before": tenant.name, "after": changes["name"]}
        tenant.name = changes["name"]
    preferences = dict(tenant.settings or {})
    for key in DEFAULT_SETTINGS:
        if changes.get(key) is not None and tenant_setting(tenant, key) != changes[key]:
            changed[key] = {"before": tenant_setting(tenant, key), "after": changes[key]}
            preferences[key] = changes[key]
    # A new dict, so the JSON column is seen as changed.
    tenant.settings = {**DEFAULT_SETTINGS, **preferences}
    return changed
