"""Builders for the exact JSON bodies of Cloud API send requests (`POST /{phone-number-id}/messages`).

A message is a `Content` (what to send: text, media, template, …) wrapped by `build_message` with who it goes
to and the optional reply context and `biz_opaque_callback_data`:

    build_message("+16505551234", text("Hello"), reply_to=wamid, callback_data=str(our_message_id))

Builders check Meta's documented limits (lengths, counts, one of id/link) and raise `OutboundMessageError`
before a request is wasted; they never reformat what they are given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MESSAGING_PRODUCT = "whatsapp"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_LENGTH = 512
MAX_INTERACTIVE_BODY_LENGTH = 1024
MAX_FOOTER_LENGTH = 60
MAX_HEADER_TEXT_LENGTH = 60
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE_LENGTH = 20
MAX_BUTTON_ID_LENGTH = 256
MAX_LIST_SECTIONS = 10
MAX_LIST_ROWS = 10
MAX_LIST_ROW_ID_LENGTH = 200
MAX_LIST_TITLE_LENGTH = 24
MAX_LIST_DESCRIPTION_LENGTH = 72
MAX_TEMPLATE_NAME_LENGTH = 512

JsonObject = dict[str, Any]


class OutboundMessageError(ValueError):
    """A message cannot be built because it breaks one of Meta's documented rules."""


@dataclass(frozen=True, slots=True)
class Content:
    """What a message carries: its `type` and the object Meta expects under that key."""

    type: str
    body: Any


def _require_text(value: str, what: str, max_length: int | None = None) -> str:
    if not value or not value.strip():
        raise OutboundMessageError(f"{what} must not be empty")
    if max_length is not None and len(value) > max_length:
        raise OutboundMessageError(f"{what} must be at most {max_length} characters, got {len(value)}")
    return value


def _optional_text(value: str | None, what: str, max_length: int) -> str | None:
    if value is not None and len(value) > max_length:
        raise OutboundMessageError(f"{what} must be at most {max_length} characters, got {len(value)}")
    return value


# ------------------------------------------------------------------------------------------------------------
# The envelope
# ------------------------------------------------------------------------------------------------------------


def build_message(
    to: str | None,
    content: Content,
    *,
    recipient_bsuid: str | None = None,
    reply_to: str | None = None,
    callback_data: str | None = None,
    recipient_type: str | None = "individual",
) -> JsonObject:
    """The request body sending `content` to a user.

    `to` is a phone number; pass it with `+` and country code (see `phone_recipient`), because without `+`
    Meta prepends the business number's country code. `recipient_bsuid` addresses a user by business-scoped
    user id instead (Meta prefers `to` when both are given). `reply_to` quotes an earlier message (its
    wamid). `callback_data` is echoed back in every status webhook of this message as
    `biz_opaque_callback_data`: pass our own message id so statuses can be matched even before the wamid is
    stored. `recipient_type=None` omits the field (Meta defaults to "individual").
    """
    if not to and not recipient_bsuid:
        raise OutboundMessageError("a message needs a recipient: `to` or `recipient_bsuid`")
    message: JsonObject = {"messaging_product": MESSAGING_PRODUCT}
    if recipient_type is not None:
        message["recipient_type"] = recipient_type
    if to:
        message["to"] = to
    if recipient_bsuid:
        message["recipient"] = recipient_bsuid
    message["type"] = content.type
    message[content.type] = content.body
    if reply_to is not None:
        message["context"] = {"message_id": _require_text(reply_to, "reply_to")}
    if callback_data is not None:
        message["biz_opaque_callback_data"] = _require_text(
            callback_data, "callback_data", MAX_CALLBACK_DATA_LENGTH
        )
    return message


_DIGITS = re.compile(r"^[0-9]{5,20}$")


def phone_recipient(wa_id: str) -> str:
    """A `to` value for a WhatsApp id as webhooks give it (digits only): the digits with a leading `+`."""
    if wa_id.startswith("+"):
        return wa_id
    if not _DIGITS.match(wa_id):
        raise OutboundMessageError(f"not a WhatsApp phone id: {wa_id!r}")
    return "+" + wa_id


def mark_read_request(message_id: str) -> JsonObject:
    """The body marking an inbound message (and the ones before it) as read."""
    return {
        "messaging_product": MESSAGING_PRODUCT,
        "status": "read",
        "message_id": _require_text(message_id, "message_id"),
    }


def typing_indicator_request(message_id: str) -> JsonObject:
    """The body showing a typing indicator (up to 25 s) in reply to an inbound message; also marks it read."""
    return {**mark_read_request(message_id), "typing_indicator": {"type": "text"}}


