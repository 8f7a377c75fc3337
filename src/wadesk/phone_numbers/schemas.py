from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from wadesk.kit.schemas import StrictInput, WireModel

META_ID = r"^[0-9]{1,32}$"
# Credentials travel in HTTP headers (the access token) or feed HMACs: printable ASCII without spaces, as
# Meta issues them. Anything else would only fail later, when WhatsApp is called.
CREDENTIAL = r"^[!-~]+$"


class PhoneNumberOut(WireModel):
    """A connected WhatsApp number. Credentials are write-only: never part of any response."""

    id: uuid.UUID
    name: str
    waba_id: str
    phone_number_id: str
    display_phone_number: str
    verified_name: str | None
    quality_rating: str
    messaging_limit_tier: str | None
    messages_per_second: int
    status: str
    has_app_secret: bool
    created_at: datetime


class PhoneNumberCreate(StrictInput):
    name: str = Field(default="", max_length=200)
    waba_id: str = Field(pattern=META_ID)
    phone_number_id: str = Field(pattern=META_ID)
    display_phone_number: str = Field(min_length=3, max_length=40)
    verified_name: str | None = Field(default=None, max_length=200)
    access_token: str = Field(min_length=8, max_length=4096, pattern=CREDENTIAL)
    app_secret: str | None = Field(default=None, min_length=8, max_length=256, pattern=CREDENTIAL)
    messages_per_second: int = Field(default=80, ge=1, le=1000)


class PhoneNumberUpdate(StrictInput):
    name: str | None = Field(default=None, max_length=200)
    display_phone_number: str | None = Field(default=None, min_length=3, max_length=40)
    verified_name: str | None = Field(default=None, max_length=200)
    access_token: str | None = Field(default=None, min_length=8, max_length=4096, pattern=CREDENTIAL)
    app_secret: str | None = Field(default=None, min_length=8, max_length=256, pattern=CREDENTIAL)
    messages_per_second: int | None = Field(default=None, ge=1, le=1000)
    messaging_limit_tier: str | None = Field(default=None, max_length=40)
