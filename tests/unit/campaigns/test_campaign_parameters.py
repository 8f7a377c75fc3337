"""Filling a template's placeholders for one recipient, and checking a mapping against the template."""

from __future__ import annotations

from typing import Any

from wadesk.campaigns.parameters import RecipientData, fill, mapping_problems
from wadesk.templates.models import Template

ORDER = Template(
    name="order_update",
    language="en_US",
    category="UTILITY",
    status="APPROVED",
    parameter_format="POSITIONAL",
    components=[
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} ships from {{3}}."},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track", "url": "https://t.example/{{1}}"}]},
    ],
)
MAPPING: dict[str, Any] = {
    "header": {"1": {"source": "csv", "column": "order"}},
    "body": {
        "1": {"source": "contact", "field": "firstName", "fallback": "there"},
        "2": {"source": "csv", "column": "order"},
        "3": {"source": "contact", "field": "attributes.city"},
    },
    "buttons": {"0": {"1": {"source": "csv", "column": "tracking"}}},
}


def data(name: str | None = "Maria Lopez", city: str | None = "Lyon", **row: str) -> RecipientData:
    attributes = {"city": city} if city else {}
    return RecipientData(name=name, profile_name=None, wa_id="15551234001", attributes=attributes, row=row)


def test_every_placeholder_is_filled_from_its_source_and_rendered() -> None:
    filled = fill(ORDER, MAPPING, data(order="#42", tracking="ABC"))
    assert filled.problems == []
    assert filled.rendered == "Order #42\nHi Maria, your order #42 ships from Lyon."
    assert filled.components == [
        {"type": "header", "parameters": [{"type": "text", "text": "#42"}]},
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Maria"},
                {"type": "text", "text": "#42"},
                {"type": "text", "text": "Lyon"},
            ],
        },
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "ABC"}]},
    ]


def test_an_empty_value_takes_the_fallback_or_is_reported() -> None:
    filled = fill(ORDER, MAPPING, data(name=None, city=None, order="#42", tracking="ABC"))
    assert "Hi there," in filled.rendered
    assert filled.problems == ["body placeholder {{3}} is empty (the contact's attributes.city)"]


def test_values_lose_new_lines_and_runs_of_spaces_meta_would_refuse() -> None:
    filled = fill(ORDER, MAPPING, data(order="#4\n2   x", tracking="A"))
    assert filled.components[0]["parameters"][0]["text"] == "#4 2 x"


def test_a_mapping_is_checked_against_the_template() -> None:
    assert mapping_problems(ORDER, MAPPING, ["order", "tracking"]) == []
    problems = mapping_problems(
        ORDER,
        {"body": {"1": {"source": "contact", "field": "shoeSize"}, "4": {"source": "static", "value": "x"}}},
        None,
    )
    assert problems == [
        "header placeholder {{1}} has no source",
        "body placeholder {{1}} reads unknown contact field 'shoeSize'",
        "body placeholder {{2}} has no source",
        "body placeholder {{3}} has no source",
        "the template's body has no placeholder {{4}}",
        "button 0 placeholder {{1}} has no source",
    ]


def test_csv_columns_are_only_for_csv_audiences_and_must_exist() -> None:
    assert (
        "reads a CSV column, but the audience is not a CSV upload"
        in mapping_problems(ORDER, MAPPING, None)[0]
    )
    assert mapping_problems(ORDER, MAPPING, ["order"]) == [
        "button 0 placeholder {{1}} reads CSV column 'tracking', which the upload does not have"
    ]


def test_named_parameters_carry_their_names() -> None:
    named = Template(
        name="welcome",
        language="en",
        category="MARKETING",
        status="APPROVED",
        parameter_format="NAMED",
        components=[{"type": "BODY", "text": "Hello {{first_name}}!"}],
    )
    filled = fill(named, {"body": {"first_name": {"source": "contact", "field": "firstName"}}}, data())
    assert filled.components == [
        {"type": "body", "parameters": [{"type": "text", "text": "Maria", "parameter_name": "first_name"}]}
    ]
    assert filled.rendered == "Hello Maria!"
