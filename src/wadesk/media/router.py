from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile, status

from wadesk.auth.dependencies import CtxDep
from wadesk.kit.schemas import error_responses
from wadesk.media import rules, service
from wadesk.media.schemas import MediaUploadOut

router = APIRouter(prefix="/api/media", tags=["media"], responses=error_responses(401, 403, 422))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a file to send as WhatsApp media",
    description="A `multipart/form-data` body with the file in the `file` part. WhatsApp's types and limits "
    f"apply: {rules.supported_summary()}; a static WebP sticker is at most 100 KB. A file whose part has no "
    "useful type is judged by its extension. Answers 413 (`media_too_large`) past the type's limit and 415 "
    "(`media_type_unsupported`, `media_content_mismatch`) for other types or content that is not of its "
    "type. Send the answer's `id` as `uploadId`: "
    '`{"type": "image", "image": {"uploadId": "…", "caption": "…"}}`.',
    responses=error_responses(413, 415),
)
async def upload_media(
    file: Annotated[UploadFile, File(description="The file, with its MIME type and name")], ctx: CtxDep
) -> MediaUploadOut:
    return service.upload_to_out(await service.store_upload(ctx, file))


@router.get("/{media_id}", summary="An uploaded file's details", responses=error_responses(404))
async def get_media(media_id: uuid.UUID, ctx: CtxDep) -> MediaUploadOut:
    return service.upload_to_out(await service.get_upload(ctx, media_id))


@router.delete(
    "/{media_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Discard an uploaded file no message uses",
    responses=error_responses(404, 409),
)
async def delete_media(media_id: uuid.UUID, ctx: CtxDep) -> Response:
    await service.delete_upload(ctx, media_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
