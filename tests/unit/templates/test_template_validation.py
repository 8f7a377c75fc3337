"""Meta's template rules, checked before submission: each problem names where it is and what to change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wadesk.templates.validation import template_problems

PAYLOADS = Path(__file__).resolve().parents[4] / "shared" / "whatsapp" / "payloads"


def problems(definition: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in template_problems(definition)]


def test_metas_own_creation_examples_are_valid() -> None:
    for name in (
        "template_create_request_marketing_quick_replies.json",
        "template_create_request_utility_named_params.json",
    ):
        assert problems(json.loads((PAYLOADS / name).read_text())) == [], name


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {
            "name": "Bad Name",
            "language": "english",
            "category": "promo",
            "components": [
                {"type": "BODY", "text": "{{1}} then {{2}}"},
                {"type": "FOOTER", "text": "F" * 61},
            ],
        }
    )
    paths = [path for path, _ in found]
    assert paths == [
        "name",
        "language",
        "category",
        "components[0].text",
        "components[0].example",
        "components[1].text",
    ]


def test_named_examples_must_cover_every_parameter() -> None:
    found = problems(
        {
            "name": "receipt",
            "language": "en",
            "category": "UTILITY",
            "parameter_format": "NAMED",
            "components": [
                {
                    "type": "BODY",
                    "text": "Hi {{first_name}}, you paid {{amount}}.",
                    "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]},
                }
            ],
        }
    )
    assert found == [
        (
            "components[0].example.body_text_named_params",
            "Give an example value for each named parameter: missing amount.",
        )
    ]


def test_authentication_templates_have_a_fixed_body_and_one_otp_button() -> None:
    base = {"name": "otp", "language": "en_US", "category": "AUTHENTICATION"}
    assert problems({**base, "components": [{"type": "BODY", "text": "Your code is {{1}}."}]}) == [
        ("components[0].text", "Authentication templates have a fixed body set by WhatsApp; omit its text."),
    ]
    found = problems(
        {
            **base,
            "components": [
                {"type": "BODY"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x"}]},
            ],
        }
    )
    assert ("components[1].buttons", "Authentication templates need exactly one OTP button.") in found
