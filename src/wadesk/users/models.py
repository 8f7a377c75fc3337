from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class Availability(StrEnum):
    ONLINE = "online"
    AWAY = "away"


class User(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.AGENT)
    is_active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    availability: Mapped[str] = mapped_column(String(20), default=Availability.ONLINE)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class RefreshToken(IdMixin, TenantMixin, TimestampMixin, Base):
    """An opaque refresh token, stored as its SHA-256. Tokens of one login form a rotation family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    expires_at: Mapped[datetime]
    spent_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
