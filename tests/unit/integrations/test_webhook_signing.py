"""Outbound webhook signatures: HMAC-SHA256 over `timestamp.body`, rejected when stale or altered."""

from __future__ import annotations

import hashlib
import hmac

from wadesk.integrations.signing import new_signing_secret, signature_header, verify_signature


def test_the_header_is_an_hmac_of_timestamp_dot_body() -> None:
    header = signature_header("whsec_k", b'{"a":1}', timestamp=1_700_000_000)
    expected = hmac.new(b"whsec_k", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_receiver_accepts_fresh_genuine_deliveries_only() -> None:
    secret = new_signing_secret()
    body = b'{"type":"contact.created"}'
    header = signature_header(secret, body, timestamp=1_000)
    assert verify_signature(secret, body, header, now=1_100)
    assert not verify_signature(secret, body, header, now=1_000 + 301)  # replayed later
    assert not verify_signature(secret, body + b" ", header, now=1_100)
    assert not verify_signature(new_signing_secret(), body, header, now=1_100)
    forged = header.replace("t=1000", "t=1100")  # a fresh timestamp does not fit the old signature
    assert not verify_signature(secret, body, forged, now=1_100)
    assert not verify_signature(secret, body, "v1=abc", now=1_100)
