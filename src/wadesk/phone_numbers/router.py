from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from wadesk.auth.dependencies import AdminCtxDep, CtxDep
from wadesk.kit.schemas import error_responses
from wadesk.phone_numbers import service
from wadesk.phone_numbers.schemas import PhoneNumberCreate, PhoneNumberOut, PhoneNumberUpdate

router = APIRouter(
    prefix="/api/phone-numbers", tags=["phone numbers"], responses=error_responses(401, 403, 422)
)


@router.get("", summary="List connected WhatsApp numbers")
async def list_numbers(ctx: CtxDep) -> list[PhoneNumberOut]:
    return [service.to_out(n) for n in await service.list_numbers(ctx)]


@router.get("/{number_id}", summary="Get a WhatsApp number", responses=error_responses(404))
async def get_number(number_id: uuid.UUID, ctx: CtxDep) -> PhoneNumberOut:
    return service.to_out(await service.get_number(ctx, number_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Connect a WhatsApp number (admin)",
    responses=error_responses(409),
)
async def create_number(data: PhoneNumberCreate, ctx: AdminCtxDep) -> PhoneNumberOut:
    return service.to_out(await service.create_number(ctx, data))


@router.patch(
    "/{number_id}",
    summary="Change a number's settings or credentials (admin)",
    responses=error_responses(404),
)
async def update_number(number_id: uuid.UUID, data: PhoneNumberUpdate, ctx: AdminCtxDep) -> PhoneNumberOut:
    return service.to_out(await service.update_number(ctx, number_id, data))


@router.delete(
    "/{number_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a number, or disable it when it has history (admin)",
    responses=error_responses(404),
)
async def delete_number(number_id: uuid.UUID, ctx: AdminCtxDep) -> Response:
    await service.disconnect_number(ctx, number_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
