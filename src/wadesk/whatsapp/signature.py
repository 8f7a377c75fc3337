"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def sign(app_secret: str, raw_body: bytes) -> str:
    """The header value Meta would send for `raw_body`."""
    digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify_signature(raw_body: bytes, header_value: str | None, app_secrets: Iterable[str]) -> bool:
    """True when the header is a valid signature of the exact raw bytes under any of the accepted secrets.

    Several secrets are accepted so an app secret can be rotated without dropping webhooks. Every secret is
    compared in constant time; nothing is parsed before this returns True.
    """
    if not header_value or not header_value.startswith(_PREFIX):
        return False
    given = header_value[len(_PREFIX) :].strip().lower()
    # Only hex reaches compare_digest: it raises TypeError on non-ASCII str, and a forged header must not 500.
    if not _HEX_DIGEST.fullmatch(given):
        return False
    matched = False
    for secret in app_secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
        matched |= hmac.compare_digest(expected, given)
    return matched
