"""Meta's template rules: what a template creation must contain, and what a template send must supply."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import graph_errors
from .config import TEMPLATE_CATEGORIES, SimulatedTemplate
from .graph_errors import GraphError

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_ADJACENT_PLACEHOLDERS = re.compile(r"\}\}\s*\{\{")
_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_NAMED_PARAM = re.compile(r"^[a-z][a-z0-9_]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
_COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS")
_HEADER_FORMATS = frozenset({"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION", "GIF"})
_MEDIA_HEADER_PARAM = {
    "IMAGE": "image",
    "VIDEO": "video",
    "DOCUMENT": "document",
    "GIF": "video",
    "LOCATION": "location",
}
_BUTTON_TYPES = frozenset(
    {
        "QUICK_REPLY",
        "URL",
        "PHONE_NUMBER",
        "COPY_CODE",
        "OTP",
        "FLOW",
        "CATALOG",
        "MPM",
        "VOICE_CALL",
        "REQUEST_CONTACT_INFO",
    }
)
MAX_BODY_LENGTH = 1024
MAX_HEADER_TEXT_LENGTH = 60
MAX_FOOTER_LENGTH = 60


def placeholders(text: str) -> list[str]:
    """Distinct `{{n}}` / `{{name}}` placeholders of a template text, in order of first appearance."""
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(text):
        if name not in seen:
            seen.append(name)
    return seen


@dataclass(frozen=True)
class TemplateReview:
    """The outcome Meta's review will announce for a newly created template."""

    event: str
    reason: str
    rejection_info: dict[str, str] | None = None


def _invalid(title: str, message: str, *, subcode: int | None = None) -> GraphError:
    return graph_errors.template_management_error(title, message, subcode=subcode)


