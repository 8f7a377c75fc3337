from __future__ import annotations

import uuid
from datetime import datetime

from wadesk.kit.schemas import WireModel
from wadesk.webhooks.models import WebhookEventStatus


class WebhookEventOut(WireModel):
    id: uuid.UUID
    status: WebhookEventStatus
    error: str | None
    # What was recorded but not applied (a status of a message sent elsewhere, a template not synced yet).
    notes: str | None
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    body_sha256: str
    body: str


class AckOut(WireModel):
    status: str = "ok"
    event_id: uuid.UUID
