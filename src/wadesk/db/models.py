"""Imports every table so metadata (Alembic, tests) sees the whole schema."""

from wadesk.campaigns.models import Campaign, CampaignRecipient
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation
from wadesk.db.base import Base
from wadesk.messages.models import Message
from wadesk.ops.models import AuditEntry
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.templates.models import Template
from wadesk.tenants.models import Tenant
from wadesk.users.models import RefreshToken, User
from wadesk.webhooks.models import WebhookEvent

__all__ = [
    "AuditEntry",
    "Base",
    "Campaign",
    "CampaignRecipient",
    "Contact",
    "Conversation",
    "Message",
    "PhoneNumber",
    "RefreshToken",
    "Template",
    "Tenant",
    "User",
    "WebhookEvent",
]
