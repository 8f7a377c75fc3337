"""Outbound jobs: `send_message` (claimed, paced, retried), `send_read_receipt`, `download_media`.

A send is claimed with a compare-and-set (`queued → sending`) so two workers never send one message; the
claim is committed before Meta is called, and the outcome is committed as soon as Meta answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import Table, Update, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
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
from wadesk.infra.storage import LocalMediaStorage, media_storage_in
from wadesk.media.service import find_upload, read_upload
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.messages.schemas import MEDIA_TYPES
from wadesk.messages.status import advance
from wadesk.phone_numbers.models import PhoneNumber, PhoneNumberStatus
from wadesk.phone_numbers.service import decrypt_credential
from wadesk.realtime.publisher import publish_changes, publish_payloads, read_payloads
from wadesk.webhooks.repository import WebhookEventRepository
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
# Meta keeps an uploaded file 30 days; past this, a retry uploads it again rather than risk an expired id.
META_MEDIA_ID_LIFETIME = timedelta(days=29)


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
    if message.type in MEDIA_TYPES:
        return outbound.Content(message.type, {k: v for k, v in content.items() if k != "media"})
    return outbound.Content(message.type, dict(content))


def _upload_to_hand_over(message: Message) -> uuid.UUID | None:
    """The uploaded file this message still has to give Meta: none for media sent by link or Meta id, or
    when Meta got the file recently enough for its media id to still be valid."""
    if message.type not in MEDIA_TYPES:
        return None
    media = message.content.get("media") or {}
    upload_id = media.get("uploadId")
    if not upload_id:
        return None
    handed_at = media.get("metaUploadedAt")
    if (
        message.content.get("id")
        and isinstance(handed_at, str)
        and datetime.fromisoformat(handed_at) > utcnow() - META_MEDIA_ID_LIFETIME
    ):
        return None
    return uuid.UUID(str(upload_id))


@dataclass(frozen=True, slots=True)
class UploadedFile:
    id: uuid.UUID
    mime_type: str
    filename: str


async def _upload_holding_claim(
    runtime: Runtime, tenant: uuid.UUID, key: uuid.UUID, token: str, meta_number_id: str, file: UploadedFile
) -> str:
    """Upload the stored file to Meta for this number; returns Meta's media id. A large file can take longer
    than a claim lasts, so the claim is renewed meanwhile (or the sweeper would hand the message to another
    worker and it would be sent twice)."""
    heartbeat = asyncio.create_task(_renew_claim(runtime, tenant, key))
    try:
        return await _upload_to_meta(runtime, tenant, token, meta_number_id, file)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat


async def _renew_claim(runtime: Runtime, tenant: uuid.UUID, key: uuid.UUID) -> None:
    while True:
        await asyncio.sleep(CLAIM_EXPIRES_AFTER.total_seconds() / 3)
        async with unit_of_work(runtime.sessionmaker, tenant) as session:
            await session.execute(
                update(Message)
                .where(Message.id == key, Message.status == MessageStatus.SENDING)
                .values(updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )


async def _upload_to_meta(
    runtime: Runtime, tenant: uuid.UUID, token: str, meta_number_id: str, file: UploadedFile
) -> str:
    # Retried like a send, and also after a timeout: uploading a file twice only leaves a spare copy at Meta.
    try:
        data = await read_upload(runtime, tenant, file.id)
    except OSError as exc:
        raise GraphApiError(
            "The uploaded file is no longer stored; upload it again.", details=str(exc)[:300]
        ) from exc
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, GraphApiError) and exc.retryable),
        stop=stop_after_attempt(MAX_SEND_ATTEMPTS) | stop_after_delay(MAX_RETRY_SECONDS),
        wait=SEND_RETRY_WAIT,
        reraise=True,
    ):
        with attempt:
            return await runtime.graph.upload_media(
                token, meta_number_id, data, mime_type=file.mime_type, filename=file.filename
            )
    raise AssertionError("unreachable")  # pragma: no cover


async def _remember_meta_media_id(runtime: Runtime, tenant: uuid.UUID, key: uuid.UUID, media_id: str) -> None:
    """Keep Meta's media id on the message, so a retry within its lifetime sends it without uploading."""
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        message = await session.get(Message, key, with_for_update=True)
        if message is None:
            return
        media = {**(message.content.get("media") or {}), "metaUploadedAt": utcnow().isoformat()}
        message.content = {**message.content, "id": media_id, "media": media}


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, GraphApiError) and exc.retryable and not exc.outcome_unknown


