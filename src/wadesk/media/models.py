from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class MediaUpload(IdMixin, TenantMixin, TimestampMixin, Base):
    """A file uploaded to be sent. Its bytes live in media storage under the tenant's folder; a message using
    it is sent by uploading the file to Meta and sending Meta's media id."""

    __tablename__ = "media_uploads"
    __table_args__ = (Index("ix_media_uploads_recent", "tenant_id", "created_at"),)

    kind: Mapped[str] = mapped_column(String(16))
    mime_type: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(240))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # When a message first used the file: from then on it is kept (the message shows it).
    attached_at: Mapped[datetime | None] = mapped_column(default=None)