def _component_map(components: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(components, list) or not components:
        raise _invalid("Missing template components", "The parameter components is required.")
    found: dict[str, dict[str, Any]] = {}
    for component in components:
        kind = component.get("type") if isinstance(component, dict) else None
        if not isinstance(kind, str) or kind.upper() not in _COMPONENT_TYPES:
            raise _invalid(
                "Invalid component type", f"Component type must be one of {', '.join(_COMPONENT_TYPES)}."
            )
        kind = kind.upper()
        if kind in found:
            raise _invalid("Duplicate component", f"A template can only have one {kind} component.")
        found[kind] = component
    if "BODY" not in found:
        raise _invalid("Message template body is missing", "A message template must have a BODY component.")
    return found


def _check_placeholders(where: str, names: list[str], parameter_format: str) -> None:
    if parameter_format == "NAMED":
        if not all(_NAMED_PARAM.match(name) for name in names):
            raise _invalid(
                "Invalid parameter format",
                f"{where} uses positional parameters but the template's parameter_format is named.",
            )
        return
    if not all(name.isdigit() for name in names):
        raise _invalid(
            "Invalid parameter format",
            f"{where} uses named parameters; set parameter_format to named to use them.",
        )
    if sorted(int(name) for name in names) != list(range(1, len(names) + 1)):
        raise _invalid(
            "Parameters are not sequential",
            f"{where} parameters must be numbered {{{{1}}}}, {{{{2}}}}, … without gaps.",
        )


def _check_examples(where: str, component: dict[str, Any], names: list[str], parameter_format: str) -> None:
    if not names:
        return
    example = component.get("example")
    if not isinstance(example, dict):
        raise _invalid(
            "Message template examples are missing",
            f"{where} contains variables, so example values are required.",
        )
    prefix = "body_text" if where == "BODY" else "header_text"
    if parameter_format == "NAMED":
        named = example.get(f"{prefix}_named_params")
        given = {
            item.get("param_name")
            for item in named or []
            if isinstance(item, dict) and isinstance(item.get("example"), str)
        }
        if not isinstance(named, list) or not set(names) <= given:
            raise _invalid(
                "Message template examples are missing",
                f"{where} needs {prefix}_named_params examples for: {', '.join(names)}.",
            )
        return
    values = example.get(prefix)
    if where == "BODY":
        ok = (
            isinstance(values, list)
            and len(values) >= 1
            and isinstance(values[0], list)
            and len(values[0]) == len(names)
            and all(isinstance(v, str) for v in values[0])
        )
    else:
        ok = (
            isinstance(values, list) and len(values) == len(names) and all(isinstance(v, str) for v in values)
        )
    if not ok:
        raise _invalid(
            "Message template examples are missing",
            f"{where} has {len(names)} variable(s); {prefix} must give one example value for each.",
        )


def _validate_header(header: dict[str, Any], parameter_format: str) -> None:
    fmt = header.get("format")
    if not isinstance(fmt, str) or fmt.upper() not in _HEADER_FORMATS:
        raise _invalid(
            "Invalid header format", f"HEADER format must be one of {', '.join(sorted(_HEADER_FORMATS))}."
        )
    fmt = fmt.upper()
    if fmt == "TEXT":
        text = header.get("text")
        if not isinstance(text, str) or not text or len(text) > MAX_HEADER_TEXT_LENGTH:
            raise _invalid(
                "Invalid header text",
                f"HEADER text is required and at most {MAX_HEADER_TEXT_LENGTH} characters.",
            )
        names = placeholders(text)
        if len(names) > 1:
            raise _invalid("Too many header variables", "A TEXT header can contain at most one variable.")
        _check_placeholders("HEADER", names, parameter_format)
        _check_examples("HEADER", header, names, parameter_format)
    elif fmt != "LOCATION":
        example = header.get("example")
        handles = example.get("header_handle") if isinstance(example, dict) else None
        if not isinstance(handles, list) or not handles:
            raise _invalid(
                "Message template examples are missing",
                f"A {fmt} header needs example.header_handle (an uploaded sample).",
            )


def _validate_buttons(buttons_component: dict[str, Any]) -> None:
    buttons = buttons_component.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 10:
        raise _invalid("Invalid buttons", "BUTTONS must contain between 1 and 10 buttons.")
    for button in buttons:
        kind = button.get("type") if isinstance(button, dict) else None
        if not isinstance(kind, str) or kind.upper() not in _BUTTON_TYPES:
            raise _invalid(
                "Invalid button type", f"Button type must be one of {', '.join(sorted(_BUTTON_TYPES))}."
            )
        assert isinstance(button, dict)
        kind = kind.upper()
        if kind in {"QUICK_REPLY", "URL", "PHONE_NUMBER"} and not isinstance(button.get("text"), str):
            raise _invalid("Invalid button", f"A {kind} button needs a text.")
        if kind == "URL":
            url = button.get("url")
            if not isinstance(url, str) or not url:
                raise _invalid("Invalid button", "A URL button needs a url.")
            if placeholders(url) and not button.get("example"):
                raise _invalid(
                    "Message template examples are missing", "A dynamic URL button needs an example."
                )
        if kind == "PHONE_NUMBER" and not isinstance(button.get("phone_number"), str):
            raise _invalid("Invalid button", "A PHONE_NUMBER button needs a phone_number.")


def validate_template_creation(
    body: Any, existing: Iterable[SimulatedTemplate]
) -> tuple[SimulatedTemplate, TemplateReview]:
    """A new PENDING template from a `POST /{waba-id}/message_templates` body, and its review outcome."""
    if not isinstance(body, dict):
        raise _invalid("Invalid request", "The request body must be a JSON object.")
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _invalid(
            "Invalid template name",
            "Template names can only contain lowercase letters, numbers and underscores (512 at most).",
        )
    language = body.get("language")
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise _invalid("Invalid language", "The parameter language is required and must be a language code.")
    category = body.get("category")
    if not isinstance(category, str) or category.upper() not in TEMPLATE_CATEGORIES:
        raise _invalid("Invalid category", "category must be one of MARKETING, UTILITY or AUTHENTICATION.")
    category = category.upper()
    raw_format = body.get("parameter_format", "positional")
    if not isinstance(raw_format, str) or raw_format.upper() not in {"NAMED", "POSITIONAL"}:
        raise _invalid("Invalid parameter format", "parameter_format must be named or positional.")
    parameter_format = raw_format.upper()
    found = _component_map(body.get("components"))

    if any(t.name == name and t.language == language for t in existing):
        raise _invalid(
            "Content in this language already exists",
            f"A template named {name} already exists in {language}.",
            subcode=2388024,
        )

    body_component = found["BODY"]
    text = body_component.get("text")
    if category != "AUTHENTICATION" or text is not None:
        if not isinstance(text, str) or not text.strip():
            raise _invalid("Message template body is missing", "The BODY component needs a text.")
        if len(text) > MAX_BODY_LENGTH:
            raise _invalid("Body too long", f"The BODY text can be at most {MAX_BODY_LENGTH} characters.")
        names = placeholders(text)
        _check_placeholders("BODY", names, parameter_format)
        stripped = text.strip()
        if names and (stripped.startswith("{{") or stripped.endswith("}}")):
            raise _invalid(
                "Variables can't be at the start or end of the template",
                "Variable parameters can't be at the start or end of the template.",
                subcode=2388299,
            )
        _check_examples("BODY", body_component, names, parameter_format)
    if "HEADER" in found:
        _validate_header(found["HEADER"], parameter_format)
    if "FOOTER" in found:
        footer = found["FOOTER"].get("text")
        if not isinstance(footer, str) or len(footer) > MAX_FOOTER_LENGTH:
            raise _invalid(
                "Invalid footer", f"The FOOTER text is required and at most {MAX_FOOTER_LENGTH} characters."
            )
    if "BUTTONS" in found:
        _validate_buttons(found["BUTTONS"])

    components = [dict(component) for component in body["components"]]
    template = SimulatedTemplate(
        name=name,
        language=language,
        category=category,
        components=components,
        status="PENDING",
        parameter_format=parameter_format,
    )
    review = TemplateReview(event="APPROVED", reason="NONE")
    texts = [c.get("text") for c in components if isinstance(c.get("text"), str)]
    if any(_ADJACENT_PLACEHOLDERS.search(str(t)) for t in texts):
        review = TemplateReview(
            event="REJECTED",
            reason="INVALID_FORMAT",
            rejection_info={
                "reason": "Your template has parameters placed next to each other (like {{1}}{{2}}) without "
                "text or punctuation between them.",
                "recommendation": "Separate parameters with descriptive text and ensure each parameter is "
                "clearly contextualized.",
            },
        )
    return template, review


# --- sending ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Expected:
    count: int
    names: tuple[str, ...] = ()
    media_param: str | None = None


def _expected_params(template: SimulatedTemplate) -> tuple[_Expected, _Expected, dict[str, _Expected]]:
    header = _Expected(0)
    body = _Expected(0)
    buttons: dict[str, _Expected] = {}
    for component in template.components:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt == "TEXT":
                names = placeholders(str(component.get("text", "")))
                header = _Expected(len(names), tuple(names))
            else:
                header = _Expected(1, media_param=_MEDIA_HEADER_PARAM.get(fmt))
        elif kind == "BODY":
            names = placeholders(str(component.get("text", "")))
            body = _Expected(len(names), tuple(names))
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or []):
                if not isinstance(button, dict):
                    continue
                button_type = str(button.get("type", "")).upper()
                dynamic_url = button_type == "URL" and bool(placeholders(str(button.get("url", ""))))
                if dynamic_url or button_type in {"COPY_CODE", "OTP"}:
                    buttons[str(index)] = _Expected(1)
    return header, body, buttons


