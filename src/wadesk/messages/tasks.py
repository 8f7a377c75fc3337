"""Outbound jobs: `send_message` (claimed, paced, retried), `send_read_receipt`, `download_media`.

A send is claimed with a compare-and-set (`queued → sending`) so two workers never send one message; the
claim is committed before Meta is called, and the outcome is committed as soon as Meta answers.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import or_, update
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from wadesk.contacts.models import Contact
from wadesk.db.base import utcnow
from wadesk.db.session import unit_of_work
from wadesk.infra import metrics
from wadesk.infra.jobs import job
from wadesk.infra.runtime import Runtime, current_runtime
from wadesk.infra.storage import LocalMediaStorage
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.messages.status import advance
from wadesk.phone_numbers.models import PhoneNumber, PhoneNumberStatus
from wadesk.phone_numbers.service import decrypt_credential
from wadesk.realtime.publisher import publish_changes
from wadesk.whatsapp import outbound
from wadesk.whatsapp.errors import ErrorCategory, GraphApiError
from wadesk.whatsapp.graph import MediaTooLargeError, MediaUrlNotAllowedError, SendResult

log = structlog.get_logger(__name__)

MAX_SEND_ATTEMPTS = 5
MAX_RETRY_SECONDS = 45
# Between attempts of a retryable send error: exponential with full jitter, so workers that hit a number's
# limit together do not come back together.
SEND_RETRY_WAIT = wait_random_exponential(multiplier=0.5, max=8)
# A claim older than this was abandoned by a crashed worker and may be taken again (see ops.sweeper).
CLAIM_EXPIRES_AFTER = timedelta(seconds=75)
# Our own keys in a template's stored content that Meta must not receive.
_PRIVATE_TEMPLATE_KEYS = ("rendered", "category")


def meta_content(message: Message) -> outbound.Content:
    """What Meta expects under the message's type key, from the stored content."""
    content = message.content
    if message.type == "contacts":
        return outbound.Content("contacts", content.get("contacts", []))
    if message.type == "template":
        body = {k: v for k, v in content.items() if k not in _PRIVATE_TEMPLATE_KEYS}
        if not body.get("components"):
            body.pop("components", None)
        return outbound.Content("template", body)
    return outbound.Content(message.type, dict(content))


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, GraphApiError) and exc.retryable and not exc.outcome_unknown


