from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Request, Response, status

from wadesk.auth import service
from wadesk.auth.dependencies import CtxDep, RuntimeDep, SessionDep
from wadesk.auth.schemas import LoginIn, MeOut, RefreshIn, RegisterIn, RegisterOut, TokenPair
from wadesk.errors import Unauthorized
from wadesk.infra.runtime import Runtime
from wadesk.kit.schemas import error_responses
from wadesk.tenants.models import Tenant
from wadesk.tenants.schemas import TenantOut
from wadesk.users.models import User
from wadesk.users.schemas import UserOut

router = APIRouter(prefix="/api/auth", tags=["auth"])

REFRESH_COOKIE = "wadesk_refresh"
REFRESH_COOKIE_PATH = "/api/auth"


def get_login_throttle(request: Request) -> service.LoginThrottle:
    throttle: service.LoginThrottle = request.app.state.login_throttle
    return throttle


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_refresh_cookie(response: Response, runtime: Runtime, token: str) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        token,
        max_age=runtime.settings.refresh_token_ttl_seconds,
        path=REFRESH_COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=runtime.settings.is_production or runtime.settings.public_url.startswith("https://"),
    )


def _token_pair(issued: service.IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
        user=UserOut.model_validate(issued.user),
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Register a new company and its first administrator",
    responses=error_responses(409, 422),
)
async def register(
    data: RegisterIn, response: Response, session: SessionDep, runtime: RuntimeDep
) -> RegisterOut:
    issued, tenant = await service.register(
        session,
        runtime,
        company_name=data.company_name,
        name=data.name,
        email=data.email,
        password=data.password,
    )
    _set_refresh_cookie(response, runtime, issued.refresh_token)
    pair = _token_pair(issued)
    return RegisterOut(**pair.model_dump(), tenant=TenantOut.model_validate(tenant))


@router.post("/login", summary="Sign in with email and password", responses=error_responses(401, 422, 429))
async def login(
    data: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    throttle: Annotated[service.LoginThrottle, Depends(get_login_throttle)],
) -> TokenPair:
    issued = await service.login(
        session, runtime, throttle, email=data.email, password=data.password, client_ip=client_ip(request)
    )
    _set_refresh_cookie(response, runtime, issued.refresh_token)
    return _token_pair(issued)


@router.post(
    "/refresh",
    summary="Exchange a refresh token (body or HttpOnly cookie) for new tokens",
    responses=error_responses(401, 422),
)
async def refresh(
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    data: RefreshIn | None = None,
    cookie_token: Annotated[str | None, Cookie(alias=REFRESH_COOKIE)] = None,
) -> TokenPair:
    token = (data.refresh_token if data else None) or cookie_token
    if not token:
        raise Unauthorized("Send the refresh token in the body or its cookie.", code="invalid_refresh_token")
    issued = await service.refresh(session, runtime, token)
    _set_refresh_cookie(response, runtime, issued.refresh_token)
    return _token_pair(issued)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke the refresh token")
async def logout(
    response: Response,
    session: SessionDep,
    data: RefreshIn | None = None,
    cookie_token: Annotated[str | None, Cookie(alias=REFRESH_COOKIE)] = None,
) -> Response:
    token = (data.refresh_token if data else None) or cookie_token
    if token:
        await service.logout(session, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH)
    return response


@router.get("/me", summary="The signed-in user and their company", responses=error_responses(401, 403))
async def me(ctx: CtxDep) -> MeOut:
    tenant = await ctx.session.get(Tenant, ctx.tenant_id)
    user = await ctx.session.get(User, ctx.user_id)
    return MeOut(user=UserOut.model_validate(user), tenant=TenantOut.model_validate(tenant))