def _params(component: dict[str, Any]) -> list[dict[str, Any]]:
    params = component.get("parameters", [])
    if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
        raise graph_errors.invalid_parameter("Param components[].parameters must be an array of objects.")
    return params


def _check_count(section: str, got: int, expected: int) -> None:
    if got != expected:
        raise graph_errors.template_param_count(
            f"{section}: number of localizable_params ({got}) does not match the expected number of params "
            f"({expected})"
        )


def _check_names(
    section: str, params: list[dict[str, Any]], expected: _Expected, parameter_format: str
) -> None:
    if parameter_format != "NAMED" or not expected.names:
        return
    given = [p.get("parameter_name") for p in params]
    if sorted(str(g) for g in given) != sorted(expected.names):
        raise graph_errors.template_param_count(
            f"{section}: parameter names ({', '.join(str(g) for g in given)}) do not match the expected "
            f"parameter names ({', '.join(expected.names)})"
        )


def check_template_send(template: SimulatedTemplate, components: Any) -> None:
    """Raise Meta's 132000 / 132012 when a send's parameters do not fit the approved template."""
    if components is None:
        components = []
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise graph_errors.invalid_parameter("Param template['components'] must be an array of objects.")
    expected_header, expected_body, expected_buttons = _expected_params(template)
    header_params: list[dict[str, Any]] = []
    body_params: list[dict[str, Any]] = []
    button_params: dict[str, list[dict[str, Any]]] = {}
    for component in components:
        kind = str(component.get("type", "")).lower()
        if kind == "header":
            header_params.extend(_params(component))
        elif kind == "body":
            body_params.extend(_params(component))
        elif kind == "button":
            button_params[str(component.get("index", ""))] = _params(component)
        else:
            raise graph_errors.invalid_parameter(
                "Param template['components'][]['type'] must be one of header, body, button "
                f'- got "{kind}".'
            )

    _check_count("header", len(header_params), expected_header.count)
    if expected_header.media_param is not None:
        given_type = str(header_params[0].get("type", "")).lower()
        if given_type != expected_header.media_param:
            raise graph_errors.template_param_format(
                f"header: Format mismatch, expected {expected_header.media_param.upper()}, "
                f"received {given_type.upper() or 'UNKNOWN'}"
            )
    _check_names("header", header_params, expected_header, template.parameter_format)
    _check_count("body", len(body_params), expected_body.count)
    _check_names("body", body_params, expected_body, template.parameter_format)
    for index, expected in expected_buttons.items():
        _check_count(f"button at index {index}", len(button_params.get(index, [])), expected.count)
