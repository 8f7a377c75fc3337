from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wadesk.whatsapp.signature import SIGNATURE_HEADER, sign, verify_signature

SECRET = "app-secret-1"
NEW_SECRET = "app-secret-2"


@pytest.fixture
def body(payload_bytes: Callable[[str], bytes]) -> bytes:
    return payload_bytes("inbound_text.json")


def test_header_name_is_meta_sha256_header() -> None:
    assert SIGNATURE_HEADER == "X-Hub-Signature-256"


def test_sign_is_hex_hmac_sha256_of_the_raw_body_with_prefix(body: bytes) -> None:
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    assert sign(SECRET, body) == f"sha256={expected}"


def test_valid_signature_is_accepted(body: bytes) -> None:
    assert verify_signature(body, sign(SECRET, body), [SECRET])


def test_signature_made_with_another_secret_is_rejected(body: bytes) -> None:
    assert not verify_signature(body, sign("someone-else", body), [SECRET])


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_is_rejected(body: bytes, header: str | None) -> None:
    assert not verify_signature(body, header, [SECRET])


def test_legacy_sha1_header_value_is_rejected(body: bytes) -> None:
    sha1 = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()

    assert not verify_signature(body, f"sha1={sha1}", [SECRET])


def test_sha256_digest_under_sha1_prefix_is_rejected(body: bytes) -> None:
    digest = sign(SECRET, body).removeprefix("sha256=")

    assert not verify_signature(body, f"sha1={digest}", [SECRET])


def test_digest_without_prefix_is_rejected(body: bytes) -> None:
    assert not verify_signature(body, sign(SECRET, body).removeprefix("sha256="), [SECRET])


def test_truncated_signature_is_rejected(body: bytes) -> None:
    assert not verify_signature(body, sign(SECRET, body)[:-1], [SECRET])


def test_signature_with_a_flipped_digit_is_rejected(body: bytes) -> None:
    header = sign(SECRET, body)
    flipped = header[:-1] + ("0" if header[-1] != "0" else "1")

    assert not verify_signature(body, flipped, [SECRET])


def test_uppercase_hex_digest_is_accepted(body: bytes) -> None:
    header = sign(SECRET, body)

    assert verify_signature(body, "sha256=" + header.removeprefix("sha256=").upper(), [SECRET])


def test_reserialised_json_does_not_verify(body: bytes) -> None:
    header = sign(SECRET, body)
    reserialised = json.dumps(json.loads(body)).encode()

    assert reserialised != body
    assert not verify_signature(reserialised, header, [SECRET])


def test_non_ascii_body_must_be_signed_as_received() -> None:
    raw = '{"text": {"body": "Lucía 👍"}}'.encode()
    escaped = json.dumps(json.loads(raw)).encode()  # \u-escapes the non-ASCII characters

    assert verify_signature(raw, sign(SECRET, raw), [SECRET])
    assert not verify_signature(escaped, sign(SECRET, raw), [SECRET])


def test_rotation_accepts_the_old_and_the_new_secret(body: bytes) -> None:
    secrets = [NEW_SECRET, SECRET]

    assert verify_signature(body, sign(SECRET, body), secrets)
    assert verify_signature(body, sign(NEW_SECRET, body), secrets)
    assert not verify_signature(body, sign("retired-secret", body), secrets)


def test_no_configured_secret_accepts_nothing(body: bytes) -> None:
    assert not verify_signature(body, sign(SECRET, body), [])
    assert not verify_signature(body, sign("", body), [""])


def test_secrets_may_be_any_iterable(body: bytes) -> None:
    assert verify_signature(body, sign(SECRET, body), (s for s in [NEW_SECRET, SECRET]))


@given(raw=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40))
def test_any_body_verifies_under_its_own_signature_only(raw: bytes, secret: str) -> None:
    header = sign(secret, raw)

    assert verify_signature(raw, header, [secret])
    assert not verify_signature(raw + b" ", header, [secret])


@given(header=st.text(max_size=80))
def test_arbitrary_header_values_never_raise(header: str) -> None:
    assert verify_signature(b"{}", header, [SECRET]) in (True, False)


@pytest.mark.parametrize("digest", ["é" * 64, "g" * 64, "0" * 63 + "\n", "\uff10" * 64])
def test_non_hex_digest_of_the_right_length_is_rejected_without_error(body: bytes, digest: str) -> None:
    assert not verify_signature(body, f"sha256={digest}", [SECRET])
