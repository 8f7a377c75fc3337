"""Message templates: the placeholders a template needs, checking a send against them, and rendering.

One function decides what parameters a template needs (`required_parameters`); the sender's validation and
the preview both use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wadesk.templates.models import Template

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_HEADER_FORMATS = {"IMAGE", "VIDEO", "DOCUMENT", "LOCATION"}


@dataclass(frozen=True, slots=True)
class RequiredParameters:
    header_text: list[str]
    header_media: str | None
    body: list[str]
    buttons: dict[int, list[str]]


def placeholders(text: str) -> list[str]:
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def required_parameters(template: Template) -> RequiredParameters:
    header_text: list[str] = []
    header_media: str | None = None
    body: list[str] = []
    buttons: dict[int, list[str]] = {}
    for component in template.components:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt in MEDIA_HEADER_FORMATS:
                header_media = fmt.lower()
            else:
                header_text = placeholders(str(component.get("text", "")))
        elif kind == "BODY":
            body = placeholders(str(component.get("text", "")))
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons", [])):
                if str(button.get("type", "")).upper() == "URL" and placeholders(str(button.get("url", ""))):
                    buttons[index] = placeholders(str(button.get("url", "")))
    return RequiredParameters(header_text, header_media, body, buttons)


def send_components(parameters: list[str] | dict[str, str] | None) -> list[dict[str, Any]]:
    """Meta's `components` for the shorthand `parameters` (body parameters only)."""
    if not parameters:
        return []
    if isinstance(parameters, dict):
        items = [{"type": "text", "parameter_name": k, "text": v} for k, v in parameters.items()]
    else:
        items = [{"type": "text", "text": v} for v in parameters]
    return [{"type": "body", "parameters": items}]


def parameter_problems(template: Template, components: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the parameters of a send, in words an agent understands; empty when fine."""
    required = required_parameters(template)
    given: dict[str, list[dict[str, Any]]] = {}
    for component in components:
        kind = str(component.get("type", "")).lower()
        key = f"button:{component.get('index', 0)}" if kind == "button" else kind
        given[key] = list(component.get("parameters") or [])
    problems = []
    header = given.get("header", [])
    if required.header_media:
        if not any(p.get("type") == required.header_media for p in header):
            problems.append(f"the header needs a {required.header_media} parameter")
    elif len(header) != len(required.header_text):
        problems.append(f"the header needs {len(required.header_text)} parameter(s), got {len(header)}")
    body = given.get("body", [])
    if len(body) != len(required.body):
        problems.append(f"the body needs {len(required.body)} parameter(s), got {len(body)}")
    elif template.parameter_format.upper() == "NAMED":
        given_names = {p.get("parameter_name") for p in body}
        missing = [n for n in required.body if n not in given_names]
        if missing:
            problems.append("missing named body parameter(s): " + ", ".join(missing))
    for index, names in required.buttons.items():
        if len(given.get(f"button:{index}", [])) != len(names):
            problems.append(f"button {index} needs {len(names)} parameter(s)")
    return problems


def _parameter_text(parameter: dict[str, Any]) -> str:
    kind = parameter.get("type")
    if kind == "text":
        return str(parameter.get("text", ""))
    if kind == "currency":
        return str(parameter.get("currency", {}).get("fallback_value", ""))
    if kind == "date_time":
        return str(parameter.get("date_time", {}).get("fallback_value", ""))
    return f"[{kind}]"


def render_text(text: str, parameters: list[dict[str, Any]]) -> str:
    positional = [_parameter_text(p) for p in parameters]
    named = {str(p["parameter_name"]): _parameter_text(p) for p in parameters if p.get("parameter_name")}

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in named:
            return named[key]
        if key.isdigit() and 0 < int(key) <= len(positional):
            return positional[int(key) - 1]
        return match.group(0)

    return _PLACEHOLDER.sub(substitute, text)


def render_template(template: Template, components: list[dict[str, Any]]) -> str:
    """The message the customer sees (header, body, footer), with parameters filled in."""
    given = {str(c.get("type", "")).lower(): list(c.get("parameters") or []) for c in components}
    parts = []
    for component in template.components:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER" and str(component.get("format", "TEXT")).upper() == "TEXT":
            parts.append(render_text(str(component.get("text", "")), given.get("header", [])))
        elif kind == "BODY":
            parts.append(render_text(str(component.get("text", "")), given.get("body", [])))
        elif kind == "FOOTER":
            parts.append(str(component.get("text", "")))
    return "\n".join(p for p in parts if p)
