"""Keyset (cursor) pagination: opaque cursors that encode the last row's sort key."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wadesk.errors import BadRequest

MAX_LIMIT = 100
DEFAULT_LIMIT = 25


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after a row: its sort timestamp (may be None) and id."""

    at: datetime | None
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps({"at": self.at.isoformat() if self.at else None, "id": str(self.id)})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """The position a cursor of `encode` names; anything else (a client's own making) is a 400."""
        try:
            padded = value + "=" * (-len(value) % 4)
            data: Any = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(data, dict) or not isinstance(data.get("id"), str):
                raise ValueError("not a cursor")
            raw_at = data.get("at")
            if raw_at is not None and not isinstance(raw_at, str):
                raise ValueError("not a cursor")
            at = datetime.fromisoformat(raw_at) if raw_at else None
            # Cursors carry UTC times; a naive one cannot be compared with stored times.
            if at is not None and at.tzinfo is None:
                raise ValueError("not a cursor")
            return cls(at=at, id=uuid.UUID(data["id"]))
        except ValueError as exc:
            raise BadRequest(
                "The cursor is not valid; start again without one.", code="invalid_cursor"
            ) from exc
