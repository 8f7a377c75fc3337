"""Posting signed webhooks to the application, the way Meta's delivery does it."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from wadesk.whatsapp.signature import SIGNATURE_HEADER, sign

from .payloads import encode_webhook

WEBHOOK_USER_AGENT = "facebookexternalua"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"


def webhook_headers(app_secret: str, raw_body: bytes) -> dict[str, str]:
    """Meta's headers: the SHA-256 signature, plus the legacy SHA-1 one receivers should ignore."""
    legacy = hmac.new(app_secret.encode(), raw_body, hashlib.sha1).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": WEBHOOK_USER_AGENT,
        SIGNATURE_HEADER: sign(app_secret, raw_body),
        LEGACY_SIGNATURE_HEADER: f"sha1={legacy}",
    }


async def post_webhook(
    client: httpx.AsyncClient, url: str, app_secret: str, payload: dict[str, Any] | bytes
) -> httpx.Response:
    """POST one webhook body (a payload, or bytes already encoded) signed with `app_secret`."""
    raw_body = payload if isinstance(payload, bytes) else encode_webhook(payload)
    return await client.post(url, content=raw_body, headers=webhook_headers(app_secret, raw_body))
