"""Simulated customers: inbound message webhooks built exactly as Meta builds them, signed and posted."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from .delivery import post_webhook
from .ids import bsuid_for, digits_only, new_numeric_id, new_wamid
from .media import sample_media
from .payloads import contact_entry, messages_webhook

InboundType = Literal[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "button_reply",
    "list_reply",
    "button",
    "unsupported",
]
INBOUND_TYPES: tuple[str, ...] = get_args(InboundType)
MEDIA_INBOUND_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
REPLY_INBOUND_TYPES = frozenset({"button_reply", "list_reply", "button"})


class InboundMessage(BaseModel):
    """What a simulated customer sends. On the wire (`POST /simulator/inbound`) the keys are camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="forbid", frozen=True
    )

    phone_number_id: str = Field(min_length=1)
    sender: str = Field(alias="from", min_length=1)
    type: InboundType = "text"
    name: str | None = None
    text: str | None = None
    caption: str | None = None
    filename: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_name: str | None = None
    address: str | None = None
    emoji: str | None = None
    react_to_wamid: str | None = None
    reply_to_wamid: str | None = None
    forwarded: bool = False
    button_id: str | None = None
    button_title: str | None = None
    description: str | None = None
    payload: str | None = None
    contacts: list[dict[str, Any]] | None = None
    voice: bool = True
    animated: bool = False
    media_id: str | None = None
    from_user_id: str | None = None


@dataclass(frozen=True)
class MediaRef:
    """The media object a media message points at."""

    id: str
    mime_type: str
    sha256: str
    url: str | None = None
    filename: str | None = None


def default_profile_name(sender: str) -> str:
    return f"Customer {digits_only(sender)[-4:]}"


_DEFAULT_CONTACT_CARD: dict[str, Any] = {
    "name": {"first_name": "Lucía", "last_name": "Gómez", "formatted_name": "Lucía Gómez"},
    "org": {"company": "Google"},
    "phones": [{"phone": "+1 (983) 555-2319", "wa_id": "19835552319", "type": "MOBILE"}],
}


def _media_object(kind: str, message: InboundMessage, media: MediaRef) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if kind in {"image", "video", "document"} and message.caption is not None:
        body["caption"] = message.caption
    if kind == "document":
        body["filename"] = message.filename or media.filename or "document.pdf"
    body["mime_type"] = media.mime_type
    body["sha256"] = media.sha256
    body["id"] = media.id
    if media.url is not None:
        body["url"] = media.url
    if kind == "audio":
        body["voice"] = message.voice
    if kind == "sticker":
        body["animated"] = message.animated
    return body


def _placeholder_media(kind: str, filename: str | None) -> MediaRef:
    sample = sample_media(kind, filename=filename)
    digest = base64.b64encode(hashlib.sha256(sample.data).digest()).decode()
    return MediaRef(id=new_numeric_id(), mime_type=sample.mime_type, sha256=digest, filename=sample.filename)