# ------------------------------------------------------------------------------------------------------------
# Content
# ------------------------------------------------------------------------------------------------------------


def text(body: str, *, preview_url: bool = False) -> Content:
    """A text message; `preview_url` renders a preview of the first URL in `body`."""
    _require_text(body, "text body", MAX_TEXT_LENGTH)
    return Content("text", {"body": body, "preview_url": preview_url})


def _media_object(
    kind: str,
    media_id: str | None,
    link: str | None,
    *,
    caption: str | None = None,
    filename: str | None = None,
) -> JsonObject:
    if (media_id is None) == (link is None):
        raise OutboundMessageError(f"{kind} needs exactly one of media_id or link")
    obj: JsonObject = {"id": media_id} if media_id is not None else {"link": link}
    if caption is not None:
        obj["caption"] = _optional_text(caption, f"{kind} caption", MAX_CAPTION_LENGTH)
    if filename is not None:
        obj["filename"] = _require_text(filename, f"{kind} filename")
    return obj


def image(*, media_id: str | None = None, link: str | None = None, caption: str | None = None) -> Content:
    """An image (JPEG/PNG), by uploaded media id (preferred) or public link."""
    return Content("image", _media_object("image", media_id, link, caption=caption))


def video(*, media_id: str | None = None, link: str | None = None, caption: str | None = None) -> Content:
    """A video (MP4/3GPP, H.264 + AAC), by uploaded media id or public link."""
    return Content("video", _media_object("video", media_id, link, caption=caption))


def audio(*, media_id: str | None = None, link: str | None = None) -> Content:
    """An audio file or voice note (OGG/OPUS), by uploaded media id or public link; audio has no caption."""
    return Content("audio", _media_object("audio", media_id, link))


def document(
    *,
    media_id: str | None = None,
    link: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
) -> Content:
    """A document, by uploaded media id or public link; `filename` is what the user sees."""
    return Content("document", _media_object("document", media_id, link, caption=caption, filename=filename))


def sticker(*, media_id: str | None = None, link: str | None = None) -> Content:
    """A WebP sticker, by uploaded media id or public link."""
    return Content("sticker", _media_object("sticker", media_id, link))


def location(
    latitude: float, longitude: float, *, name: str | None = None, address: str | None = None
) -> Content:
    """A map pin."""
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise OutboundMessageError("latitude must be within ±90 and longitude within ±180")
    obj: JsonObject = {"latitude": latitude, "longitude": longitude}
    if name is not None:
        obj["name"] = name
    if address is not None:
        obj["address"] = address
    return Content("location", obj)


def contacts(cards: Sequence[Mapping[str, Any]]) -> Content:
    """Contact cards in Meta's shape: `name.formatted_name` required; phones, emails, addresses, org, urls."""
    if not cards:
        raise OutboundMessageError("contacts needs at least one card")
    for card in cards:
        name = card.get("name")
        if not isinstance(name, Mapping) or not name.get("formatted_name"):
            raise OutboundMessageError("every contact card needs name.formatted_name")
    return Content("contacts", [dict(card) for card in cards])


def reaction(message_id: str, emoji: str) -> Content:
    """React to a message (its wamid) with an emoji; an empty `emoji` removes our reaction."""
    return Content("reaction", {"message_id": _require_text(message_id, "message_id"), "emoji": emoji})


def remove_reaction(message_id: str) -> Content:
    """Remove our reaction from a message."""
    return reaction(message_id, "")


# --- interactive --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyButton:
    """A quick reply button; the user's tap comes back as `interactive.button_reply` with this `id`."""

    id: str
    title: str


@dataclass(frozen=True, slots=True)
class ListRow:
    """A list menu row; the choice comes back as `interactive.list_reply` with this `id`."""

    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ListSection:
    rows: Sequence[ListRow]
    title: str | None = None


def text_header(value: str) -> JsonObject:
    """An interactive message header with text."""
    return {"type": "text", "text": _require_text(value, "header text", MAX_HEADER_TEXT_LENGTH)}


def media_header(
    kind: str, *, media_id: str | None = None, link: str | None = None, filename: str | None = None
) -> JsonObject:
    """An interactive message header with an image, video or document."""
    if kind not in ("image", "video", "document"):
        raise OutboundMessageError(f"a media header is an image, video or document, not {kind!r}")
    return {"type": kind, kind: _media_object(kind, media_id, link, filename=filename)}