async def _claim(session: AsyncSession, message_id: uuid.UUID) -> bool:
    """Take a queued message, or one whose claim expired (its worker died mid-send), in the session's
    transaction; the caller commits the claim before calling Meta."""
    now = utcnow()
    if await _rowcount(session, _claim_queued_statement([message_id], now)):
        return True
    expired = _claim_statement(now).where(
        Message.id == message_id,
        Message.direction == Direction.OUTBOUND,
        Message.status == MessageStatus.SENDING,
        Message.updated_at < now - CLAIM_EXPIRES_AFTER,
    )
    if not await _rowcount(session, expired):
        return False
    if await WebhookEventRepository(session).unprocessed_naming(str(message_id)):
        # The dead worker's send reached Meta: a status of it, still to be processed, names this message
        # (our id travels as biz_opaque_callback_data). Processing it records the send; sending again
        # would reach the customer twice. The claim stands, so the sweeper looks again when it expires.
        log.warning("send_takeover_deferred", message_id=str(message_id))
        return False
    return True


def _claim_statement(now: datetime) -> Update:
    """`queued → sending` (or a takeover): the claim that lets exactly one job send a message."""
    return update(Message).values(status=MessageStatus.SENDING, attempts=Message.attempts + 1, updated_at=now)


def _claim_queued_statement(keys: list[uuid.UUID], now: datetime) -> Update:
    return _claim_statement(now).where(
        Message.id.in_(keys), Message.direction == Direction.OUTBOUND, Message.status == MessageStatus.QUEUED
    )


async def _rowcount(session: AsyncSession, statement: Update) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class _Send:
    """What sending one claimed message needs, read in the claim's transaction."""

    key: uuid.UUID
    token: str
    content: outbound.Content
    upload_id: uuid.UUID | None
    file: UploadedFile | None
    wa_id: str | None
    bsuid: str | None
    reply_to: str | None
    meta_number_id: str
    rate: int
    number_key: str


async def _load_sends(runtime: Runtime, session: AsyncSession, keys: list[uuid.UUID]) -> list[_Send]:
    """The claimed messages with their number and contact, in one SELECT, in the order of `keys`."""
    found = await session.execute(
        select(Message, PhoneNumber, Contact)
        .join(PhoneNumber, PhoneNumber.id == Message.phone_number_id)
        .join(Contact, Contact.id == Message.contact_id)
        .where(Message.id.in_(keys))
    )
    sends: dict[uuid.UUID, _Send] = {}
    for message, number, contact in found:
        upload_id = _upload_to_hand_over(message)
        upload = await find_upload(session, upload_id) if upload_id else None
        sends[message.id] = _Send(
            key=message.id,
            token=decrypt_credential(runtime.keyring, message.tenant_id, number.access_token_encrypted),
            content=meta_content(message),
            upload_id=upload_id,
            file=UploadedFile(upload.id, upload.mime_type, upload.filename) if upload else None,
            wa_id=contact.wa_id,
            bsuid=contact.bsuid,
            reply_to=message.reply_to_wamid,
            meta_number_id=number.phone_number_id,
            rate=number.messages_per_second,
            number_key=str(number.id),
        )
    return [sends[key] for key in keys if key in sends]


@job("send_message")
async def send_message(message_id: str, tenant_id: str) -> str:
    """Send one queued message through the Graph API within its number's pace."""
    runtime = current_runtime()
    tenant, key = uuid.UUID(tenant_id), uuid.UUID(message_id)
    # The claim and what the send needs are read in one transaction: one commit before Meta is called.
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        if not await _claim(session, key):
            return "skipped"
        sends = await _load_sends(runtime, session, [key])
    if not sends:
        return "missing"
    result = await _deliver(runtime, tenant, sends[0])
    if result is None:
        return "failed"
    await _record_successes(runtime, tenant, [(key, result)])
    return "sent"


@job("send_messages")
async def send_messages(message_ids: list[str], tenant_id: str) -> str:
    """Send several queued messages of one company (a campaign pump's hand-over) as one job: claimed and
    loaded in one transaction, sent concurrently, each within its number's pace, and Meta's acceptances
    recorded together as they come (every RECORD_EVERY seconds) rather than in two transactions per message.
    A message this job cannot claim (taken by the sweeper's `send_message`) is left to whoever holds it."""
    runtime = current_runtime()
    tenant = uuid.UUID(tenant_id)
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        claimed = await _claim_queued(session, [uuid.UUID(m) for m in message_ids])
        sends = await _load_sends(runtime, session, claimed) if claimed else []
    pending = {asyncio.create_task(_deliver_one(runtime, tenant, send)) for send in sends}
    accepted, errors = 0, list[BaseException]()
    try:
        while pending:
            done, pending = await asyncio.wait(pending, timeout=RECORD_EVERY)
            results = []
            for task in done:
                if (error := task.exception()) is not None:
                    errors.append(error)
                elif (result := task.result()) is not None:
                    results.append(result)
            await _record_successes(runtime, tenant, results)
            accepted += len(results)
    finally:
        for task in pending:
            task.cancel()
    if errors:
        # The others' outcomes are recorded; what failed here is left `sending` for the claim's expiry.
        raise errors[0]
    return f"sent {accepted} of {len(message_ids)}"


