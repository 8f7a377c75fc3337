from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from wadesk.api_keys import service
from wadesk.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, ApiKeyUpdate
from wadesk.auth.dependencies import AdminCtxDep
from wadesk.kit.schemas import error_responses

router = APIRouter(prefix="/api/api-keys", tags=["api keys"], responses=error_responses(401, 403, 422))


@router.get("", summary="List the company's API keys (admin)")
async def list_keys(ctx: AdminCtxDep) -> list[ApiKeyOut]:
    return [service.key_to_out(k) for k in await service.list_keys(ctx)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (admin); the key is shown once",
    description="Use it as `Authorization: Bearer wdk_…`. It acts for the administrator creating it, within "
    "its scopes.",
)
async def create_key(data: ApiKeyCreate, ctx: AdminCtxDep) -> ApiKeyCreated:
    key, plain = await service.create_key(ctx, data)
    return ApiKeyCreated(**service.key_to_out(key).model_dump(), key=plain)


@router.get("/{key_id}", summary="Get an API key (admin)", responses=error_responses(404))
async def get_key(key_id: uuid.UUID, ctx: AdminCtxDep) -> ApiKeyOut:
    return service.key_to_out(await service.get_key(ctx, key_id))


@router.patch("/{key_id}", summary="Rename an API key (admin)", responses=error_responses(404))
async def rename_key(key_id: uuid.UUID, data: ApiKeyUpdate, ctx: AdminCtxDep) -> ApiKeyOut:
    return service.key_to_out(await service.rename_key(ctx, key_id, data))


@router.post(
    "/{key_id}/rotate",
    summary="Replace an API key's secret (admin); the old key stops working, the new one is shown once",
    responses=error_responses(404),
)
async def rotate_key(key_id: uuid.UUID, ctx: AdminCtxDep) -> ApiKeyCreated:
    key, plain = await service.rotate_key(ctx, key_id)
    return ApiKeyCreated(**service.key_to_out(key).model_dump(), key=plain)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key (admin); it is kept, revoked, in the list",
    responses=error_responses(404),
)
async def revoke_key(key_id: uuid.UUID, ctx: AdminCtxDep) -> Response:
    await service.revoke_key(ctx, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