def _interactive(
    kind: str, body: str, action: JsonObject, header: Mapping[str, Any] | None, footer: str | None
) -> Content:
    obj: JsonObject = {"type": kind}
    if header is not None:
        obj["header"] = dict(header)
    obj["body"] = {"text": _require_text(body, "interactive body", MAX_INTERACTIVE_BODY_LENGTH)}
    if footer is not None:
        obj["footer"] = {"text": _require_text(footer, "footer", MAX_FOOTER_LENGTH)}
    obj["action"] = action
    return Content("interactive", obj)


def reply_buttons(
    body: str,
    buttons: Sequence[ReplyButton],
    *,
    header: Mapping[str, Any] | None = None,
    footer: str | None = None,
) -> Content:
    """Up to three quick reply buttons under a body text."""
    if not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
        raise OutboundMessageError(f"reply buttons need 1 to {MAX_REPLY_BUTTONS} buttons, got {len(buttons)}")
    if len({b.id for b in buttons}) != len(buttons) or len({b.title for b in buttons}) != len(buttons):
        raise OutboundMessageError("reply button ids and titles must be unique")
    action = {
        "buttons": [
            {
                "type": "reply",
                "reply": {
                    "id": _require_text(b.id, "button id", MAX_BUTTON_ID_LENGTH),
                    "title": _require_text(b.title, "button title", MAX_BUTTON_TITLE_LENGTH),
                },
            }
            for b in buttons
        ]
    }
    return _interactive("button", body, action, header, footer)


def list_menu(
    body: str,
    button: str,
    sections: Sequence[ListSection],
    *,
    header: Mapping[str, Any] | None = None,
    footer: str | None = None,
) -> Content:
    """A list menu opened by `button`, with up to ten rows in total across up to ten sections."""
    if not 1 <= len(sections) <= MAX_LIST_SECTIONS:
        raise OutboundMessageError(f"a list needs 1 to {MAX_LIST_SECTIONS} sections, got {len(sections)}")
    rows = [row for section in sections for row in section.rows]
    if not 1 <= len(rows) <= MAX_LIST_ROWS:
        raise OutboundMessageError(f"a list needs 1 to {MAX_LIST_ROWS} rows in total, got {len(rows)}")
    if len({row.id for row in rows}) != len(rows):
        raise OutboundMessageError("list row ids must be unique")
    if len(sections) > 1 and any(not section.title for section in sections):
        raise OutboundMessageError("every section needs a title when there is more than one")

    def row_object(row: ListRow) -> JsonObject:
        obj: JsonObject = {
            "id": _require_text(row.id, "row id", MAX_LIST_ROW_ID_LENGTH),
            "title": _require_text(row.title, "row title", MAX_LIST_TITLE_LENGTH),
        }
        if row.description is not None:
            obj["description"] = _optional_text(
                row.description, "row description", MAX_LIST_DESCRIPTION_LENGTH
            )
        return obj

    section_objects = []
    for section in sections:
        obj: JsonObject = {}
        if section.title is not None:
            obj["title"] = _require_text(section.title, "section title", MAX_LIST_TITLE_LENGTH)
        obj["rows"] = [row_object(row) for row in section.rows]
        section_objects.append(obj)
    action = {
        "button": _require_text(button, "list button", MAX_BUTTON_TITLE_LENGTH),
        "sections": section_objects,
    }
    return _interactive("list", body, action, header, footer)


def cta_url(
    body: str,
    display_text: str,
    url: str,
    *,
    header: Mapping[str, Any] | None = None,
    footer: str | None = None,
) -> Content:
    """A call-to-action button opening `url`."""
    if not url.startswith(("https://", "http://")):
        raise OutboundMessageError("a call-to-action URL must be http(s)")
    action = {
        "name": "cta_url",
        "parameters": {
            "display_text": _require_text(display_text, "display text", MAX_BUTTON_TITLE_LENGTH),
            "url": url,
        },
    }
    return _interactive("cta_url", body, action, header, footer)


# --- templates ----------------------------------------------------------------------------------------------


def template(
    name: str,
    language: str,
    components: Sequence[Mapping[str, Any]] = (),
    *,
    language_policy: str | None = None,
) -> Content:
    """An approved template; `components` from `header_component`, `body_component` and the `*_button`
    builders below."""
    lang: JsonObject = {"code": _require_text(language, "template language")}
    if language_policy is not None:
        lang["policy"] = language_policy
    obj: JsonObject = {
        "name": _require_text(name, "template name", MAX_TEMPLATE_NAME_LENGTH),
        "language": lang,
    }
    if components:
        obj["components"] = [dict(c) for c in components]
    return Content("template", obj)


def header_component(*parameters: Mapping[str, Any]) -> JsonObject:
    """The header component of a template send (one text, media or location parameter)."""
    return {"type": "header", "parameters": [dict(p) for p in parameters]}


