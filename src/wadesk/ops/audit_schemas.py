from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from wadesk.conversations.schemas import UserRef
from wadesk.kit.schemas import WireModel


class AuditEntryOut(WireModel):
    id: uuid.UUID
    action: str
    actor: UserRef | None
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    ip: str | None
    created_at: datetime


class AuditActions(WireModel):
    actions: list[str]
