"""Access tokens are short-lived HS256 JWTs with issuer, audience and expiry checked and the algorithm
pinned; refresh tokens are opaque and stored only as a hash."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from wadesk.kit.tokens import InvalidToken, TokenSigner, hash_opaque_token, new_refresh_token

SECRET = "a-test-signing-secret-long-enough-even-for-hs512-0123456789abcdefghij"
SIGNER = TokenSigner(secret=SECRET, issuer="wadesk", audience="wadesk-api", ttl_seconds=900)
USER, TENANT = uuid.uuid4(), uuid.uuid4()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": "wadesk",
        "aud": "wadesk-api",
        "sub": str(USER),
        "tid": str(TENANT),
        "role": "agent",
        "iat": now,
        "exp": now + 600,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_an_issued_token_verifies_to_its_claims() -> None:
    before = datetime.now(UTC)
    verified = SIGNER.verify(SIGNER.issue(user_id=USER, tenant_id=TENANT, role="admin"))
    assert verified.user_id == USER
    assert verified.tenant_id == TENANT
    assert verified.role == "admin"
    assert before + timedelta(seconds=890) <= verified.expires_at <= before + timedelta(seconds=901)


def test_an_issued_token_is_hs256_with_issuer_audience_and_a_unique_id() -> None:
    token = SIGNER.issue(user_id=USER, tenant_id=TENANT, role="agent")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="wadesk-api")
    assert payload["iss"] == "wadesk"
    assert payload["sub"] == str(USER)
    assert payload["tid"] == str(TENANT)
    assert payload["exp"] - payload["iat"] == 900
    other = jwt.decode(
        SIGNER.issue(user_id=USER, tenant_id=TENANT, role="agent"),
        SECRET,
        algorithms=["HS256"],
        audience="wadesk-api",
    )
    assert other["jti"] != payload["jti"]


def _with_payload(token: str, payload: dict[str, Any]) -> str:
    """A real token whose payload was replaced, keeping its header and signature."""
    header, _, signature = token.split(".")
    return f"{header}.{segment(payload)}.{signature}"


REFUSED = {
    "another secret": jwt.encode(
        claims(), "some-other-secret-that-is-long-enough-for-any-algorithm-0123456789", algorithm="HS256"
    ),
    "expired": jwt.encode(
        claims(iat=int(time.time()) - 1000, exp=int(time.time()) - 1), SECRET, algorithm="HS256"
    ),
    "another audience": jwt.encode(claims(aud="someone-else"), SECRET, algorithm="HS256"),
    "no audience": jwt.encode(claims(aud=None), SECRET, algorithm="HS256"),
    "another issuer": jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"),
    "no issuer": jwt.encode(claims(iss=None), SECRET, algorithm="HS256"),
    "no expiry": jwt.encode(claims(exp=None), SECRET, algorithm="HS256"),
    "no subject": jwt.encode(claims(sub=None), SECRET, algorithm="HS256"),
    "no tenant": jwt.encode(claims(tid=None), SECRET, algorithm="HS256"),
    "no role": jwt.encode(claims(role=None), SECRET, algorithm="HS256"),
    "subject not an id": jwt.encode(claims(sub="admin"), SECRET, algorithm="HS256"),
    "tenant not an id": jwt.encode(claims(tid="12"), SECRET, algorithm="HS256"),
    "HS512": jwt.encode(claims(), SECRET, algorithm="HS512"),
    "HS384": jwt.encode(claims(), SECRET, algorithm="HS384"),
    "alg none": f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims())}.",
    "alg None": f"{segment({'alg': 'None', 'typ': 'JWT'})}.{segment(claims())}.",
    "payload swapped": _with_payload(
        SIGNER.issue(user_id=USER, tenant_id=TENANT, role="agent"), claims(role="admin")
    ),
    "empty": "",
    "garbage": "not.a.token",
    "two segments": "abc.def",
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_a_forged_stale_or_malformed_token_is_refused(kind: str) -> None:
    with pytest.raises(InvalidToken):
        SIGNER.verify(REFUSED[kind])


def test_a_token_signed_now_but_expiring_in_the_past_is_refused() -> None:
    stale = TokenSigner(secret=SECRET, issuer="wadesk", audience="wadesk-api", ttl_seconds=-1)
    with pytest.raises(InvalidToken):
        SIGNER.verify(stale.issue(user_id=USER, tenant_id=TENANT, role="agent"))


def test_refresh_tokens_are_opaque_random_and_distinct() -> None:
    tokens = {new_refresh_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in list(tokens)[:5]:
        assert token.startswith("wrt_")
        assert len(token) >= 40
        assert "." not in token  # not a JWT: nothing to decode


def test_refresh_tokens_are_stored_as_a_sha256_that_does_not_reveal_them() -> None:
    token = new_refresh_token()
    stored = hash_opaque_token(token)
    assert stored == hash_opaque_token(token)
    assert len(stored) == 64
    assert int(stored, 16) >= 0
    assert token not in stored
    assert stored != hash_opaque_token(new_refresh_token())
