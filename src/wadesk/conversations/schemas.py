from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from wadesk.conversations.models import ConversationStatus
from wadesk.kit.schemas import StrictInput, WireModel
from wadesk.messages.schemas import MessageOut


class ContactRef(WireModel):
    id: uuid.UUID
    wa_id: str | None
    bsuid: str | None = None
    name: str
    opted_out: bool = False
    blocked: bool = False


class UserRef(WireModel):
    id: uuid.UUID
    name: str
    email: str


class PhoneNumberRef(WireModel):
    id: uuid.UUID
    phone_number_id: str
    display_phone_number: str


class ConversationOut(WireModel):
    id: uuid.UUID
    contact: ContactRef
    phone_number: PhoneNumberRef
    status: ConversationStatus
    assignee: UserRef | None
    unread_count: int
    last_message_at: datetime
    last_message_preview: str | None
    customer_window_expires_at: datetime | None
    window_open: bool
    labels: list[Any]
    created_at: datetime


class ConversationDetail(ConversationOut):
    messages: list[MessageOut] = Field(description="The latest messages, oldest first.")
    messages_cursor: str | None = Field(
        description="Pass as `cursor` to GET /api/messages?conversationId=… for older messages."
    )


class ConversationUpdate(StrictInput):
    status: ConversationStatus | None = None
    assignee_id: uuid.UUID | None = None


class ConversationStats(WireModel):
    open: int
    pending: int
    resolved: int
    archived: int
    total: int
    unassigned: int
    mine: int
    unread: int
