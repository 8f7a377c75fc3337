"""Meta's customer service window, in one place: free-form messages are allowed for 24 hours after the
customer's last message; outside it only templates may be sent."""

from __future__ import annotations

from datetime import datetime, timedelta

from wadesk.conversations.models import Conversation
from wadesk.db.base import utcnow

CUSTOMER_WINDOW = timedelta(hours=24)


def customer_window_expiry(last_inbound_at: datetime | None) -> datetime | None:
    return last_inbound_at + CUSTOMER_WINDOW if last_inbound_at else None


def window_is_open(conversation: Conversation, now: datetime | None = None) -> bool:
    expires = conversation.customer_window_expires_at
    return expires is not None and expires > (now or utcnow())
