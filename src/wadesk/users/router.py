from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from wadesk.auth.dependencies import AdminCtxDep, CtxDep
from wadesk.kit.schemas import error_responses
from wadesk.users import service
from wadesk.users.schemas import UserCreate, UserDetail, UserUpdate

router = APIRouter(prefix="/api/users", tags=["users"], responses=error_responses(401, 403, 422))


@router.get("", summary="List the company's users")
async def list_users(ctx: CtxDep) -> list[UserDetail]:
    return [UserDetail.model_validate(u) for u in await service.list_users(ctx)]


@router.get("/{user_id}", summary="Get a user", responses=error_responses(404))
async def get_user(user_id: uuid.UUID, ctx: CtxDep) -> UserDetail:
    return UserDetail.model_validate(await service.get_user(ctx, user_id))


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Add a user (admin)", responses=error_responses(409)
)
async def create_user(data: UserCreate, ctx: AdminCtxDep) -> UserDetail:
    return UserDetail.model_validate(await service.create_user(ctx, data))


@router.patch(
    "/{user_id}",
    summary="Change a user's name, role, activation or availability",
    responses=error_responses(404),
)
async def update_user(user_id: uuid.UUID, data: UserUpdate, ctx: CtxDep) -> UserDetail:
    return UserDetail.model_validate(await service.update_user(ctx, user_id, data))
