from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, Uuid, delete, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, TimestampMixin
from wadesk.db.session import tenant_of


class Contact(IdMixin, TenantMixin, TimestampMixin, Base):
    """A WhatsApp user. Known by phone (`wa_id`), by business-scoped user id (`bsuid`), or both."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("uq_contacts_tenant_wa_id", "tenant_id", "wa_id", unique=True),
        Index("uq_contacts_tenant_bsuid", "tenant_id", "bsuid", unique=True),
    )

    wa_id: Mapped[str | None] = mapped_column(String(32), default=None)
    bsuid: Mapped[str | None] = mapped_column(String(128), default=None)
    username: Mapped[str | None] = mapped_column(String(128), default=None)
    profile_name: Mapped[str | None] = mapped_column(String(200), default=None)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    opted_out: Mapped[bool] = mapped_column(default=False)
    blocked: Mapped[bool] = mapped_column(default=False)
    # The contact's tags; `contact_tags` mirrors them (see below) in a form SQL can filter on portably.
    tags: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def display_name(self) -> str:
        return (
            self.name or self.profile_name or self.username or (f"+{self.wa_id}" if self.wa_id else "Unknown")
        )


class ContactTag(IdMixin, TenantMixin, Base):
    """One tag of one contact: the filterable twin of `Contact.tags` (JSON is not portably queryable).
    Written only by the flush hook below, never by hand."""

    __tablename__ = "contact_tags"
    __table_args__ = (
        UniqueConstraint("tenant_id", "contact_id", "tag", name="uq_contact_tags_contact_tag"),
        Index("ix_contact_tags_tag", "tenant_id", "tag", "contact_id"),
    )

    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contacts.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(64))


def _clean_tags(values: Any) -> list[str]:
    tags: list[str] = []
    for value in values if isinstance(values, list) else []:
        tag = " ".join(str(value).split()).lower()[:64]
        if tag and tag not in tags:
            tags.append(tag)
    return tags


@event.listens_for(Session, "before_flush")
def _mirror_contact_tags(session: Session, *_: Any) -> None:
    """Keep `contact_tags` equal to `Contact.tags` whoever writes a contact (API, import, seed, merge)."""
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, Contact):
            continue
        is_new = obj in session.new
        if not is_new and not inspect(obj).attrs.tags.history.has_changes():
            continue
        if obj.id is None:
            obj.id = uuid.uuid4()
        tenant_id = obj.tenant_id or tenant_of(session)
        if not is_new:
            # Core, straight on the connection: this runs inside the flush, before the ORM writes.
            session.connection().execute(delete(ContactTag).where(ContactTag.contact_id == obj.id))
        for tag in _clean_tags(obj.tags):
            session.add(ContactTag(tenant_id=tenant_id, contact_id=obj.id, tag=tag))
