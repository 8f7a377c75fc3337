"""AES-256-GCM encryption of credentials at rest, with key ids so keys can rotate.

Stored form: `v1:<key id>:<base64(nonce || ciphertext+tag)>`. The tenant id is the associated data, so a
blob copied into another tenant's row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_NONCE_BYTES = 12


class DecryptionError(Exception):
    pass


def key_id_for(key: bytes) -> str:
    """A short stable id derived from the key itself, so configuration only needs the keys."""
    return hashlib.sha256(b"wadesk-key-id" + key).hexdigest()[:8]


@dataclass
class Keyring:
    """The current key (encrypts) and older keys (decrypt only, until `wadesk rotate-key` re-encrypts)."""

    current: bytes
    previous: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        for key in (self.current, *self.previous):
            if len(key) != 32:
                raise ValueError("AES-256 keys must be 32 bytes")
        self._by_id = {key_id_for(k): k for k in (*self.previous, self.current)}

    @property
    def current_key_id(self) -> str:
        return key_id_for(self.current)

    def encrypt(self, plaintext: str, *, associated_data: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.current).encrypt(nonce, plaintext.encode(), associated_data.encode())
        blob = base64.b64encode(nonce + sealed).decode()
        return f"{_VERSION}:{self.current_key_id}:{blob}"

    def decrypt(self, stored: str, *, associated_data: str) -> str:
        try:
            version, key_id, blob = stored.split(":", 2)
        except ValueError as exc:
            raise DecryptionError("not an encrypted value") from exc
        if version != _VERSION:
            raise DecryptionError(f"unknown format {version!r}")
        key = self._by_id.get(key_id)
        if key is None:
            raise DecryptionError(f"no key with id {key_id!r} is configured")
        try:
            raw = base64.b64decode(blob, validate=True)
            plaintext = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated_data.encode())
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("ciphertext was tampered with or belongs elsewhere") from exc
        return plaintext.decode()

    def needs_rotation(self, stored: str) -> bool:
        return not stored.startswith(f"{_VERSION}:{self.current_key_id}:")
