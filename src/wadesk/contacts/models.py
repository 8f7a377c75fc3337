from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class Contact(IdMixin, TenantMixin, TimestampMixin, Base):
    """A WhatsApp user. Known by phone (`wa_id`), by business-scoped user id (`bsuid`), or both."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("uq_contacts_tenant_wa_id", "tenant_id", "wa_id", unique=True),
        Index("uq_contacts_tenant_bsuid", "tenant_id", "bsuid", unique=True),
    )

    wa_id: Mapped[str | None] = mapped_column(String(32), default=None)
    bsuid: Mapped[str | None] = mapped_column(String(128), default=None)
    username: Mapped[str | None] = mapped_column(String(128), default=None)
    profile_name: Mapped[str | None] = mapped_column(String(200), default=None)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    opted_out: Mapped[bool] = mapped_column(default=False)
    blocked: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def display_name(self) -> str:
        return (
            self.name or self.profile_name or self.username or (f"+{self.wa_id}" if self.wa_id else "Unknown")
        )
