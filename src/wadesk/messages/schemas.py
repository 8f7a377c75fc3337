from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from wadesk.kit.schemas import StrictInput, WireModel
from wadesk.messages.models import Direction, MessageStatus

MessageType = Literal[
    "text", "template", "image", "video", "audio", "document", "sticker", "location", "contacts", "interactive",
    "reaction",
]  # fmt: skip
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")


class MessageError(WireModel):
    code: int | None
    title: str | None
    details: str | None
    explanation: str | None = None


class MessageOut(WireModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    phone_number_id: uuid.UUID
    direction: Direction
    type: str
    content: dict[str, Any]
    wamid: str | None
    status: MessageStatus
    error: MessageError | None
    created_at: datetime
    sender_user_id: uuid.UUID | None
    reply_to_message_id: uuid.UUID | None
    reply_to_wamid: str | None
    reactions: list[Any]
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None


class TextIn(StrictInput):
    body: str = Field(min_length=1, max_length=4096)
    preview_url: bool = False


class MediaIn(StrictInput):
    link: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    media_id: str | None = Field(
        default=None, max_length=128, description="A media id Meta gave (uploaded to Meta elsewhere)."
    )
    upload_id: uuid.UUID | None = Field(
        default=None, description="The id POST /api/media answered: the file is uploaded to Meta when sent."
    )
    caption: str | None = Field(default=None, max_length=1024)
    filename: str | None = Field(default=None, max_length=240)

    @model_validator(mode="after")
    def _one_source(self) -> MediaIn:
        if sum(1 for source in (self.link, self.media_id, self.upload_id) if source) != 1:
            raise ValueError("give exactly one of link, mediaId or uploadId")
        if self.media_id and _looks_like_uuid(self.media_id):
            raise ValueError("mediaId is Meta's media id; send the id of POST /api/media as uploadId")
        return self


def _looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class LocationIn(StrictInput):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = Field(default=None, max_length=1000)
    address: str | None = Field(default=None, max_length=1000)


class ReactionIn(StrictInput):
    message_id: str = Field(min_length=1, max_length=255, description="Our message id or its wamid.")
    emoji: str = Field(max_length=32, description="An empty string removes the reaction.")


class TemplateIn(StrictInput):
    name: str = Field(min_length=1, max_length=512)
    language: str | dict[str, str] = Field(description='"en_US" or {"code": "en_US"}')
    components: list[dict[str, Any]] | None = None
    parameters: list[str] | dict[str, str] | None = Field(
        default=None, description="Body parameters: positional list, or a name → value map for named ones."
    )

    @property
    def language_code(self) -> str:
        return self.language if isinstance(self.language, str) else str(self.language.get("code", ""))


class SendMessageIn(StrictInput):
    """Send to `to` from the number `phoneNumberId` (Meta's id or ours), or into `conversationId`."""

    phone_number_id: str | None = Field(default=None, max_length=64)
    to: str | None = Field(default=None, max_length=32)
    conversation_id: uuid.UUID | None = None
    type: MessageType
    text: Annotated[str, Field(min_length=1, max_length=4096)] | TextIn | None = None
    template: TemplateIn | None = None
    image: MediaIn | None = None
    video: MediaIn | None = None
    audio: MediaIn | None = None
    document: MediaIn | None = None
    sticker: MediaIn | None = None
    location: LocationIn | None = None
    contacts: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=20)
    interactive: dict[str, Any] | None = None
    reaction: ReactionIn | None = None
    reply_to_message_id: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _consistent(self) -> SendMessageIn:
        if self.conversation_id is None and not (self.phone_number_id and self.to):
            raise ValueError("give conversationId, or both phoneNumberId and to")
        if getattr(self, self.type) is None:
            raise ValueError(f"type is '{self.type}' but the '{self.type}' field is missing")
        for other in ("text", "template", *MEDIA_TYPES, "location", "contacts", "interactive", "reaction"):
            if other != self.type and getattr(self, other) is not None:
                raise ValueError(f"type is '{self.type}' but a '{other}' field was also given")
        if self.type == "interactive" and not isinstance((self.interactive or {}).get("type"), str):
            raise ValueError("interactive needs a 'type' (button, list, cta_url, ...)")
        return self


class MessageUpdate(StrictInput):
    status: str = Field(description='Only "read" is accepted: it marks an inbound message read.')
