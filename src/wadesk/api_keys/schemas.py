from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, field_validator

from wadesk.api_keys.models import ApiKeyScope
from wadesk.kit.schemas import StrictInput, WireModel


class ApiKeyCreate(StrictInput):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[ApiKeyScope] = Field(
        min_length=1,
        max_length=3,
        description="read: GET routes; send: sending messages; admin: everything, admin routes included.",
    )

    @field_validator("scopes")
    @classmethod
    def _distinct(cls, value: list[ApiKeyScope]) -> list[ApiKeyScope]:
        return list(dict.fromkeys(value))


class ApiKeyUpdate(StrictInput):
    name: str = Field(min_length=1, max_length=120)


class ApiKeyOut(WireModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    scopes: list[ApiKeyScope]
    created_by_id: uuid.UUID | None = Field(description="The administrator the key acts for.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(
        description="The key, shown only now. Send it as `Authorization: Bearer wdk_…`; only its hash is kept."
    )
