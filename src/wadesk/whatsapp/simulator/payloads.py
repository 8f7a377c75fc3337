"""Webhook bodies in Meta's exact shapes (see the `status_*`, `inbound_*` and `template_*` examples)."""

from __future__ import annotations

import json
from typing import Any

from .config import SimulatedTemplate
from .ids import digits_only

WEBHOOK_OBJECT = "whatsapp_business_account"

FAILURE_ERRORS: dict[int, dict[str, Any]] = {
    131026: {
        "code": 131026,
        "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."},
    },
    131047: {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {
            "details": "Message failed to send because more than 24 hours have passed since the customer "
            "last replied to this number."
        },
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    },
}


def encode_webhook(payload: dict[str, Any]) -> bytes:
    """Compact JSON with non-ASCII escaped as `\\uXXXX`, as Meta sends it."""
    return json.dumps(payload, separators=(",", ":")).encode()


def graph_major_version(version: str) -> int:
    """`v23.0` → 23; anything unparsable counts as the newest shape."""
    try:
        return int(version.lstrip("vV").split(".", 1)[0])
    except ValueError:
        return 10_000


def messages_webhook(
    *,
    waba_id: str,
    phone_number_id: str,
    display_phone_number: str,
    contacts: list[dict[str, Any]] | None = None,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The `field: messages` envelope around inbound messages or statuses."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": digits_only(display_phone_number),
            "phone_number_id": phone_number_id,
        },
    }
    if contacts:
        value["contacts"] = contacts
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": WEBHOOK_OBJECT,
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def contact_entry(wa_id: str, *, name: str | None, user_id: str | None) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    if name is not None:
        contact["profile"] = {"name": name}
    contact["wa_id"] = wa_id
    if user_id is not None:
        contact["user_id"] = user_id
    return contact


def pricing_for(category: str) -> dict[str, Any]:
    """PMP pricing: templates are billed by their category, free-form replies are free customer service."""
    if category == "service":
        return {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}


def status_object(
    *,
    wamid: str,
    status: str,
    timestamp: int,
    recipient_id: str,
    recipient_user_id: str | None = None,
    biz_opaque_callback_data: str | None = None,
    conversation: dict[str, Any] | None = None,
    pricing: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": recipient_id,
    }
    if recipient_user_id is not None:
        item["recipient_user_id"] = recipient_user_id
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if conversation is not None:
        item["conversation"] = conversation
    if pricing is not None:
        item["pricing"] = pricing
    if errors is not None:
        item["errors"] = errors
    return item


def template_status_webhook(
    *,
    waba_id: str,
    time: int,
    template: SimulatedTemplate,
    event: str,
    reason: str,
    rejection_info: dict[str, str] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "reason": reason,
        "message_template_category": template.category,
    }
    if rejection_info is not None:
        value["rejection_info"] = rejection_info
    return {
        "entry": [
            {
                "id": waba_id,
                "time": time,
                "changes": [{"value": value, "field": "message_template_status_update"}],
            }
        ],
        "object": WEBHOOK_OBJECT,
    }