def build_inbound_message(
    message: InboundMessage,
    *,
    business_number: str,
    wamid: str,
    timestamp: int,
    media: MediaRef | None = None,
    context_from: str | None = None,
) -> dict[str, Any]:
    """The `messages[]` item of an inbound webhook.

    Raises ValueError when the message lacks what its type needs.
    """
    kind = message.type
    sender = digits_only(message.sender)
    context: dict[str, Any] = {}
    reply_to = message.reply_to_wamid
    if kind in REPLY_INBOUND_TYPES and reply_to is None:
        # Replies to buttons and lists always quote the business message that carried them.
        reply_to = new_wamid(sender, inbound=False)
    if reply_to is not None:
        context["from"] = digits_only(context_from or business_number)
        context["id"] = reply_to
    if message.forwarded:
        context["forwarded"] = True

    item: dict[str, Any] = {}
    if context:
        item["context"] = context
    item["from"] = sender
    item["from_user_id"] = message.from_user_id or bsuid_for(sender)
    item["id"] = wamid
    item["timestamp"] = str(timestamp)

    if kind == "text":
        if not message.text:
            raise ValueError("a text message needs text")
        item["type"] = "text"
        item["text"] = {"body": message.text}
    elif kind in MEDIA_INBOUND_TYPES:
        item["type"] = kind
        item[kind] = _media_object(kind, message, media or _placeholder_media(kind, message.filename))
    elif kind == "location":
        if message.latitude is None or message.longitude is None:
            raise ValueError("a location message needs latitude and longitude")
        location: dict[str, Any] = {}
        if message.address is not None:
            location["address"] = message.address
        location["latitude"] = message.latitude
        location["longitude"] = message.longitude
        if message.location_name is not None:
            location["name"] = message.location_name
        item["type"] = "location"
        item["location"] = location
    elif kind == "contacts":
        item["type"] = "contacts"
        item["contacts"] = message.contacts or [_DEFAULT_CONTACT_CARD]
    elif kind == "reaction":
        if message.react_to_wamid is None:
            raise ValueError("a reaction needs reactToWamid")
        reaction: dict[str, Any] = {"message_id": message.react_to_wamid}
        if message.emoji is not None:  # a removed reaction omits the emoji
            reaction["emoji"] = message.emoji
        item["type"] = "reaction"
        item["reaction"] = reaction
    elif kind in {"button_reply", "list_reply"}:
        reply: dict[str, Any] = {
            "id": message.button_id or "option_1",
            "title": message.button_title or message.text or "Option 1",
        }
        if kind == "list_reply" and message.description is not None:
            reply["description"] = message.description
        item["type"] = "interactive"
        item["interactive"] = {"type": kind, kind: reply}
    elif kind == "button":
        title = message.button_title or message.text or "Yes"
        item["type"] = "button"
        item["button"] = {"payload": message.payload or message.button_id or title, "text": title}
    else:
        item["errors"] = [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
        item["type"] = "unsupported"
    return item


def build_inbound_message_payload(
    message: InboundMessage,
    *,
    waba_id: str,
    display_phone_number: str,
    media: MediaRef | None = None,
    wamid: str | None = None,
    timestamp: int | None = None,
    context_from: str | None = None,
) -> dict[str, Any]:
    """The whole webhook body Meta would POST for `message` (one entry, one change, one message).

    `media` is the object a media message points at; without it a placeholder id (not downloadable) is used.
    `context_from` is who wrote the quoted message (default: the business number).
    """
    sender = digits_only(message.sender)
    item = build_inbound_message(
        message,
        business_number=display_phone_number,
        wamid=wamid or new_wamid(sender, inbound=True),
        timestamp=int(time.time()) if timestamp is None else timestamp,
        media=media,
        context_from=context_from,
    )
    contact = contact_entry(
        sender,
        name=message.name or default_profile_name(sender),
        user_id=message.from_user_id or bsuid_for(sender),
    )
    return messages_webhook(
        waba_id=waba_id,
        phone_number_id=message.phone_number_id,
        display_phone_number=display_phone_number,
        contacts=[contact],
        messages=[item],
    )


def inbound_wamid(payload: dict[str, Any]) -> str:
    """The wamid of the (first) message of an inbound webhook body."""
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert isinstance(wamid, str)
    return wamid


async def send_inbound(
    client: httpx.AsyncClient, app_webhook_url: str, app_secret: str, payload: dict[str, Any]
) -> tuple[str, int]:
    """POST a signed inbound webhook; returns its wamid and the application's HTTP status."""
    response = await post_webhook(client, app_webhook_url, app_secret, payload)
    return inbound_wamid(payload), response.status_code


def _default_simulator_url(app_webhook_url: str) -> str:
    parts = urlsplit(app_webhook_url)
    return f"{parts.scheme}://{parts.netloc}/simulator"


async def _lookup_number(
    client: httpx.AsyncClient, simulator_url: str, phone_number_id: str
) -> dict[str, Any]:
    try:
        response = await client.get(f"{simulator_url}/_sim/phone_numbers/{phone_number_id}")
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    found = response.json()
    return found if isinstance(found, dict) else {}


async def _upload_sample(
    client: httpx.AsyncClient, simulator_url: str, phone_number_id: str, kind: str, filename: str | None
) -> MediaRef | None:
    sample = sample_media(kind, filename=filename)
    try:
        response = await client.post(
            f"{simulator_url}/_sim/media",
            params={
                "phone_number_id": phone_number_id,
                **({"filename": sample.filename} if sample.filename else {}),
            },
            content=sample.data,
            headers={"Content-Type": sample.mime_type},
        )
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    stored = response.json()
    return MediaRef(
        id=stored["id"],
        mime_type=stored["mime_type"],
        sha256=stored["sha256"],
        url=stored.get("url"),
        filename=sample.filename,
    )


async def simulate_inbound(
    app_webhook_url: str,
    app_secret: str,
    *,
    phone_number_id: str,
    sender: str,
    type: InboundType = "text",
    text: str | None = None,
    name: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    emoji: str | None = None,
    react_to_wamid: str | None = None,
    reply_to_wamid: str | None = None,
    button_id: str | None = None,
    button_title: str | None = None,
    from_user_id: str | None = None,
    waba_id: str | None = None,
    display_phone_number: str | None = None,
    simulator_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Make a customer send a message to a running application; returns the wamid.

    The WABA id and display number of `phone_number_id` are taken from the arguments, or else asked of the
    simulator at `simulator_url` (default: `/simulator` on the webhook's host). Media messages are stored in
    that simulator so the application can download them; without a simulator they carry a placeholder id.
    Raises ValueError when the WABA cannot be determined, httpx.HTTPStatusError when the app answers non-2xx.
    """
    message = InboundMessage(
        phone_number_id=phone_number_id,
        sender=sender,
        type=type,
        text=text,
        name=name,
        caption=caption,
        filename=filename,
        latitude=latitude,
        longitude=longitude,
        emoji=emoji,
        react_to_wamid=react_to_wamid,
        reply_to_wamid=reply_to_wamid,
        button_id=button_id,
        button_title=button_title,
        from_user_id=from_user_id,
    )
    base = (simulator_url or _default_simulator_url(app_webhook_url)).rstrip("/")
    async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
        if waba_id is None or display_phone_number is None:
            known = await _lookup_number(client, base, phone_number_id)
            waba_id = waba_id or known.get("wabaId")
            display_phone_number = display_phone_number or known.get("displayPhoneNumber")
        if not waba_id or not display_phone_number:
            raise ValueError(
                f"unknown phone number {phone_number_id}: pass waba_id and display_phone_number, "
                "or run the simulator that serves it"
            )
        media = None
        if type in MEDIA_INBOUND_TYPES:
            media = await _upload_sample(client, base, phone_number_id, type, filename)
        payload = build_inbound_message_payload(
            message, waba_id=waba_id, display_phone_number=display_phone_number, media=media
        )
        response = await post_webhook(client, app_webhook_url, app_secret, payload)
        response.raise_for_status()
    return inbound_wamid(payload)
