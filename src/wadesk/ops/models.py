from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from wadesk.db.base import Base, IdMixin, TenantMixin, utcnow


class AuditAction(StrEnum):
    """Every action the audit log records: writers pass one of these, and clients list them to filter by."""

    AUTH_LOGIN = "auth.login"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    TENANT_REGISTERED = "tenant.registered"
    TENANT_UPDATED = "tenant.updated"
    PHONE_NUMBER_CREATED = "phone_number.created"
    PHONE_NUMBER_UPDATED = "phone_number.updated"
    PHONE_NUMBER_DISABLED = "phone_number.disabled"
    PHONE_NUMBER_DELETED = "phone_number.deleted"
    TEMPLATE_SUBMITTED = "template.submitted"
    TEMPLATE_DELETED = "template.deleted"
    CONTACT_DELETED = "contact.deleted"
    CONTACT_MERGED = "contact.merged"
    CONTACTS_IMPORTED = "contacts.imported"
    CONTACTS_EXPORTED = "contacts.exported"
    LABEL_RENAMED = "label.renamed"
    LABEL_DELETED = "label.deleted"
    API_KEY_CREATED = "api_key.created"
    API_KEY_ROTATED = "api_key.rotated"
    API_KEY_REVOKED = "api_key.revoked"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"
    CAMPAIGN_CREATED = "campaign.created"
    CAMPAIGN_UPDATED = "campaign.updated"
    CAMPAIGN_DELETED = "campaign.deleted"
    CAMPAIGN_AUDIENCE_UPLOADED = "campaign.audience_uploaded"
    CAMPAIGN_SCHEDULED = "campaign.scheduled"
    CAMPAIGN_UNSCHEDULED = "campaign.unscheduled"
    CAMPAIGN_STARTED = "campaign.started"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_RESUMED = "campaign.resumed"
    CAMPAIGN_CANCELLED = "campaign.cancelled"
    CAMPAIGN_COMPLETED = "campaign.completed"
    CAMPAIGN_RETRIED = "campaign.retried"


class AuditEntry(IdMixin, TenantMixin, Base):
    """Append-only record of who did what; never updated or deleted by the app."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_created", "tenant_id", "created_at"),)

    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str | None] = mapped_column(String(40), default=None)
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
