"""Every API router, in the order the OpenAPI document lists them. A new domain adds its router here."""

from fastapi import APIRouter

from wadesk.auth.router import router as auth_router
from wadesk.conversations.router import router as conversations_router
from wadesk.messages.router import router as messages_router
from wadesk.ops.router import router as health_router
from wadesk.phone_numbers.router import router as phone_numbers_router
from wadesk.realtime.router import router as realtime_router
from wadesk.users.router import router as users_router
from wadesk.webhooks.router import router as webhook_router

API_ROUTERS: list[APIRouter] = [
    auth_router,
    users_router,
    phone_numbers_router,
    conversations_router,
    messages_router,
    webhook_router,
    realtime_router,
    health_router,
]
