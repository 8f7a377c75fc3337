from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from wadesk.integrations.models import DeliveryStatus
from wadesk.kit.schemas import StrictInput, WireModel

# Events a subscription can ask for; "*" means all of them.
EVENT_TYPES = (
    "message.created",
    "message.updated",
    "conversation.created",
    "conversation.updated",
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "template.updated",
    "phone_number.updated",
    "campaign.updated",
)
ALL_EVENTS = "*"
TEST_EVENT = "webhook.test"


def check_events(values: list[str]) -> list[str]:
    events: list[str] = []
    for value in values:
        event = value.strip()
        if event != ALL_EVENTS and event not in EVENT_TYPES:
            raise ValueError(f"unknown event '{event}'; choose from {', '.join(EVENT_TYPES)} or '*'")
        if event not in events:
            events.append(event)
    if not events:
        raise ValueError("subscribe to at least one event")
    return events


class WebhookCreate(StrictInput):
    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(min_length=1, max_length=len(EVENT_TYPES) + 1)
    description: str = Field(default="", max_length=200)
    is_active: bool = True

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        return check_events(value)


class WebhookUpdate(StrictInput):
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    events: list[str] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES) + 1)
    description: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return check_events(value) if value is not None else None


class WebhookOut(WireModel):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret. Shown only now: store it where the receiver runs.")


class WebhookSecret(WireModel):
    secret: str = Field(description="The new signing secret, shown only now; the previous one stops working.")


class DeliveryOut(WireModel):
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    replay_of_id: uuid.UUID | None
    created_at: datetime


class AttemptOut(WireModel):
    number: int
    requested_at: datetime
    status_code: int | None
    latency_ms: int | None
    error: str | None
    response_snippet: str | None


class DeliveryDetail(DeliveryOut):
    body: dict[str, Any] = Field(description="The JSON body as sent (a replay sends the same bytes).")
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first.")