def body_component(*parameters: Mapping[str, Any]) -> JsonObject:
    """The body component of a template send (text, currency and date_time parameters, in order)."""
    return {"type": "body", "parameters": [dict(p) for p in parameters]}


def button_component(sub_type: str, index: int, *parameters: Mapping[str, Any]) -> JsonObject:
    """A button component of a template send; `index` is the button's position in the template."""
    if not 0 <= index < 10:
        raise OutboundMessageError(f"template button index must be 0-9, got {index}")
    # Meta wants the index as a string.
    return {
        "type": "button",
        "sub_type": sub_type,
        "index": str(index),
        "parameters": [dict(p) for p in parameters],
    }


def quick_reply_button(index: int, payload: str) -> JsonObject:
    """A quick reply button's payload, echoed back in the inbound `button.payload` when tapped."""
    return button_component("quick_reply", index, {"type": "payload", "payload": payload})


def url_button(index: int, url_suffix: str) -> JsonObject:
    """The dynamic suffix of a URL button (the template's `{{1}}`)."""
    return button_component("url", index, text_param(url_suffix))


def copy_code_button(index: int, coupon_code: str) -> JsonObject:
    """The code a copy-code button copies."""
    return button_component("copy_code", index, {"type": "coupon_code", "coupon_code": coupon_code})


def _named(param: JsonObject, name: str | None) -> JsonObject:
    if name is not None:
        param["parameter_name"] = name
    return param


def text_param(value: str, *, name: str | None = None) -> JsonObject:
    """A text parameter; `name` for templates with named parameters (`{{first_name}}`)."""
    return _named({"type": "text", "text": value}, name)


def currency_param(
    fallback_value: str, code: str, amount_1000: int, *, name: str | None = None
) -> JsonObject:
    """A currency parameter: `amount_1000` is the amount times 1000 (100990 for 100.99)."""
    return _named(
        {
            "type": "currency",
            "currency": {"fallback_value": fallback_value, "code": code, "amount_1000": amount_1000},
        },
        name,
    )


def date_time_param(
    fallback_value: str,
    *,
    name: str | None = None,
    calendar: str | None = None,
    year: int | None = None,
    month: int | None = None,
    day_of_month: int | None = None,
    day_of_week: int | None = None,
    hour: int | None = None,
    minute: int | None = None,
) -> JsonObject:
    """A date/time parameter; WhatsApp shows `fallback_value` (the other fields are legacy hints)."""
    value: JsonObject = {"fallback_value": fallback_value}
    optional = {
        "calendar": calendar,
        "year": year,
        "month": month,
        "day_of_month": day_of_month,
        "day_of_week": day_of_week,
        "hour": hour,
        "minute": minute,
    }
    value.update({k: v for k, v in optional.items() if v is not None})
    return _named({"type": "date_time", "date_time": value}, name)


def image_param(*, media_id: str | None = None, link: str | None = None) -> JsonObject:
    """An image header parameter."""
    return {"type": "image", "image": _media_object("image", media_id, link)}


def video_param(*, media_id: str | None = None, link: str | None = None) -> JsonObject:
    """A video header parameter."""
    return {"type": "video", "video": _media_object("video", media_id, link)}


def document_param(
    *, media_id: str | None = None, link: str | None = None, filename: str | None = None
) -> JsonObject:
    """A document header parameter."""
    return {"type": "document", "document": _media_object("document", media_id, link, filename=filename)}


def location_param(
    latitude: float, longitude: float, *, name: str | None = None, address: str | None = None
) -> JsonObject:
    """A location header parameter."""
    return {"type": "location", "location": location(latitude, longitude, name=name, address=address).body}


# ------------------------------------------------------------------------------------------------------------
# Template management
# ------------------------------------------------------------------------------------------------------------

_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+$")


def template_definition(
    name: str,
    language: str,
    category: str,
    components: Sequence[Mapping[str, Any]],
    *,
    parameter_format: str | None = None,
) -> JsonObject:
    """The body of `POST /{waba-id}/message_templates` creating a template for review.

    `components` are Meta's HEADER/BODY/FOOTER/BUTTONS objects, with examples for every variable.
    """
    if len(name) > MAX_TEMPLATE_NAME_LENGTH or not _TEMPLATE_NAME.match(name):
        raise OutboundMessageError("template names are lowercase letters, digits and underscores")
    if not components:
        raise OutboundMessageError("a template needs at least a BODY component")
    definition: JsonObject = {
        "name": name,
        "language": _require_text(language, "template language"),
        "category": _require_text(category, "template category"),
    }
    if parameter_format is not None:
        definition["parameter_format"] = parameter_format
    definition["components"] = [dict(c) for c in components]
    return definition
