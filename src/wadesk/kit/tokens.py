"""Access tokens (short-lived JWT, HS256 pinned) and opaque refresh tokens (stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    expires_at: datetime


class InvalidToken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class TokenSigner:
    secret: str
    issuer: str
    audience: str
    ttl_seconds: int

    def issue(self, *, user_id: uuid.UUID, tenant_id: uuid.UUID, role: str) -> str:
        now = datetime.now(UTC)
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "tid": str(tenant_id),
            "role": role,
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl_seconds),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(payload, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub", "tid", "role"]},
            )
            return AccessClaims(
                user_id=uuid.UUID(payload["sub"]),
                tenant_id=uuid.UUID(payload["tid"]),
                role=str(payload["role"]),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            )
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc


def new_refresh_token() -> str:
    return "wrt_" + secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