# How long accepted sends of a `send_messages` job wait to be recorded together: short, since a worker that
# dies meanwhile leaves those messages to the claim's expiry (their status webhooks reconcile them sooner).
RECORD_EVERY = 0.1


async def _claim_queued(session: AsyncSession, keys: list[uuid.UUID]) -> list[uuid.UUID]:
    """Claim those of `keys` still queued, in one statement; the ids claimed, in the order of `keys`."""
    statement = (
        _claim_queued_statement(keys, utcnow())
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    claimed = set((await session.execute(statement)).scalars())
    return [key for key in keys if key in claimed]


async def _deliver_one(
    runtime: Runtime, tenant: uuid.UUID, send: _Send
) -> tuple[uuid.UUID, SendResult] | None:
    result = await _deliver(runtime, tenant, send)
    return None if result is None else (send.key, result)


async def _deliver(runtime: Runtime, tenant: uuid.UUID, send: _Send) -> SendResult | None:
    """Hand one claimed message to Meta: Meta's answer when it accepted it, None once the failure is recorded."""
    log_ctx = {"message_id": str(send.key), "tenant_id": str(tenant)}
    content = send.content
    try:
        if send.upload_id is not None:
            if send.file is None:
                raise GraphApiError("The uploaded file of this message no longer exists; upload it again.")
            media_id = await _upload_holding_claim(
                runtime, tenant, send.key, send.token, send.meta_number_id, send.file
            )
            await _remember_meta_media_id(runtime, tenant, send.key, media_id)
            content = outbound.Content(content.type, {**content.body, "id": media_id})
        payload = outbound.build_message(
            outbound.phone_recipient(send.wa_id) if send.wa_id else None,
            content,
            recipient_bsuid=None if send.wa_id else send.bsuid,
            reply_to=send.reply_to,
            callback_data=str(send.key),
        )
        result = await _send_with_retries(
            runtime, send.token, send.meta_number_id, payload, send.number_key, send.rate
        )
    except GraphApiError as exc:
        await _record_failure(runtime, tenant, send.key, exc)
        log.warning("send_failed", code=exc.code, category=exc.category.value, **log_ctx)
        metrics.record_send("failed", exc.code)
        return None
    except outbound.OutboundMessageError as exc:
        await _record_failure(runtime, tenant, send.key, GraphApiError(str(exc), code=100))
        metrics.record_send("failed", 100)
        return None
    log.info("send_accepted", wamid=result.wamid, **log_ctx)
    metrics.record_send("sent")
    return result


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


async def _record_successes(
    runtime: Runtime, tenant: uuid.UUID, accepted: list[tuple[uuid.UUID, SendResult]]
) -> None:
    """Meta accepted these sends: one UPDATE (executed once per message, in one round trip) that never moves
    a message back (a status webhook may have been applied first), and the events' payloads read in the
    same transaction."""
    if not accepted:
        return
    table = cast(Table, Message.__table__)
    messages = table.c
    sending = messages.status == MessageStatus.SENDING
    now = utcnow()
    # A failed status that overtook the answer keeps its status and Meta's error.
    statement = (
        update(table)
        .where(messages.id == bindparam("accepted_id"))
        .values(
            wamid=func.coalesce(messages.wamid, bindparam("accepted_wamid")),
            sent_at=func.coalesce(messages.sent_at, now),
            status=case((sending, MessageStatus.SENT), else_=messages.status),
            error_code=case((sending, None), else_=messages.error_code),
            error_title=case((sending, None), else_=messages.error_title),
            error_details=case((sending, None), else_=messages.error_details),
            updated_at=now,
        )
    )
    async with unit_of_work(runtime.sessionmaker, tenant) as session:
        connection = await session.connection()
        await connection.execute(
            statement, [{"accepted_id": key, "accepted_wamid": result.wamid} for key, result in accepted]
        )
        payloads = await read_payloads(session, [(tenant, "message.updated", key) for key, _ in accepted])
    await publish_payloads(runtime, payloads)


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
    return media_storage_in(runtime.settings.data_dir)


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
