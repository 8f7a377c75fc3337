from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class ApiKeyScope(StrEnum):
    READ = "read"
    SEND = "send"
    ADMIN = "admin"


class ApiKey(IdMixin, TenantMixin, TimestampMixin, Base):
    """A key `wdk_…`; only its SHA-256 is kept. It acts for the administrator who created it, within its
    scopes."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the key, shown in lists so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
