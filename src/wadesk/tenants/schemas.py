from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from wadesk.kit.schemas import StrictInput, WireModel
from wadesk.tenants.models import TenantStatus


class TenantOut(WireModel):
    id: uuid.UUID
    name: str
    slug: str
    status: TenantStatus
    plan: str
    settings: dict[str, Any]


class TenantSettingsUpdate(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    reopen_resolved_conversations: bool | None = None
    auto_assign: bool | None = None
