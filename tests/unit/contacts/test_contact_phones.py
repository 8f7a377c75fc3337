"""Phone numbers as WhatsApp ids: E.164 digits, and the national forms that are the same WhatsApp user."""

from __future__ import annotations

import pytest

from wadesk.contacts.phones import InvalidPhoneNumber, normalize_wa_id, wa_id_variants


@pytest.mark.parametrize(
    ("entered", "wa_id"),
    [
        ("+1 (555) 123-4001", "15551234001"),
        ("0044 7700 900123", "447700900123"),
        ("5511987654321", "5511987654321"),
        ("+52 1 55 1234 5678", "5215512345678"),  # Mexico's old WhatsApp form is still a valid id
        ("+39 06 1234 5678", "390612345678"),  # Italy keeps its leading zero
    ],
)
def test_numbers_are_normalised_to_e164_digits(entered: str, wa_id: str) -> None:
    assert normalize_wa_id(entered) == wa_id


@pytest.mark.parametrize(
    ("entered", "reason"),
    [
        ("hello", "international format"),
        ("+1 555 12", "international format"),
        ("+999 1234 5678", "country code does not exist"),
        ("+44 12", "international format"),
        ("+1 555 123 40011234", "too long"),
    ],
)
def test_impossible_numbers_are_refused_saying_why(entered: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as raised:
        normalize_wa_id(entered)
    assert reason in raised.value.message


@pytest.mark.parametrize(
    ("wa_id", "same_user"),
    [
        ("5511987654321", "551187654321"),  # Brazil: mobile with and without the ninth digit
        ("551187654321", "5511987654321"),
        ("5491123456789", "541123456789"),  # Argentina: with and without the mobile 9
        ("541123456789", "5491123456789"),
        ("5215512345678", "525512345678"),  # Mexico: with and without the old mobile 1
        ("525512345678", "5215512345678"),
    ],
)
def test_national_variants_are_the_same_whatsapp_user(wa_id: str, same_user: str) -> None:
    assert wa_id_variants(wa_id) == [wa_id, same_user]
    assert wa_id in wa_id_variants(same_user)


@pytest.mark.parametrize("wa_id", ["551134567890", "5511934567890", "15551234001", "447700900123"])
def test_numbers_without_a_variant_match_only_themselves(wa_id: str) -> None:
    # Brazilian landlines (2-5 after the area code) never had a ninth digit; a 9 before one is another number.
    assert wa_id_variants(wa_id) == [wa_id]
