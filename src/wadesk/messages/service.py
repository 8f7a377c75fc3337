"""Outbound messages: every rule checked before a message is stored, then queued for the sender.

Rules, in order: the number is the tenant's and connected; the contact is not blocked or opted out; free-form
messages need an open customer window (templates do not); templates must exist, be approved and get the
right parameters; the tenant's monthly quota; `Idempotency-Key` replays return the first message.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.auth.dependencies import Ctx
from wadesk.contacts.models import Contact
from wadesk.contacts.service import normalize_wa_id, upsert_contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.conversations.repository import ConversationRepository
from wadesk.conversations.window import window_is_open
from wadesk.db.base import utcnow
from wadesk.errors import NotFound, Unprocessable
from wadesk.media.service import attach_upload, stored_path
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.messages.repository import MessageRepository
from wadesk.messages.schemas import MEDIA_TYPES, MessageError, MessageOut, SendMessageIn, TemplateIn, TextIn
from wadesk.phone_numbers.models import PhoneNumber, PhoneNumberStatus
from wadesk.phone_numbers.service import require_active_number
from wadesk.realtime.service import publish_after_commit
from wadesk.templates.repository import TemplateRepository
from wadesk.templates.service import parameter_problems, render_template, send_components
from wadesk.tenants.models import Tenant

SEND_JOB = "send_message"
PREVIEW_LENGTH = 120


def explain_error(code: int | None) -> str | None:
    if code is None:
        return None
    from wadesk.whatsapp.errors import explain

    return explain(code).explanation


def message_to_out(message: Message) -> MessageOut:
    error = None
    if message.error_code is not None or message.status == MessageStatus.FAILED:
        error = MessageError(
            code=message.error_code,
            title=message.error_title,
            details=message.error_details,
            explanation=explain_error(message.error_code),
        )
    return MessageOut(
        id=message.id,
        conversation_id=message.conversation_id,
        contact_id=message.contact_id,
        phone_number_id=message.phone_number_id,
        direction=Direction(message.direction),
        type=message.type,
        content=message.content,
        wamid=message.wamid,
        status=MessageStatus(message.status),
        error=error,
        created_at=message.created_at,
        sender_user_id=message.sender_user_id,
        reply_to_message_id=message.reply_to_message_id,
        reply_to_wamid=message.reply_to_wamid,
        reactions=list(message.reactions or []),
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        read_at=message.read_at,
        failed_at=message.failed_at,
    )


def message_text(type_: str, content: dict[str, Any]) -> str | None:
    """The searchable text of a message of any type (Meta's object for that type)."""
    if type_ == "text":
        return str(content.get("body", "")) or None
    if type_ in MEDIA_TYPES:
        return content.get("caption") or content.get("filename")
    if type_ == "location":
        return " ".join(str(content[k]) for k in ("name", "address") if content.get(k)) or None
    if type_ == "template":
        return content.get("rendered") or content.get("name")
    if type_ == "interactive":
        for key in ("button_reply", "list_reply"):
            if key in content:
                return str(content[key].get("title", ""))
        body = content.get("body")
        return str(body.get("text", "")) if isinstance(body, dict) else None
    if type_ == "button":
        return content.get("text")
    if type_ == "system":
        return content.get("body")
    if type_ == "contacts":
        names = [c.get("name", {}).get("formatted_name") for c in content.get("contacts", [])]
        return ", ".join(n for n in names if n) or None
    return None


_PREVIEW_LABELS = {
    "image": "📷 Photo",
    "video": "🎥 Video",
    "audio": "🎤 Audio",
    "document": "📄 Document",
    "sticker": "Sticker",
    "location": "📍 Location",
    "contacts": "👤 Contact",
    "template": "Template",
    "interactive": "Interactive message",
    "order": "🛒 Order",
    "system": "System message",
    "unsupported": "Unsupported message",
}


def message_preview(type_: str, content: dict[str, Any]) -> str:
    """One line for the inbox list."""
    if type_ == "reaction":
        emoji = content.get("emoji")
        return f"Reacted {emoji}" if emoji else "Removed a reaction"
    text = message_text(type_, content)
    label = _PREVIEW_LABELS.get(type_)
    if label and type_ not in {"template", "interactive"}:
        preview = f"{label}: {text}" if text else label
    else:
        preview = text or label or type_
    preview = " ".join(preview.split())
    return preview if len(preview) <= PREVIEW_LENGTH else preview[: PREVIEW_LENGTH - 1] + "…"


def request_fingerprint(data: SendMessageIn) -> str:
    canonical = json.dumps(data.model_dump(mode="json", exclude_none=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _target(ctx: Ctx, data: SendMessageIn) -> tuple[PhoneNumber, Contact, Conversation | None]:
    session = ctx.session
    if data.conversation_id is not None:
        conversation = await ConversationRepository(session).get(data.conversation_id)
        if conversation is None:
            raise NotFound("Conversation not found.")
        number = await require_active_number(session, conversation.phone_number_id)
        contact = await session.get(Contact, conversation.contact_id)
        if contact is None:
            raise NotFound("Contact not found.")
        return number, contact, conversation
    assert data.phone_number_id is not None
    assert data.to is not None
    number = await require_active_number(session, data.phone_number_id)
    contact, _ = await upsert_contact(session, wa_id=normalize_wa_id(data.to))
    conversation = await ConversationRepository(session).find_active(contact.id, number.id)
    return number, contact, conversation


async def _template_content(
    session: AsyncSession, number: PhoneNumber, template_in: TemplateIn
) -> dict[str, Any]:
    language = template_in.language_code
    template = await TemplateRepository(session).find(number.waba_id, template_in.name, language)
    if template is None:
        raise Unprocessable(
            f"There is no template '{template_in.name}' in {language or 'that language'} for this number.",
            code="template_not_found",
        )
    if template.status != "APPROVED":
        raise Unprocessable(
            f"Template '{template.name}' is {template.status.lower()}, not approved; it cannot be sent.",
            code="template_not_approved",
        )
    components = template_in.components or send_components(template_in.parameters)
    if problems := parameter_problems(template, components):
        raise Unprocessable(
            f"Template '{template.name}': " + "; ".join(problems) + ".",
            code="template_parameters_invalid",
            details={"problems": problems},
        )
    return {
        "name": template.name,
        "language": {"code": language},
        "components": components,
        "rendered": render_template(template, components),
        "category": template.category,
    }


async def _content(session: AsyncSession, number: PhoneNumber, data: SendMessageIn) -> dict[str, Any]:
    if data.type == "text":
        text = data.text if isinstance(data.text, TextIn) else TextIn(body=str(data.text))
        return {"body": text.body, "preview_url": text.preview_url}
    if data.type == "template":
        assert data.template is not None
        return await _template_content(session, number, data.template)
    if data.type in MEDIA_TYPES:
        media = getattr(data, data.type)
        content: dict[str, Any]
        filename = media.filename
        if media.upload_id:
            upload = await attach_upload(session, media.upload_id, data.type)
            filename = filename or upload.filename
            # Our copy: shown in the thread, and handed to Meta by the sender (which then adds Meta's "id").
            content = {
                "media": {
                    "stored": True,
                    "uploadId": str(upload.id),
                    "mimeType": upload.mime_type,
                    "size": upload.size,
                    "filename": upload.filename,
                }
            }
        elif media.link:
            content = {"link": media.link}
        else:
            content = {"id": media.media_id}
        if media.caption and data.type in {"image", "video", "document"}:
            content["caption"] = media.caption
        if filename and data.type == "document":
            content["filename"] = filename
        return content
    if data.type == "location":
        assert data.location is not None
        return data.location.model_dump(exclude_none=True)
    if data.type == "contacts":
        return {"contacts": data.contacts}
    if data.type == "interactive":
        assert data.interactive is not None
        return data.interactive
    raise Unprocessable(f"Unsupported message type '{data.type}'.", code="unsupported_type")


async def _resolve_message_ref(session: AsyncSession, number: PhoneNumber, ref: str) -> Message:
    messages = MessageRepository(session)
    found: Message | None = None
    try:
        found = await messages.get(uuid.UUID(ref))
    except ValueError:
        found = await messages.by_wamid(number.id, ref)
    if found is None or found.phone_number_id != number.id:
        raise Unprocessable("The message to reply or react to was not found.", code="message_ref_not_found")
    if not found.wamid:
        raise Unprocessable("That message has not reached WhatsApp yet.", code="message_ref_not_sent")
    return found


async def send_message(ctx: Ctx, data: SendMessageIn, idempotency_key: str | None) -> tuple[Message, bool]:
    """Validate and store an outbound message as `queued`; returns (message, created)."""
    session = ctx.session
    messages = MessageRepository(session)
    fingerprint = request_fingerprint(data)
    if idempotency_key:
        await messages.lock_idempotency_key(ctx.tenant_id, idempotency_key)
        earlier = await messages.by_idempotency_key(idempotency_key)
        if earlier is not None:
            if earlier.request_fingerprint != fingerprint:
                raise Unprocessable(
                    "This Idempotency-Key was used with a different request.", code="idempotency_key_reused"
                )
            return earlier, False
    number, contact, conversation = await _target(ctx, data)
    if number.status == PhoneNumberStatus.NEEDS_CREDENTIALS:
        raise Unprocessable(
            "This number's access token was rejected by Meta; an admin must enter a new one.",
            code="phone_number_needs_credentials",
        )
    if contact.blocked:
        raise Unprocessable("This contact is blocked.", code="contact_blocked")
    if contact.opted_out:
        raise Unprocessable("This contact opted out of messages.", code="contact_opted_out")
    if data.type != "template" and (conversation is None or not window_is_open(conversation)):
        raise Unprocessable(
            "The 24-hour customer service window is closed: the customer has not written in the last 24 hours. "
            "Send an approved template instead.",
            code="customer_window_closed",
            details={"hint": "use type 'template'"},
        )
    await _check_quota(ctx)
    content: dict[str, Any]
    reply_to: Message | None = None
    if data.type == "reaction":
        assert data.reaction is not None
        target = await _resolve_message_ref(session, number, data.reaction.message_id)
        content = {"message_id": target.wamid, "emoji": data.reaction.emoji}
    else:
        content = await _content(session, number, data)
    if data.reply_to_message_id:
        reply_to = await _resolve_message_ref(session, number, data.reply_to_message_id)
    now = utcnow()
    if conversation is None:
        conversation = Conversation(
            contact_id=contact.id,
            phone_number_id=number.id,
            status=ConversationStatus.OPEN,
            last_message_at=now,
        )
        session.add(conversation)
        await session.flush()
        created_conversation = True
    else:
        created_conversation = False
    message = messages.add(
        Message(
            conversation_id=conversation.id,
            phone_number_id=number.id,
            contact_id=contact.id,
            direction=Direction.OUTBOUND,
            type=data.type,
            content=content,
            body_text=message_text(data.type, content),
            status=MessageStatus.QUEUED,
            created_at=now,
            sender_user_id=ctx.user_id,
            reply_to_message_id=reply_to.id if reply_to else None,
            reply_to_wamid=reply_to.wamid if reply_to else None,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
        )
    )
    if data.type != "reaction":
        conversation.last_message_at = now
        conversation.last_message_preview = message_preview(data.type, content)
        if conversation.status in (ConversationStatus.RESOLVED, ConversationStatus.PENDING):
            conversation.status = ConversationStatus.OPEN
    await session.flush()
    ctx.runtime.jobs.enqueue_after_commit(
        session, SEND_JOB, message_id=str(message.id), tenant_id=str(ctx.tenant_id)
    )
    _publish_message(ctx, message, "message.created")
    from wadesk.conversations.service import get_row_or_404, publish_conversation, to_out

    row = await get_row_or_404(session, conversation.id)
    publish_conversation(
        session,
        ctx.runtime,
        ctx.tenant_id,
        "conversation.created" if created_conversation else "conversation.updated",
        to_out(row),
    )
    return message, True


async def _check_quota(ctx: Ctx) -> None:
    tenant = await ctx.session.get(Tenant, ctx.tenant_id)
    if tenant is None:
        return
    now = utcnow()
    month_start = datetime(now.year, now.month, 1, tzinfo=now.tzinfo)
    if await MessageRepository(ctx.session).outbound_count_since(month_start) >= tenant.monthly_message_quota:
        raise Unprocessable(
            f"This month's quota of {tenant.monthly_message_quota} outbound messages is used up.",
            code="message_quota_exceeded",
        )


def _publish_message(ctx: Ctx, message: Message, event_type: str) -> None:
    publish_after_commit(
        ctx.session,
        ctx.runtime,
        ctx.tenant_id,
        event_type,
        message_to_out(message).model_dump(mode="json", by_alias=True),
    )


async def get_message(ctx: Ctx, message_id: uuid.UUID) -> Message:
    return await MessageRepository(ctx.session).get_or_404(message_id)


async def mark_read(ctx: Ctx, message_id: uuid.UUID, status: str) -> Message:
    """Mark an inbound message (and the ones before it) read, and queue Meta's read receipt."""
    if status != "read":
        raise Unprocessable('Only {"status": "read"} can be set on a message.', code="invalid_status_change")
    messages = MessageRepository(ctx.session)
    message = await messages.get_or_404(message_id)
    if message.direction != Direction.INBOUND:
        raise Unprocessable("Only inbound messages can be marked read.", code="invalid_status_change")
    now = utcnow()
    await messages.mark_inbound_read_up_to(message.conversation_id, message.created_at, now)
    await ctx.session.refresh(message)
    conversation = await ctx.session.get(Conversation, message.conversation_id)
    if conversation is not None:
        conversation.unread_count = await messages.unread_inbound_count(conversation.id)
        from wadesk.conversations.service import get_row_or_404, publish_conversation, to_out

        publish_conversation(
            ctx.session,
            ctx.runtime,
            ctx.tenant_id,
            "conversation.updated",
            to_out(await get_row_or_404(ctx.session, conversation.id)),
        )
    if message.wamid:
        ctx.runtime.jobs.enqueue_after_commit(
            ctx.session, "send_read_receipt", message_id=str(message.id), tenant_id=str(ctx.tenant_id)
        )
    _publish_message(ctx, message, "message.updated")
    return message


async def retry(ctx: Ctx, message_id: uuid.UUID) -> Message:
    """A failed outbound message goes back to `queued` for a new attempt (it gets a new wamid)."""
    message = await MessageRepository(ctx.session).get_or_404(message_id)
    if message.direction != Direction.OUTBOUND or message.status != MessageStatus.FAILED:
        raise Unprocessable("Only failed outbound messages can be retried.", code="not_retryable")
    if message.type != "template":
        conversation = await ctx.session.get(Conversation, message.conversation_id)
        if conversation is None or not window_is_open(conversation):
            raise Unprocessable(
                "The 24-hour customer service window is closed; send a template instead.",
                code="customer_window_closed",
            )
    message.status = MessageStatus.QUEUED
    message.wamid = None
    message.error_code = message.error_title = message.error_details = None
    message.failed_at = message.sent_at = message.delivered_at = message.read_at = None
    await ctx.session.flush()
    ctx.runtime.jobs.enqueue_after_commit(
        ctx.session, SEND_JOB, message_id=str(message.id), tenant_id=str(ctx.tenant_id)
    )
    _publish_message(ctx, message, "message.updated")
    return message


async def media_file(ctx: Ctx, message_id: uuid.UUID) -> tuple[Path, str, str | None]:
    message = await MessageRepository(ctx.session).get_or_404(message_id)
    media = message.content.get("media") or {}
    if not media.get("stored"):
        raise NotFound("This message has no stored media.", code="media_not_found")
    from wadesk.messages.tasks import media_key, media_storage

    if media.get("uploadId"):  # sent from a file an agent uploaded
        path = stored_path(ctx.runtime, ctx.tenant_id, uuid.UUID(str(media["uploadId"])))
    else:
        path = media_storage(ctx.runtime).path(media_key(ctx.tenant_id, message.id))
    if not path.is_file():
        raise NotFound("This message has no stored media.", code="media_not_found")
    mime = str(media.get("mimeType") or message.content.get("mime_type") or "application/octet-stream")
    return path, mime, message.content.get("filename") or media.get("filename")


async def retry_media(ctx: Ctx, message_id: uuid.UUID) -> Message:
    message = await MessageRepository(ctx.session).get_or_404(message_id)
    if message.direction != Direction.INBOUND or not message.content.get("id"):
        raise Unprocessable("This message has no media to download.", code="no_media")
    ctx.runtime.jobs.enqueue_after_commit(
        ctx.session, "download_media", message_id=str(message.id), tenant_id=str(ctx.tenant_id)
    )
    return message
