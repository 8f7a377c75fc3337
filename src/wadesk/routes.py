"""Every API router, in the order the OpenAPI document lists them. A new domain adds its router here.

Requests are matched against the routers in this order, one route at a time: Meta's webhook deliveries, by far
the busiest traffic, come first so they do not pay for scanning every other route."""

from fastapi import APIRouter

from wadesk.analytics.router import router as analytics_router
from wadesk.api_keys.router import router as api_keys_router
from wadesk.auth.router import router as auth_router
from wadesk.campaigns.router import router as campaigns_router
from wadesk.collaboration.router import canned_router, conversation_router, labels_router
from wadesk.contacts.router import router as contacts_router
from wadesk.conversations.router import router as conversations_router
from wadesk.integrations.router import router as integrations_router
from wadesk.media.router import router as media_router
from wadesk.messages.router import router as messages_router
from wadesk.ops.audit_router import router as audit_router
from wadesk.ops.metrics import router as metrics_router
from wadesk.ops.router import router as health_router
from wadesk.phone_numbers.router import router as phone_numbers_router
from wadesk.realtime.router import router as realtime_router
from wadesk.templates.router import router as templates_router
from wadesk.tenants.router import router as tenant_router
from wadesk.users.router import router as users_router
from wadesk.webhooks.router import router as webhook_router

API_ROUTERS: list[APIRouter] = [
    webhook_router,
    auth_router,
    tenant_router,
    users_router,
    phone_numbers_router,
    conversations_router,
    conversation_router,
    labels_router,
    contacts_router,
    messages_router,
    media_router,
    templates_router,
    canned_router,
    campaigns_router,
    analytics_router,
    integrations_router,
    api_keys_router,
    audit_router,
    realtime_router,
    health_router,
    metrics_router,
]
