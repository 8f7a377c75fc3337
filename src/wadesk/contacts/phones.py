"""Phone numbers as WhatsApp knows them: E.164 digits (`wa_id`), and the variants that reach the same user.

Some countries' numbers exist in two forms that WhatsApp treats as one account:
- Brazil (+55): mobile numbers gained a ninth digit (`9` after the two-digit area code) in 2012-2016;
  accounts created before carry the 8-digit form as their `wa_id`, so `+55 11 91234-5678` and
  `+55 11 1234-5678` are the same user.
- Argentina (+54): mobile numbers are dialled internationally with a `9` after the country code
  (`+54 9 11 …`); WhatsApp ids use it, address books often omit it.
- Mexico (+52): mobile numbers used to carry a `1` after the country code (`+52 1 55 …`); older WhatsApp ids
  still do.
Lookups match every variant, so a contact is never duplicated because of the form it was entered in.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

from wadesk.errors import Unprocessable

_SEPARATORS = re.compile(r"[\s\-().]")
_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "its country code does not exist",
    ValidationResult.TOO_SHORT: "it is too short for its country",
    ValidationResult.TOO_LONG: "it is too long for its country",
    ValidationResult.INVALID_LENGTH: "it has the wrong number of digits for its country",
}


class InvalidPhoneNumber(Unprocessable):
    code = "invalid_phone_number"


def wa_id_variants(wa_id: str) -> list[str]:
    """`wa_id` and the other forms WhatsApp accepts for the same user (Brazil, Argentina, Mexico)."""
    variants = [wa_id]
    national = wa_id[2:]
    if wa_id.startswith("55"):
        # Only mobile numbers (8 digits starting 6-9 after the area code) gained the ninth digit.
        if len(national) == 11 and national[2] == "9" and national[3] in "6789":
            variants.append("55" + national[:2] + national[3:])
        elif len(national) == 10 and national[2] in "6789":
            variants.append("55" + national[:2] + "9" + national[2:])
    elif wa_id.startswith("54"):
        if len(national) == 11 and national[0] == "9":
            variants.append("54" + national[1:])
        elif len(national) == 10:
            variants.append("549" + national)
    elif wa_id.startswith("52"):
        if len(national) == 11 and national[0] == "1":
            variants.append("52" + national[1:])
        elif len(national) == 10:
            variants.append("521" + national)
    return variants


def _possible(digits: str) -> int | None:
    """None when `digits` (E.164 without '+') is a possible number, else why not."""
    try:
        parsed = phonenumbers.parse("+" + digits)
    except NumberParseException:
        return ValidationResult.INVALID_COUNTRY_CODE
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    return (
        None if reason in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY) else reason
    )


def normalize_wa_id(value: str) -> str:
    """A phone number as WhatsApp ids it: country code and number, digits only (E.164 without the '+').

    Accepts `+`, `00` or bare international digits with spaces, dashes, dots and brackets. Refuses what
    cannot be a phone number of its country, saying why.
    """
    cleaned = _SEPARATORS.sub("", value.strip())
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    elif cleaned.startswith("00"):
        cleaned = cleaned[2:]
    if not cleaned.isdigit() or not 8 <= len(cleaned) <= 15:
        raise InvalidPhoneNumber(
            f"'{value}' is not a phone number in international format (e.g. +15551234001).",
            details={"value": value},
        )
    reason = _possible(cleaned)
    # A WhatsApp-only form (e.g. Mexico's +52 1 …) is no longer a dialable number but still a valid wa_id.
    if reason is not None and not any(_possible(v) is None for v in wa_id_variants(cleaned)[1:]):
        raise InvalidPhoneNumber(
            f"'{value}' is not a valid phone number: {_REASONS.get(reason, 'it cannot be dialled')}.",
            details={"value": value},
        )
    try:
        canonical = phonenumbers.format_number(
            phonenumbers.parse("+" + cleaned), phonenumbers.PhoneNumberFormat.E164
        )
    except NumberParseException:
        return cleaned
    return canonical.lstrip("+")
