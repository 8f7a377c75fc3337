from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from wadesk.kit.schemas import WireModel

MediaKind = Literal["image", "video", "audio", "document", "sticker"]


class MediaUploadOut(WireModel):
    id: uuid.UUID = Field(description="Send it as `uploadId` in the media object of POST /api/messages.")
    kind: MediaKind = Field(description="The message type this file is sent as.")
    mime_type: str
    filename: str
    size: int
    sha256: str = Field(description="Hex SHA-256 of the file.")
    attached: bool = Field(description="Whether a message uses the file (it can no longer be deleted).")
    created_at: datetime
