from __future__ import annotations

from pydantic import EmailStr, Field

from wadesk.kit.schemas import StrictInput, WireModel
from wadesk.tenants.schemas import TenantOut
from wadesk.users.schemas import UserOut


class RegisterIn(StrictInput):
    company_name: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)


class LoginIn(StrictInput):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(StrictInput):
    refresh_token: str | None = Field(default=None, max_length=200)


class TokenPair(WireModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


class RegisterOut(TokenPair):
    tenant: TenantOut


class MeOut(WireModel):
    user: UserOut
    tenant: TenantOut
