"""Identifiers in the forms Meta uses: wamids, numeric object ids, BSUIDs, trace ids.

Ids come from `secrets`, never from the simulator's seeded generator: a restarted demo with the same seed must
not hand out wamids the application already stored.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string

_NON_DIGITS = re.compile(r"\D")
_TRACE_ALPHABET = string.ascii_letters + string.digits + "-_"

# Tags inside the protobuf-like blob Meta base64-encodes after "wamid.": 0x11 marks a message the business
# sent, 0x12 one the user sent.
_OUTBOUND_TAG = 0x11
_INBOUND_TAG = 0x12


def digits_only(phone: str) -> str:
    """`+1 (650) 555-1234` → `16505551234`, the form of `wa_id` and `metadata.display_phone_number`."""
    return _NON_DIGITS.sub("", phone)


def new_wamid(counterparty_wa_id: str, *, inbound: bool) -> str:
    """A wamid shaped like Meta's: `wamid.HBgL…` encodes the user's number and a random message key."""
    number = digits_only(counterparty_wa_id).encode()[:255] or b"0"
    if inbound:
        key = ("3A" + secrets.token_hex(9)).upper()
        tag = _INBOUND_TAG
    else:
        key = secrets.token_hex(9).upper()
        tag = _OUTBOUND_TAG
    raw = (
        b"\x1c\x18"
        + bytes([len(number)])
        + number
        + b"\x15\x02\x00"
        + bytes([tag])
        + b"\x18"
        + bytes([len(key)])
        + key.encode()
        + b"\x00"
    )
    return "wamid." + base64.b64encode(raw).decode()


def new_numeric_id() -> str:
    """A 16-digit object id (media, templates), as a string like every Graph id."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def new_fbtrace_id() -> str:
    return "A" + "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(22))


def new_conversation_id() -> str:
    return secrets.token_hex(16)


def bsuid_for(wa_id: str, *, country: str = "US") -> str:
    """A stable business-scoped user id (`US.1349…`) for a phone number, so every webhook agrees on it."""
    digest = hashlib.sha256(("bsuid:" + digits_only(wa_id)).encode()).digest()
    return f"{country}.{int.from_bytes(digest[:8], 'big'):020d}"
