"""Imports every table so metadata (Alembic, tests) sees the whole schema."""

from wadesk.analytics.models import ConversationStatusChange
from wadesk.api_keys.models import ApiKey
from wadesk.campaigns.models import Campaign, CampaignRecipient
from wadesk.collaboration.models import (
    AutoAssignmentState,
    CannedResponse,
    ConversationLabel,
    ConversationNote,
    ConversationParticipant,
    Label,
)
from wadesk.contacts.models import Contact, ContactTag
from wadesk.conversations.models import Conversation
from wadesk.db.base import Base
from wadesk.integrations.models import OutboundAttempt, OutboundDelivery, OutboundWebhook
from wadesk.media.models import MediaUpload
from wadesk.messages.models import Message
from wadesk.ops.models import AuditEntry
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.templates.models import Template
from wadesk.tenants.models import Tenant
from wadesk.users.models import RefreshToken, User
from wadesk.webhooks.models import WebhookEvent

__all__ = [
    "ApiKey",
    "AuditEntry",
    "AutoAssignmentState",
    "Base",
    "Campaign",
    "CampaignRecipient",
    "CannedResponse",
    "Contact",
    "ContactTag",
    "Conversation",
    "ConversationLabel",
    "ConversationNote",
    "ConversationParticipant",
    "ConversationStatusChange",
    "Label",
    "MediaUpload",
    "Message",
    "OutboundAttempt",
    "OutboundDelivery",
    "OutboundWebhook",
    "PhoneNumber",
    "RefreshToken",
    "Template",
    "Tenant",
    "User",
    "WebhookEvent",
]