async def _claim(runtime: Runtime, tenant_id: uuid.UUID, message_id: uuid.UUID) -> bool:
    now = utcnow()
    async with unit_of_work(runtime.sessionmaker, tenant_id) as session:
        result = await session.execute(
            update(Message)
            .where(
                Message.id == message_id,
                Message.direction == Direction.OUTBOUND,
                or_(
                    Message.status == MessageStatus.QUEUED,
                    (Message.status == MessageStatus.SENDING)
                    & (Message.updated_at < now - CLAIM_EXPIRES_AFTER),
                ),
            )
            .values(status=MessageStatus.SENDING, attempts=Message.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


@job("send_message")
async def send_message(message_id: str, tenant_id: str) -> str:
    """Send one queued message through the Graph API within its number's pace."""
    runtime = current_runtime()
    tenant, key = uuid.UUID(tenant_id), uuid.UUID(message_id)
    if not await _claim(runtime, tenant, key):
        return "skipped"
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        message = await session.get(Message, key)
        number = await session.get(PhoneNumber, message.phone_number_id) if message else None
        contact = await session.get(Contact, message.contact_id) if message else None
        if message is None or number is None or contact is None:
            return "missing"
        token = decrypt_credential(runtime.keyring, tenant, number.access_token_encrypted)
        payload = outbound.build_message(
            outbound.phone_recipient(contact.wa_id) if contact.wa_id else None,
            meta_content(message),
            recipient_bsuid=None if contact.wa_id else contact.bsuid,
            reply_to=message.reply_to_wamid,
            callback_data=str(message.id),
        )
        meta_number_id, rate, number_key = number.phone_number_id, number.messages_per_second, str(number.id)
    log_ctx = {"message_id": message_id, "tenant_id": tenant_id}
    try:
        result = await _send_with_retries(runtime, token, meta_number_id, payload, number_key, rate)
    except GraphApiError as exc:
        await _record_failure(runtime, tenant, key, exc)
        log.warning("send_failed", code=exc.code, category=exc.category.value, **log_ctx)
        metrics.record_send("failed", exc.code)
        return "failed"
    except outbound.OutboundMessageError as exc:
        await _record_failure(runtime, tenant, key, GraphApiError(str(exc), code=100))
        metrics.record_send("failed", 100)
        return "failed"
    await _record_success(runtime, tenant, key, result)
    log.info("send_accepted", wamid=result.wamid, **log_ctx)
    metrics.record_send("sent")
    return "sent"


async def _send_with_retries(
    runtime: Runtime, token: str, meta_number_id: str, payload: dict[str, Any], number_key: str, rate: int
) -> SendResult:
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(MAX_SEND_ATTEMPTS) | stop_after_delay(MAX_RETRY_SECONDS),
        wait=SEND_RETRY_WAIT,
        reraise=True,
    ):
        with attempt:
            await runtime.pacer.wait_for_slot(number_key, rate)
            return await runtime.graph.send_message(token, meta_number_id, payload)
    raise AssertionError("unreachable")  # pragma: no cover


async def _record_success(runtime: Runtime, tenant: uuid.UUID, key: uuid.UUID, result: SendResult) -> None:
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        message = await session.get(Message, key, with_for_update=True)
        if message is None:
            return
        message.wamid = message.wamid or result.wamid
        message.sent_at = message.sent_at or utcnow()
        if message.status == MessageStatus.SENDING:
            message.status = MessageStatus.SENT
        message.error_code = message.error_title = message.error_details = None
    await publish_changes(runtime, [(tenant, "message.updated", key)])


async def _record_failure(runtime: Runtime, tenant: uuid.UUID, key: uuid.UUID, exc: GraphApiError) -> None:
    changes: list[tuple[uuid.UUID, str, uuid.UUID]] = [(tenant, "message.updated", key)]
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        message = await session.get(Message, key, with_for_update=True)
        if message is None:
            return
        if (
            advance(message.status, MessageStatus.FAILED) is not None
            or message.status == MessageStatus.SENDING
        ):
            message.status = MessageStatus.FAILED
            message.failed_at = utcnow()
            message.error_code = exc.code
            message.error_title = (exc.title or exc.message or "Send failed")[:255]
            message.error_details = exc.details or exc.message
        if exc.category == ErrorCategory.AUTH:
            number = await session.get(PhoneNumber, message.phone_number_id)
            if number is not None and number.status != PhoneNumberStatus.NEEDS_CREDENTIALS:
                number.status = PhoneNumberStatus.NEEDS_CREDENTIALS
                changes.append((tenant, "phone_number.updated", number.id))
    await publish_changes(runtime, changes)


@job("send_read_receipt")
async def send_read_receipt(message_id: str, tenant_id: str) -> str:
    """Tell Meta an inbound message was read (blue ticks for the customer). Best effort, retried briefly."""
    runtime = current_runtime()
    tenant = uuid.UUID(tenant_id)
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        message = await session.get(Message, uuid.UUID(message_id))
        number = await session.get(PhoneNumber, message.phone_number_id) if message else None
        if message is None or number is None or not message.wamid:
            return "missing"
        token = decrypt_credential(runtime.keyring, tenant, number.access_token_encrypted)
        meta_number_id, wamid = number.phone_number_id, message.wamid
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(3),
            wait=wait_random_exponential(multiplier=0.5, max=4),
            reraise=True,
        ):
            with attempt:
                await runtime.graph.mark_read(token, meta_number_id, wamid)
    except GraphApiError as exc:
        log.warning("read_receipt_failed", message_id=message_id, code=exc.code)
        return "failed"
    return "sent"


def media_key(tenant_id: uuid.UUID, message_id: uuid.UUID) -> str:
    return f"{tenant_id}/{message_id}"


def media_storage(runtime: Runtime) -> LocalMediaStorage:
    return LocalMediaStorage(runtime.settings.data_dir / "media")


@job("download_media")
async def download_media(message_id: str, tenant_id: str) -> str:
    """Copy an inbound message's media into our storage (Meta's URLs expire within minutes).

    A failure leaves the message visible with the error recorded, and `POST /api/messages/{id}/media/retry`
    queues this job again.
    """
    runtime = current_runtime()
    tenant, key = uuid.UUID(tenant_id), uuid.UUID(message_id)
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        message = await session.get(Message, key)
        number = await session.get(PhoneNumber, message.phone_number_id) if message else None
        if message is None or number is None:
            return "missing"
        media_id = message.content.get("id")
        token = decrypt_credential(runtime.keyring, tenant, number.access_token_encrypted)
        meta_number_id = number.phone_number_id
    media: dict[str, Any]
    if not media_id:
        return "no_media"
    storage = media_storage(runtime)
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(3),
            wait=wait_random_exponential(multiplier=0.5, max=4),
            reraise=True,
        ):
            with attempt:
                info = await runtime.graph.get_media(token, str(media_id), phone_number_id=meta_number_id)
                async with await storage.open_for_write(media_key(tenant, key)) as file:
                    downloaded = await runtime.graph.download_media_to(token, info.url, file.write)
        media = {"stored": True, "mimeType": downloaded.mime_type or info.mime_type, "size": downloaded.size}
    except (GraphApiError, MediaTooLargeError, MediaUrlNotAllowedError, OSError) as exc:
        media = {"stored": False, "error": str(exc)[:500]}
        log.warning("media_download_failed", message_id=message_id, error=str(exc))
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        message = await session.get(Message, key, with_for_update=True)
        if message is not None:
            message.content = {**message.content, "media": media}
    await publish_changes(runtime, [(tenant, "message.updated", key)])
    return "stored" if media.get("stored") else "failed"
