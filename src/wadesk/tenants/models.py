from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TimestampMixin


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(IdMixin, TimestampMixin, Base):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=TenantStatus.ACTIVE)
    plan: Mapped[str] = mapped_column(String(40), default="standard")
    max_users: Mapped[int] = mapped_column(default=50)
    max_phone_numbers: Mapped[int] = mapped_column(default=10)
    monthly_message_quota: Mapped[int] = mapped_column(default=100_000)
    # Tenant preferences (reopen resolved conversations, auto-assignment, ...); see tenants.service.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # For tenants that bring their own Meta app: the verify token of POST /api/webhook/{slug}.
    meta_verify_token: Mapped[str | None] = mapped_column(String(200), default=None)
