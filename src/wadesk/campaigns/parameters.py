"""Filling a template's placeholders for one recipient, from contact fields, CSV columns or fixed values.

A mapping names a source for every placeholder the template needs (`templates.service.required_parameters`):

    {"body": {"1": {"source": "contact", "field": "name", "fallback": "there"},
              "2": {"source": "csv", "column": "order"}},
     "header": {"1": {"source": "static", "value": "Spring sale"}},
     "buttons": {"0": {"1": {"source": "csv", "column": "tracking"}}},
     "headerMedia": {"source": "static", "value": "https://example.com/banner.jpg"}}

Contact fields: `name`, `firstName`, `profileName`, `phone`, `waId`, `attributes.<key>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wadesk.contacts.models import Contact
from wadesk.templates.models import Template
from wadesk.templates.service import render_template, required_parameters

CONTACT_FIELDS = ("name", "firstName", "profileName", "phone", "waId")
ATTRIBUTE_PREFIX = "attributes."
MAX_PARAMETER_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class RecipientData:
    """What a placeholder can be filled from: the contact's fields and the recipient's CSV row."""

    name: str | None
    profile_name: str | None
    wa_id: str | None
    attributes: Mapping[str, Any]
    row: Mapping[str, Any]

    @classmethod
    def of(cls, contact: Contact, row: Mapping[str, Any] | None = None) -> RecipientData:
        return cls(contact.name, contact.profile_name, contact.wa_id, contact.attributes or {}, row or {})


@dataclass(frozen=True, slots=True)
class Filled:
    """Meta's `components` for one send, the text the customer will see, and what could not be filled."""

    components: list[dict[str, Any]]
    rendered: str
    problems: list[str]


def _contact_value(data: RecipientData, field: str) -> str | None:
    if field == "name":
        return data.name or data.profile_name
    if field == "firstName":
        full = data.name or data.profile_name
        return full.split()[0] if full and full.split() else None
    if field == "profileName":
        return data.profile_name
    if field == "phone":
        return f"+{data.wa_id}" if data.wa_id else None
    if field == "waId":
        return data.wa_id
    if field.startswith(ATTRIBUTE_PREFIX):
        value = data.attributes.get(field[len(ATTRIBUTE_PREFIX) :])
        return None if value is None or isinstance(value, (dict, list)) else str(value)
    return None


def source_value(source: Mapping[str, Any], data: RecipientData) -> str | None:
    """The value of one mapped placeholder for one recipient (fallback included), or None when empty."""
    kind = source.get("source")
    value: str | None = None
    if kind == "contact":
        value = _contact_value(data, str(source.get("field", "")))
    elif kind == "csv":
        raw = data.row.get(str(source.get("column", "")))
        value = None if raw is None else str(raw)
    elif kind == "static":
        value = None if source.get("value") is None else str(source.get("value"))
    if value is not None:
        value = " ".join(value.split())  # Meta refuses new lines, tabs and runs of spaces in parameters
    if not value:
        fallback = source.get("fallback")
        value = str(fallback).strip() if fallback else None
    return value[:MAX_PARAMETER_LENGTH] if value else None


def describe(source: Mapping[str, Any]) -> str:
    kind = source.get("source")
    if kind == "contact":
        return f"the contact's {source.get('field')}"
    if kind == "csv":
        return f"CSV column '{source.get('column')}'"
    return "the fixed value"


def mapping_problems(
    template: Template, mapping: Mapping[str, Any], csv_columns: list[str] | None
) -> list[str]:
    """What is missing or wrong in a mapping for this template; `csv_columns` None = not a CSV audience."""
    required = required_parameters(template)
    problems: list[str] = []

    def check(place: str, names: list[str], given: Mapping[str, Any]) -> None:
        for name in names:
            source = given.get(name)
            if source is None:
                problems.append(f"{place} placeholder {{{{{name}}}}} has no source")
                continue
            problems.extend(_source_problems(f"{place} placeholder {{{{{name}}}}}", source, csv_columns))
        for extra in sorted(set(given) - set(names)):
            problems.append(f"the template's {place} has no placeholder {{{{{extra}}}}}")

    check("header", required.header_text, mapping.get("header") or {})
    check("body", required.body, mapping.get("body") or {})
    buttons = mapping.get("buttons") or {}
    for index, names in required.buttons.items():
        check(f"button {index}", names, buttons.get(str(index)) or {})
    for index in sorted(set(buttons) - {str(i) for i in required.buttons}):
        problems.append(f"the template has no button {index} with placeholders")
    media = mapping.get("headerMedia")
    if required.header_media and media is None:
        problems.append(f"the header needs a {required.header_media} link (headerMedia)")
    elif media is not None and not required.header_media:
        problems.append("the template's header takes no media")
    elif media is not None:
        problems.extend(_source_problems("headerMedia", media, csv_columns))
    return problems


def _source_problems(label: str, source: Mapping[str, Any], csv_columns: list[str] | None) -> list[str]:
    kind = source.get("source")
    if kind == "csv":
        if csv_columns is None:
            return [f"{label} reads a CSV column, but the audience is not a CSV upload"]
        if csv_columns and source.get("column") not in csv_columns:
            return [f"{label} reads CSV column '{source.get('column')}', which the upload does not have"]
    if kind == "contact":
        field = str(source.get("field", ""))
        if field not in CONTACT_FIELDS and not (
            field.startswith(ATTRIBUTE_PREFIX) and len(field) > len(ATTRIBUTE_PREFIX)
        ):
            return [f"{label} reads unknown contact field '{field}'"]
    return []


def fill(template: Template, mapping: Mapping[str, Any], data: RecipientData) -> Filled:
    """Meta's `components` for this recipient, with the rendered text; problems name empty placeholders."""
    required = required_parameters(template)
    named = template.parameter_format.upper() == "NAMED"
    problems: list[str] = []
    components: list[dict[str, Any]] = []

    def parameters(place: str, names: list[str], given: Mapping[str, Any]) -> list[dict[str, Any]]:
        result = []
        for name in names:
            source = given.get(name) or {}
            value = source_value(source, data)
            if value is None:
                problems.append(f"{place} placeholder {{{{{name}}}}} is empty ({describe(source)})")
                value = ""
            parameter: dict[str, Any] = {"type": "text", "text": value}
            if named and not name.isdigit():
                parameter["parameter_name"] = name
            result.append(parameter)
        return result

    header: list[dict[str, Any]] = []
    if required.header_media:
        link = source_value(mapping.get("headerMedia") or {}, data)
        if link is None:
            problems.append(f"the header {required.header_media} link is empty")
        else:
            header = [{"type": required.header_media, required.header_media: {"link": link}}]
    elif required.header_text:
        header = parameters("header", required.header_text, mapping.get("header") or {})
    if header:
        components.append({"type": "header", "parameters": header})
    if required.body:
        components.append(
            {"type": "body", "parameters": parameters("body", required.body, mapping.get("body") or {})}
        )
    buttons = mapping.get("buttons") or {}
    for index, names in sorted(required.buttons.items()):
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": str(index),
                "parameters": parameters(f"button {index}", names, buttons.get(str(index)) or {}),
            }
        )
    return Filled(components, render_template(template, components), problems)
