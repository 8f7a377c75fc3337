from __future__ import annotations

from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class Template(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("tenant_id", "waba_id", "name", "language"),)

    waba_id: Mapped[str] = mapped_column(String(64))
    meta_template_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), default="PENDING")
    parameter_format: Mapped[str] = mapped_column(String(20), default="POSITIONAL")
    components: Mapped[list[Any]] = mapped_column(default=list)
    quality_score: Mapped[str | None] = mapped_column(String(20), default=None)
    rejected_reason: Mapped[str | None] = mapped_column(String(255), default=None)
