"""The checks Meta applies to a new message template, run before submission so problems show at once.

`template_problems(definition)` lists every problem with where it is (`components[1].buttons[0].text`) and a
sentence saying what to change. An empty list means Meta's structural validation will accept it (review of
the content itself is still Meta's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wadesk.templates.service import placeholders

NAME = re.compile(r"^[a-z0-9_]+$")
MAX_NAME_LENGTH = 512
NAMED_PARAMETER = re.compile(r"^[a-z_][a-z0-9_]*$")
_ANY_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_ADJACENT = re.compile(r"\}\}\s*\{\{")
_URL = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9]{6,20}$")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
PARAMETER_FORMATS = ("POSITIONAL", "NAMED")
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP")
MAX_BODY_LENGTH = 1024
MAX_HEADER_TEXT_LENGTH = 60
MAX_FOOTER_LENGTH = 60
MAX_BUTTON_TEXT_LENGTH = 25
MAX_URL_LENGTH = 2000
MAX_COPY_CODE_LENGTH = 15
MAX_BUTTONS = 10
MAX_URL_BUTTONS = 2
MAX_PHONE_BUTTONS = 1
MAX_COPY_CODE_BUTTONS = 1
OTP_TYPES = ("COPY_CODE", "ONE_TAP", "ZERO_TAP")

# The languages Meta accepts for templates (codes as the Graph API takes them).
LANGUAGES = frozenset(
    [
        "af",
        "sq",
        "ar",
        "ar_EG",
        "ar_AE",
        "ar_LB",
        "ar_MA",
        "ar_QA",
        "az",
        "be_BY",
        "bn",
        "bn_IN",
        "bg",
        "ca",
        "zh_CN",
        "zh_HK",
        "zh_TW",
        "hr",
        "cs",
        "da",
        "prs_AF",
        "nl",
        "nl_BE",
        "en",
        "en_GB",
        "en_US",
        "en_AE",
        "en_AU",
        "en_CA",
        "en_GH",
        "en_IE",
        "en_IN",
        "en_JM",
        "en_MY",
        "en_NZ",
        "en_QA",
        "en_SG",
        "en_UG",
        "en_ZA",
        "et",
        "fil",
        "fi",
        "fr",
        "fr_BE",
        "fr_CA",
        "fr_CH",
        "fr_CI",
        "fr_MA",
        "ka",
        "de",
        "de_AT",
        "de_CH",
        "el",
        "gu",
        "ha",
        "he",
        "hi",
        "hu",
        "id",
        "ga",
        "it",
        "ja",
        "kn",
        "kk",
        "rw_RW",
        "ko",
        "ky_KG",
        "lo",
        "lv",
        "lt",
        "mk",
        "ms",
        "ml",
        "mr",
        "nb",
        "ps_AF",
        "fa",
        "pl",
        "pt_BR",
        "pt_PT",
        "pa",
        "ro",
        "ru",
        "sr",
        "si_LK",
        "sk",
        "sl",
        "es",
        "es_AR",
        "es_CL",
        "es_CO",
        "es_CR",
        "es_DO",
        "es_EC",
        "es_HN",
        "es_MX",
        "es_PA",
        "es_PE",
        "es_ES",
        "es_UY",
        "sw",
        "sv",
        "ta",
        "te",
        "th",
        "tr",
        "uk",
        "ur",
        "uz",
        "vi",
        "zu",
    ]
)


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))


def _upper(value: Any) -> str:
    return value.upper() if isinstance(value, str) else ""


def _check_placeholders(check: _Checker, path: str, text: str, parameter_format: str) -> list[str]:
    """The text's parameters, after checking their syntax and numbering for the template's format."""
    for raw in _ANY_PLACEHOLDER.findall(text):
        if not re.fullmatch(r"\s*[A-Za-z0-9_]+\s*", raw):
            check.add(path, f"'{{{{{raw}}}}}' is not a valid parameter; use {{{{1}}}} or {{{{name}}}}.")
    if text.count("{{") != text.count("}}"):
        check.add(path, "The text has unbalanced '{{' and '}}'.")
    names = placeholders(text)
    if not names:
        return names
    if parameter_format == "NAMED":
        bad = [n for n in names if not NAMED_PARAMETER.match(n)]
        if bad:
            check.add(
                path,
                f"Named parameters must be lowercase letters, digits and underscores, starting with a letter "
                f"(not {', '.join(bad)}); for {{{{1}}}}-style parameters set parameterFormat to POSITIONAL.",
            )
    else:
        if not all(n.isdigit() for n in names):
            check.add(
                path,
                "The text uses named parameters but the template's parameterFormat is POSITIONAL; "
                "set it to NAMED or use {{1}}, {{2}}, …",
            )
        elif sorted(int(n) for n in names) != list(range(1, len(names) + 1)):
            check.add(
                path, "Positional parameters must be numbered {{1}}, {{2}}, … in sequence, without gaps."
            )
    if _ADJACENT.search(text):
        check.add(
            path,
            "Two parameters are next to each other (like {{1}}{{2}}); separate them with words or punctuation.",
        )
    return names


def _check_examples(
    check: _Checker,
    path: str,
    component: dict[str, Any],
    names: list[str],
    parameter_format: str,
    prefix: str,
) -> None:
    if not names:
        return
    example = component.get("example")
    where = f"{path}.example"
    if not isinstance(example, dict):
        check.add(where, f"The text has {len(names)} parameter(s): give an example value for each.")
        return
    if parameter_format == "NAMED":
        given = example.get(f"{prefix}_named_params")
        values = (
            {
                str(item.get("param_name")): item.get("example")
                for item in given or []
                if isinstance(item, dict)
            }
            if isinstance(given, list)
            else {}
        )
        missing = [n for n in names if not isinstance(values.get(n), str) or not str(values[n]).strip()]
        if missing:
            check.add(
                f"{where}.{prefix}_named_params",
                f"Give an example value for each named parameter: missing {', '.join(missing)}.",
            )
        return
    values_raw = example.get(prefix)
    if prefix == "body_text":
        row = values_raw[0] if isinstance(values_raw, list) and values_raw else None
        ok = (
            isinstance(row, list)
            and len(row) == len(names)
            and all(isinstance(v, str) and v.strip() for v in row)
        )
        shape = f"[[{', '.join(['…'] * len(names))}]]"
    else:
        ok = (
            isinstance(values_raw, list)
            and len(values_raw) == len(names)
            and all(isinstance(v, str) and v.strip() for v in values_raw)
        )
        shape = f"[{', '.join(['…'] * len(names))}]"
    if not ok:
        check.add(
            f"{where}.{prefix}",
            f"The text has {len(names)} parameter(s): {prefix} must be {shape} with one non-empty example each.",
        )


def _check_header(check: _Checker, path: str, header: dict[str, Any], parameter_format: str) -> None:
    fmt = _upper(header.get("format"))
    if fmt not in HEADER_FORMATS:
        check.add(f"{path}.format", f"The header format must be one of {', '.join(HEADER_FORMATS)}.")
        return
    if fmt == "TEXT":
        text = header.get("text")
        if not isinstance(text, str) or not text.strip():
            check.add(f"{path}.text", "A TEXT header needs its text.")
            return
        if len(text) > MAX_HEADER_TEXT_LENGTH:
            check.add(
                f"{path}.text",
                f"The header text is {len(text)} characters; the limit is {MAX_HEADER_TEXT_LENGTH}.",
            )
        if "\n" in text or _has_emoji(text):
            check.add(f"{path}.text", "A header cannot contain line breaks or emoji.")
        names = _check_placeholders(check, f"{path}.text", text, parameter_format)
        if len(names) > 1:
            check.add(f"{path}.text", "A TEXT header can contain at most one parameter.")
        _check_examples(check, path, header, names, parameter_format, "header_text")
    elif fmt != "LOCATION":
        example = header.get("example")
        handles = example.get("header_handle") if isinstance(example, dict) else None
        if not isinstance(handles, list) or not handles or not all(isinstance(h, str) and h for h in handles):
            check.add(
                f"{path}.example.header_handle",
                f"A {fmt} header needs an example: upload a sample {fmt.lower()} and give its handle in "
                "example.header_handle.",
            )
        if header.get("text"):
            check.add(f"{path}.text", f"A {fmt} header has no text.")


def _has_emoji(text: str) -> bool:
    return any(ord(ch) >= 0x1F000 or 0x2600 <= ord(ch) <= 0x27BF for ch in text)


def _check_body(
    check: _Checker, path: str, body: dict[str, Any], parameter_format: str, category: str
) -> None:
    text = body.get("text")
    if category == "AUTHENTICATION":
        if text is not None:
            check.add(
                f"{path}.text", "Authentication templates have a fixed body set by WhatsApp; omit its text."
            )
        flag = body.get("add_security_recommendation")
        if flag is not None and not isinstance(flag, bool):
            check.add(
                f"{path}.add_security_recommendation", "add_security_recommendation must be true or false."
            )
        return
    if not isinstance(text, str) or not text.strip():
        check.add(f"{path}.text", "The body needs its text.")
        return
    if len(text) > MAX_BODY_LENGTH:
        check.add(f"{path}.text", f"The body is {len(text)} characters; the limit is {MAX_BODY_LENGTH}.")
    names = _check_placeholders(check, f"{path}.text", text, parameter_format)
    stripped = text.strip()
    if names and (stripped.startswith("{{") or stripped.endswith("}}")):
        check.add(
            f"{path}.text", "The body cannot start or end with a parameter; add words before or after it."
        )
    if "\n\n\n" in text:
        check.add(f"{path}.text", "The body cannot contain more than two line breaks in a row.")
    _check_examples(check, path, body, names, parameter_format, "body_text")


def _check_footer(check: _Checker, path: str, footer: dict[str, Any], category: str) -> None:
    if category == "AUTHENTICATION":
        minutes = footer.get("code_expiration_minutes")
        if minutes is not None and (
            not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 90
        ):
            check.add(
                f"{path}.code_expiration_minutes",
                "code_expiration_minutes must be a whole number from 1 to 90.",
            )
        if footer.get("text") is not None:
            check.add(f"{path}.text", "Authentication templates have a fixed footer; omit its text.")
        return
    text = footer.get("text")
    if not isinstance(text, str) or not text.strip():
        check.add(f"{path}.text", "The footer needs its text (or leave the footer out).")
        return
    if len(text) > MAX_FOOTER_LENGTH:
        check.add(f"{path}.text", f"The footer is {len(text)} characters; the limit is {MAX_FOOTER_LENGTH}.")
    if placeholders(text) or "{{" in text:
        check.add(f"{path}.text", "The footer cannot contain parameters.")


def _check_button_text(check: _Checker, path: str, button: dict[str, Any], kind: str) -> None:
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        check.add(f"{path}.text", f"A {kind} button needs its text.")
    elif len(text) > MAX_BUTTON_TEXT_LENGTH:
        check.add(
            f"{path}.text",
            f"The button text is {len(text)} characters; the limit is {MAX_BUTTON_TEXT_LENGTH}.",
        )
    elif "{{" in text:
        check.add(f"{path}.text", "Button texts cannot contain parameters.")


def _check_buttons(check: _Checker, path: str, component: dict[str, Any], category: str) -> None:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        check.add(f"{path}.buttons", "BUTTONS needs at least one button (or leave the component out).")
        return
    if len(buttons) > MAX_BUTTONS:
        check.add(
            f"{path}.buttons", f"A template can have at most {MAX_BUTTONS} buttons; it has {len(buttons)}."
        )
    kinds: list[str] = []
    texts: list[str] = []
    for index, button in enumerate(buttons):
        where = f"{path}.buttons[{index}]"
        if not isinstance(button, dict):
            check.add(where, "Each button must be an object.")
            continue
        kind = _upper(button.get("type"))
        if kind not in BUTTON_TYPES:
            check.add(f"{where}.type", f"The button type must be one of {', '.join(BUTTON_TYPES)}.")
            continue
        kinds.append(kind)
        if kind == "OTP":
            if category != "AUTHENTICATION":
                check.add(f"{where}.type", "OTP buttons are only for AUTHENTICATION templates.")
            if _upper(button.get("otp_type")) not in OTP_TYPES:
                check.add(f"{where}.otp_type", f"otp_type must be one of {', '.join(OTP_TYPES)}.")
            continue
        if category == "AUTHENTICATION":
            check.add(f"{where}.type", "Authentication templates can only have one OTP button.")
            continue
        if kind in ("QUICK_REPLY", "URL", "PHONE_NUMBER"):
            _check_button_text(check, where, button, kind)
            if isinstance(button.get("text"), str):
                texts.append(button["text"].strip().lower())
        if kind == "URL":
            url = button.get("url")
            if not isinstance(url, str) or not _URL.match(url.strip()):
                check.add(f"{where}.url", "A URL button needs an absolute http:// or https:// URL.")
            else:
                if len(url) > MAX_URL_LENGTH:
                    check.add(f"{where}.url", f"The URL is longer than {MAX_URL_LENGTH} characters.")
                names = placeholders(url)
                if len(names) > 1 or (names and not url.rstrip().endswith("}}")):
                    check.add(f"{where}.url", "A URL can have one parameter, {{1}}, only at its end.")
                elif names and names != ["1"]:
                    check.add(f"{where}.url", "The URL parameter must be written {{1}}.")
                if names:
                    example = button.get("example")
                    values = (
                        example
                        if isinstance(example, list)
                        else [example]
                        if isinstance(example, str)
                        else []
                    )
                    if not values or not all(isinstance(v, str) and _URL.match(v) for v in values):
                        check.add(
                            f"{where}.example",
                            "A URL with a parameter needs an example: the full URL with a sample value.",
                        )
        elif kind == "PHONE_NUMBER":
            phone = button.get("phone_number")
            if not isinstance(phone, str) or not _PHONE.match(phone.replace(" ", "")):
                check.add(
                    f"{where}.phone_number", "A PHONE_NUMBER button needs a number in international format."
                )
        elif kind == "COPY_CODE":
            example = button.get("example")
            if not isinstance(example, str) or not example.strip():
                check.add(f"{where}.example", "A COPY_CODE button needs an example code.")
            elif len(example) > MAX_COPY_CODE_LENGTH:
                check.add(
                    f"{where}.example", f"The example code is longer than {MAX_COPY_CODE_LENGTH} characters."
                )
    if category == "AUTHENTICATION":
        if kinds.count("OTP") != 1:
            check.add(f"{path}.buttons", "Authentication templates need exactly one OTP button.")
        return
    for kind, limit in (
        ("URL", MAX_URL_BUTTONS),
        ("PHONE_NUMBER", MAX_PHONE_BUTTONS),
        ("COPY_CODE", MAX_COPY_CODE_BUTTONS),
    ):
        if kinds.count(kind) > limit:
            check.add(f"{path}.buttons", f"A template can have at most {limit} {kind} button(s).")
    quick = [i for i, k in enumerate(kinds) if k == "QUICK_REPLY"]
    if quick and quick != list(range(quick[0], quick[0] + len(quick))):
        check.add(
            f"{path}.buttons",
            "Quick reply buttons must be grouped together, before or after the other buttons.",
        )
    duplicates = sorted({t for t in texts if texts.count(t) > 1})
    if duplicates:
        check.add(f"{path}.buttons", f"Button texts must differ: '{duplicates[0]}' is used twice.")


def template_problems(definition: dict[str, Any]) -> list[Problem]:
    """Every problem Meta's structural validation would find in a template creation body."""
    check = _Checker()
    name = definition.get("name")
    if not isinstance(name, str) or not name:
        check.add("name", "The template needs a name.")
    elif len(name) > MAX_NAME_LENGTH:
        check.add("name", f"The name is {len(name)} characters; the limit is {MAX_NAME_LENGTH}.")
    elif not NAME.match(name):
        check.add(
            "name", "Names can only contain lowercase letters, digits and underscores (e.g. order_update)."
        )
    language = definition.get("language")
    if not isinstance(language, str) or language not in LANGUAGES:
        check.add(
            "language", f"'{language}' is not a language WhatsApp templates support (e.g. en_US, pt_BR, es)."
        )
    category = _upper(definition.get("category"))
    if category not in CATEGORIES:
        check.add("category", f"The category must be one of {', '.join(CATEGORIES)}.")
    parameter_format = _upper(definition.get("parameter_format") or "POSITIONAL")
    if parameter_format not in PARAMETER_FORMATS:
        check.add("parameter_format", "parameterFormat must be POSITIONAL or NAMED.")
        parameter_format = "POSITIONAL"
    components = definition.get("components")
    if not isinstance(components, list) or not components:
        check.add("components", "The template needs components, at least a BODY.")
        return check.problems
    seen: dict[str, int] = {}
    for index, component in enumerate(components):
        path = f"components[{index}]"
        if not isinstance(component, dict):
            check.add(path, "Each component must be an object.")
            continue
        kind = _upper(component.get("type"))
        if kind not in ("HEADER", "BODY", "FOOTER", "BUTTONS"):
            check.add(f"{path}.type", "The component type must be HEADER, BODY, FOOTER or BUTTONS.")
            continue
        if kind in seen:
            check.add(f"{path}.type", f"A template can have only one {kind}.")
            continue
        seen[kind] = index
        if kind == "HEADER":
            if category == "AUTHENTICATION":
                check.add(path, "Authentication templates have no header.")
            else:
                _check_header(check, path, component, parameter_format)
        elif kind == "BODY":
            _check_body(check, path, component, parameter_format, category)
        elif kind == "FOOTER":
            _check_footer(check, path, component, category)
        else:
            _check_buttons(check, path, component, category)
    if "BODY" not in seen:
        check.add("components", "The template needs a BODY component.")
    return check.problems
