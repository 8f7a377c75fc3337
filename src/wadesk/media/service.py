"""Uploaded media: checked against WhatsApp's types and limits while it streams to storage, kept per tenant,
attached to outbound messages, and read back by the sender (which hands it to Meta)."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.auth.dependencies import Ctx
from wadesk.db.base import utcnow
from wadesk.db.session import run_after_commit
from wadesk.errors import Conflict, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from wadesk.infra.runtime import Runtime
from wadesk.infra.storage import LocalMediaStorage, media_storage_in
from wadesk.media import rules
from wadesk.media.models import MediaUpload
from wadesk.media.repository import MediaUploadRepository
from wadesk.media.schemas import MediaUploadOut

CHUNK_BYTES = 256 * 1024
# Enough of the start of a file to recognise its type (and a WebP's animation flag).
HEAD_BYTES = 64


class IncomingFile(Protocol):
    """A file being received (FastAPI's UploadFile is one)."""

    filename: str | None
    content_type: str | None

    async def read(self, size: int = -1) -> bytes: ...


def storage(runtime: Runtime) -> LocalMediaStorage:
    return media_storage_in(runtime.settings.data_dir)


def storage_key(tenant_id: uuid.UUID, upload_id: uuid.UUID) -> str:
    return f"{tenant_id}/uploads/{upload_id}"


def upload_to_out(upload: MediaUpload) -> MediaUploadOut:
    return MediaUploadOut(
        id=upload.id,
        kind=upload.kind,
        mime_type=upload.mime_type,
        filename=upload.filename,
        size=upload.size,
        sha256=upload.sha256,
        attached=upload.attached_at is not None,
        created_at=upload.created_at,
    )


def _too_large(rule: rules.MediaRule, limit: int, size: int | None = None) -> PayloadTooLarge:
    what = "a static sticker" if limit == rules.STATIC_STICKER_BYTES else rule.description
    return PayloadTooLarge(
        f"This file is too large: WhatsApp accepts {what} up to {rules.human_size(limit)}.",
        code="media_too_large",
        details={"mimeType": rule.mime_type, "limitBytes": limit, "sizeBytes": size},
    )


async def store_upload(ctx: Ctx, file: IncomingFile) -> MediaUpload:
    """Stream an uploaded file into the tenant's media storage, refusing what WhatsApp would refuse: an
    unsupported type (415), content that is not of its declared type (415), more than its type's limit
    (413), an empty file (422)."""
    filename = rules.clean_filename(file.filename)
    try:
        rule = rules.rule_for(file.content_type, filename)
    except rules.UnsupportedMedia as exc:
        raise UnsupportedMediaType(
            str(exc), code="media_type_unsupported", details={"mimeType": rules.base_mime(file.content_type)}
        ) from exc
    upload_id = uuid.uuid4()
    key = storage_key(ctx.tenant_id, upload_id)
    files = storage(ctx.runtime)
    digest = hashlib.sha256()
    head = b""
    size = 0
    try:
        async with await files.open_for_write(key) as out:
            while chunk := await file.read(CHUNK_BYTES):
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                size += len(chunk)
                if size > rule.max_bytes:
                    raise _too_large(rule, rule.max_bytes)
                digest.update(chunk)
                await out.write(chunk)
        if size == 0:
            raise Unprocessable("The file is empty.", code="media_empty")
        if not rules.content_matches(rule, head):
            raise UnsupportedMediaType(
                f"The file's content is not {rule.description} ({rule.mime_type}), as its type says. "
                "WhatsApp refuses files whose content and type differ.",
                code="media_content_mismatch",
                details={"mimeType": rule.mime_type},
            )
        limit = rules.size_limit(rule, head)
        if size > limit:
            raise _too_large(rule, limit, size)
    except BaseException:
        await files.delete(key)
        raise
    repository = MediaUploadRepository(ctx.session)
    upload = repository.add(
        MediaUpload(
            id=upload_id,
            tenant_id=ctx.tenant_id,
            kind=rule.kind,
            mime_type=rule.mime_type,
            filename=filename,
            size=size,
            sha256=digest.hexdigest(),
            uploaded_by_id=ctx.user_id,
        )
    )
    await repository.flush()
    return upload


async def get_upload(ctx: Ctx, upload_id: uuid.UUID) -> MediaUpload:
    return await MediaUploadRepository(ctx.session).get_or_404(upload_id)


async def delete_upload(ctx: Ctx, upload_id: uuid.UUID) -> None:
    """Discard a file no message uses (an attachment removed before sending)."""
    upload = await get_upload(ctx, upload_id)
    if upload.attached_at is not None:
        raise Conflict("A message uses this file, so it is kept.", code="media_in_use")
    await ctx.session.delete(upload)
    files, key = storage(ctx.runtime), storage_key(ctx.tenant_id, upload.id)

    async def remove_file() -> None:
        await files.delete(key)

    # The file goes once the row is gone for good: a rolled-back delete keeps both.
    run_after_commit(ctx.session, remove_file)


async def attach_upload(session: AsyncSession, upload_id: uuid.UUID, message_type: str) -> MediaUpload:
    """The upload a new message sends, checked to be this tenant's and of the message's type."""
    upload = await MediaUploadRepository(session).get_or_404(upload_id)
    if upload.kind != message_type:
        raise Unprocessable(
            f"This file is {'an' if upload.kind[0] in 'aeiou' else 'a'} {upload.kind}: send it as type "
            f"'{upload.kind}', not '{message_type}'.",
            code="media_type_mismatch",
            details={"uploadKind": upload.kind},
        )
    if upload.attached_at is None:
        upload.attached_at = utcnow()
    return upload


async def find_upload(session: AsyncSession, upload_id: uuid.UUID) -> MediaUpload | None:
    return await MediaUploadRepository(session).get(upload_id)


def stored_path(runtime: Runtime, tenant_id: uuid.UUID, upload_id: uuid.UUID) -> Path:
    return storage(runtime).path(storage_key(tenant_id, upload_id))


async def read_upload(runtime: Runtime, tenant_id: uuid.UUID, upload_id: uuid.UUID) -> bytes:
    """The stored bytes of an upload (raises OSError when the file is gone)."""
    return await storage(runtime).read_bytes(storage_key(tenant_id, upload_id))
