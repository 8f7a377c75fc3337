from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class PhoneNumberStatus(StrEnum):
    CONNECTED = "connected"
    NEEDS_CREDENTIALS = "needs_credentials"
    DISABLED = "disabled"


class PhoneNumber(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "phone_numbers"

    name: Mapped[str] = mapped_column(String(200), default="")
    waba_id: Mapped[str] = mapped_column(String(64), index=True)
    # Meta's id of the number; the webhook routing key, unique across all tenants.
    phone_number_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_phone_number: Mapped[str] = mapped_column(String(40))
    verified_name: Mapped[str | None] = mapped_column(String(200), default=None)
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    app_secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    quality_rating: Mapped[str] = mapped_column(String(20), default="GREEN")
    messaging_limit_tier: Mapped[str | None] = mapped_column(String(40), default=None)
    messages_per_second: Mapped[int] = mapped_column(default=80)
    status: Mapped[str] = mapped_column(String(30), default=PhoneNumberStatus.CONNECTED)
