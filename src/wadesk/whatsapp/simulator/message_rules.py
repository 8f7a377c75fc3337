"""What `POST /{phone-number-id}/messages` accepts, checked the way Meta checks it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import graph_errors
from .ids import digits_only

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
MESSAGE_TYPES = ("text", *MEDIA_TYPES, "location", "contacts", "interactive", "template", "reaction")
INTERACTIVE_TYPES = frozenset(
    {
        "button",
        "list",
        "cta_url",
        "flow",
        "product",
        "product_list",
        "catalog_message",
        "location_request_message",
        "address_message",
        "call_permission_request",
        "contact_request",
    }
)
MAX_TEXT_BODY = 4096
MAX_CAPTION = 1024
MAX_INTERACTIVE_BODY = 1024
MAX_BUTTON_TITLE = 20
MAX_OPAQUE_CALLBACK_DATA = 512


@dataclass(frozen=True)
class SendRequest:
    """A validated message send."""

    to: str
    wa_id: str
    type: str
    content: dict[str, Any] | list[Any]
    biz_opaque_callback_data: str | None
    context_message_id: str | None


@dataclass(frozen=True)
class MarkReadRequest:
    message_id: str
    typing_indicator: bool


def _require_object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        raise graph_errors.required_parameter(name)
    if not isinstance(value, dict):
        raise graph_errors.invalid_parameter(f"Param {name} must be a JSON object.")
    return value


def _require_text(container: dict[str, Any], key: str, path: str, *, max_length: int | None = None) -> str:
    value = container.get(key)
    if value is None or value == "":
        raise graph_errors.required_parameter(f"{path}['{key}']")
    if not isinstance(value, str):
        raise graph_errors.invalid_parameter(f"Param {path}['{key}'] must be a string.")
    if max_length is not None and len(value) > max_length:
        raise graph_errors.invalid_parameter(
            f"Param {path}['{key}'] must be at most {max_length} characters long.",
        )
    return value


def _validate_media(kind: str, media: dict[str, Any]) -> None:
    has_id = isinstance(media.get("id"), str) and bool(media["id"])
    has_link = isinstance(media.get("link"), str) and bool(media["link"])
    if has_id == has_link:
        raise graph_errors.invalid_parameter(f"Param {kind} must contain exactly one of id or link.")
    if has_link and not str(media["link"]).startswith(("http://", "https://")):
        raise graph_errors.invalid_parameter(f"Param {kind}['link'] must be a valid http or https URL.")
    caption = media.get("caption")
    if caption is not None:
        if kind not in {"image", "video", "document"}:
            raise graph_errors.invalid_parameter(
                f"Param {kind}['caption'] is not supported for {kind} messages."
            )
        if not isinstance(caption, str) or len(caption) > MAX_CAPTION:
            raise graph_errors.invalid_parameter(
                f"Param {kind}['caption'] must be at most {MAX_CAPTION} characters."
            )


def _validate_location(location: dict[str, Any]) -> None:
    for key, bound in (("latitude", 90.0), ("longitude", 180.0)):
        value = location.get(key)
        if value is None:
            raise graph_errors.required_parameter(f"location['{key}']")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise graph_errors.invalid_parameter(f"Param location['{key}'] must be a number.") from None
        if not -bound <= number <= bound:
            raise graph_errors.invalid_parameter(f"Param location['{key}'] is out of range.")


def _validate_contacts(contacts: Any) -> None:
    if not isinstance(contacts, list) or not contacts:
        raise graph_errors.required_parameter("contacts")
    for index, card in enumerate(contacts):
        if not isinstance(card, dict) or not isinstance(card.get("name"), dict):
            raise graph_errors.required_parameter(f"contacts[{index}]['name']")
        _require_text(card["name"], "formatted_name", f"contacts[{index}]['name']")


def _validate_interactive(interactive: dict[str, Any]) -> None:
    kind = interactive.get("type")
    if kind is None:
        raise graph_errors.required_parameter("interactive['type']")
    if kind not in INTERACTIVE_TYPES:
        raise graph_errors.invalid_parameter(
            f"Param interactive['type'] must be one of {{{', '.join(sorted(INTERACTIVE_TYPES))}}} "
            f'- got "{kind}".'
        )
    action = interactive.get("action")
    if kind in {"button", "list", "cta_url", "flow", "product_list"}:
        body = _require_object(interactive.get("body"), "interactive['body']")
        _require_text(body, "text", "interactive['body']", max_length=MAX_INTERACTIVE_BODY)
    if kind in {"button", "list", "cta_url", "flow", "product", "product_list", "catalog_message"}:
        action = _require_object(action, "interactive['action']")
    if kind == "button":
        assert isinstance(action, dict)
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise graph_errors.invalid_parameter(
                "Param interactive['action']['buttons'] must have 1 to 3 buttons."
            )
        ids: set[str] = set()
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if not isinstance(reply, dict):
                raise graph_errors.required_parameter("interactive['action']['buttons'][]['reply']")
            button_id = _require_text(
                reply, "id", "interactive['action']['buttons'][]['reply']", max_length=256
            )
            _require_text(
                reply, "title", "interactive['action']['buttons'][]['reply']", max_length=MAX_BUTTON_TITLE
            )
            if button_id in ids:
                raise graph_errors.invalid_parameter("Buttons must have unique ids.")
            ids.add(button_id)
    elif kind == "list":
        assert isinstance(action, dict)
        _require_text(action, "button", "interactive['action']", max_length=MAX_BUTTON_TITLE)
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            raise graph_errors.invalid_parameter(
                "Param interactive['action']['sections'] must have 1 to 10 sections."
            )
        rows = [row for section in sections if isinstance(section, dict) for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10:
            raise graph_errors.invalid_parameter("A list message must have between 1 and 10 rows in total.")
        for row in rows:
            if not isinstance(row, dict):
                raise graph_errors.invalid_parameter("List rows must be objects.")
            _require_text(row, "id", "interactive['action']['sections'][]['rows'][]", max_length=200)
            _require_text(row, "title", "interactive['action']['sections'][]['rows'][]", max_length=24)
    elif kind == "cta_url":
        assert isinstance(action, dict)
        parameters = _require_object(action.get("parameters"), "interactive['action']['parameters']")
        _require_text(
            parameters, "display_text", "interactive['action']['parameters']", max_length=MAX_BUTTON_TITLE
        )
        _require_text(parameters, "url", "interactive['action']['parameters']")


def _validate_template(template: dict[str, Any]) -> None:
    _require_text(template, "name", "template")
    language = _require_object(template.get("language"), "template['language']")
    _require_text(language, "code", "template['language']")


def _validate_reaction(reaction: dict[str, Any]) -> None:
    _require_text(reaction, "message_id", "reaction")
    emoji = reaction.get("emoji")
    if emoji is None:
        raise graph_errors.required_parameter("reaction['emoji']")
    if not isinstance(emoji, str):
        raise graph_errors.invalid_parameter("Param reaction['emoji'] must be a string.")


def parse_mark_read(body: dict[str, Any]) -> MarkReadRequest:
    if body.get("status") != "read":
        raise graph_errors.invalid_parameter("Param status must be read.")
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise graph_errors.required_parameter("message_id")
    indicator = body.get("typing_indicator")
    if indicator is not None and (not isinstance(indicator, dict) or indicator.get("type") != "text"):
        raise graph_errors.invalid_parameter("Param typing_indicator['type'] must be text.")
    return MarkReadRequest(message_id=message_id, typing_indicator=indicator is not None)


def parse_send(body: Any) -> SendRequest | MarkReadRequest:
    """Validate a messages-endpoint body; raise the GraphError Meta would answer with."""
    if not isinstance(body, dict):
        raise graph_errors.invalid_parameter("The request body must be a JSON object.")
    if body.get("messaging_product") != "whatsapp":
        raise graph_errors.required_parameter("messaging_product")
    if "status" in body:
        return parse_mark_read(body)

    recipient_type = body.get("recipient_type", "individual")
    if recipient_type not in {"individual", "group"}:
        raise graph_errors.invalid_parameter("Param recipient_type must be one of {individual, group}.")
    to = body.get("to")
    if to is None or to == "":
        raise graph_errors.required_parameter("to")
    if not isinstance(to, str):
        raise graph_errors.invalid_parameter("Param to must be a string.")
    wa_id = digits_only(to)
    if not 7 <= len(wa_id) <= 15 or any(c.isalpha() for c in to):
        raise graph_errors.invalid_parameter(f"Param to ({to}) is not a valid phone number.")

    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise graph_errors.invalid_parameter(
            f'Param type must be one of {{{", ".join(t.upper() for t in MESSAGE_TYPES)}}} - got "{kind}".'
        )
    content: dict[str, Any] | list[Any]
    if kind == "contacts":
        _validate_contacts(body.get("contacts"))
        content = body["contacts"]
    else:
        content = _require_object(body.get(kind), kind)
        if kind == "text":
            _require_text(content, "body", "text", max_length=MAX_TEXT_BODY)
            if "preview_url" in content and not isinstance(content["preview_url"], bool):
                raise graph_errors.invalid_parameter("Param text['preview_url'] must be a boolean.")
        elif kind in MEDIA_TYPES:
            _validate_media(kind, content)
        elif kind == "location":
            _validate_location(content)
        elif kind == "interactive":
            _validate_interactive(content)
        elif kind == "template":
            _validate_template(content)
        elif kind == "reaction":
            _validate_reaction(content)

    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > MAX_OPAQUE_CALLBACK_DATA):
        raise graph_errors.invalid_parameter(
            "Param biz_opaque_callback_data must be a string of at most "
            f"{MAX_OPAQUE_CALLBACK_DATA} characters."
        )
    context = body.get("context")
    context_id: str | None = None
    if context is not None:
        if not isinstance(context, dict) or not isinstance(context.get("message_id"), str):
            raise graph_errors.required_parameter("context['message_id']")
        context_id = context["message_id"]
    return SendRequest(
        to=to,
        wa_id=wa_id,
        type=kind,
        content=content,
        biz_opaque_callback_data=opaque,
        context_message_id=context_id,
    )
