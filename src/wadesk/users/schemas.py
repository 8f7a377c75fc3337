from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr, Field

from wadesk.kit.schemas import StrictInput, WireModel
from wadesk.users.models import Availability, Role


class UserOut(WireModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    tenant_id: uuid.UUID


class UserDetail(UserOut):
    is_active: bool
    availability: Availability
    last_login_at: datetime | None
    created_at: datetime


class UserCreate(StrictInput):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.AGENT
    password: str = Field(min_length=1, max_length=1024)


class UserUpdate(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    is_active: bool | None = None
    availability: Availability | None = None
