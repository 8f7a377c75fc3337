"""API rate limits: one global limit for the whole deployment, and one per caller, answered with 429 and
`Retry-After` in the API's error shape.

The caller is the company of a valid access token (limits by its plan, `tenants.plan`, from
`WADESK_RATE_LIMIT_PLANS`, else `WADESK_RATE_LIMIT_TENANT`), or else the client address
(`WADESK_RATE_LIMIT_ANONYMOUS`). Other credentials (API keys) are counted per credential until a request with
them has authenticated once in this process; from then on they count against their company.

It runs as one ASGI middleware, so every request is counted exactly once, before any work is done for it.
Never limited: Meta's webhook deliveries (a throttled delivery would be retried by Meta for days and arrive
late), the health probes (orchestrators must always reach them), CORS preflights, and non-API paths.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import OrderedDict
from typing import Any

import structlog
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from wadesk.config import Settings
from wadesk.db.session import database_unreachable
from wadesk.infra.runtime import Runtime
from wadesk.kit.ratelimit import Rejection, RequestRateLimiter, create_limit_storage
from wadesk.kit.tokens import InvalidToken
from wadesk.tenants.models import Tenant

log = structlog.get_logger(__name__)

PLAN_TTL_SECONDS = 60.0
LEARNED_CREDENTIALS = 10_000


def is_exempt(method: str, path: str) -> bool:
    """Requests that are never rate limited."""
    if method == "OPTIONS" or not path.startswith("/api/"):
        return True
    if path == "/api/health" or path.startswith("/api/health/"):
        return True
    # Meta's deliveries and handshakes: /api/webhook and /api/webhook/{tenant_slug}; not the admin's
    # /api/webhook/events, which is an ordinary API call.
    if path == "/api/webhook":
        return True
    if path.startswith("/api/webhook/"):
        rest = path.removeprefix("/api/webhook/")
        return "/" not in rest.rstrip("/") and rest != "events"
    return False


class TenantPlans:
    """Each company's plan, read from the database at most once a minute per process."""

    def __init__(self, ttl: float = PLAN_TTL_SECONDS) -> None:
        self._ttl = ttl
        self._plans: dict[uuid.UUID, tuple[str, float]] = {}

    async def plan_of(self, runtime: Runtime, tenant_id: uuid.UUID) -> str | None:
        cached = self._plans.get(tenant_id)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            async with runtime.sessionmaker() as session:
                plan = (await session.execute(select(Tenant.plan).where(Tenant.id == tenant_id))).scalar()
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            # The default limits meanwhile: the request goes on to the route, which answers the 503.
            return None
        if plan is not None:
            self._plans[tenant_id] = (plan, now + self._ttl)
        return plan


class RateLimitMiddleware:
    """Counts each API request once against the global limit and its caller's limit; 429 when over."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._limiter: RequestRateLimiter | None = None
        self._plans = TenantPlans()
        self._plan_limits = settings.rate_limit_plan_map
        # sha256 of a non-JWT credential -> its company, learned from requests it authenticated.
        self._learned: OrderedDict[str, uuid.UUID] = OrderedDict()

    def _get_limiter(self) -> RequestRateLimiter:
        if self._limiter is None:
            self._limiter = RequestRateLimiter(create_limit_storage(self.settings.redis_url), "wadesk-api")
        return self._limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.settings.rate_limit_enabled
            or is_exempt(scope["method"], scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        credential = _bearer(scope)
        caller_key, limits, kind = await self._caller(runtime, scope, credential)
        limiter = self._get_limiter()
        try:
            rejection = await limiter.hit(limits, caller_key)
            if rejection is None:
                rejection = await limiter.hit(self.settings.rate_limit_global, "global")
                kind = "global" if rejection is not None else kind
        except Exception as exc:  # the counter store is down: serve rather than fail every request
            log.warning("rate_limit_store_unavailable", error=type(exc).__name__)
            rejection = None
        if rejection is not None:
            await _too_many_requests(send, rejection, kind)
            return
        await self.app(scope, receive, send)
        if credential is not None and credential.count(".") != 2:
            self._learn(credential, scope)

    async def _caller(
        self, runtime: Runtime | None, scope: Scope, credential: str | None
    ) -> tuple[str, str, str]:
        tenant_id: uuid.UUID | None = None
        if credential is not None and runtime is not None:
            if credential.count(".") == 2:
                try:
                    tenant_id = runtime.signer.verify(credential).tenant_id
                except InvalidToken:
                    tenant_id = None
            else:
                digest = hashlib.sha256(credential.encode()).hexdigest()
                tenant_id = self._learned.get(digest)
                if tenant_id is None:
                    return f"credential:{digest[:32]}", self.settings.rate_limit_tenant, "credential"
        if tenant_id is not None and runtime is not None:
            plan = await self._plans.plan_of(runtime, tenant_id)
            limits = self._plan_limits.get(plan or "", self.settings.rate_limit_tenant)
            return f"tenant:{tenant_id}", limits, "tenant"
        client = scope.get("client")
        address = client[0] if client else "unknown"
        return f"client:{address}", self.settings.rate_limit_anonymous, "client"

    def _learn(self, credential: str, scope: Scope) -> None:
        principal: Any = scope.get("state", {}).get("principal")
        tenant_id = getattr(principal, "tenant_id", None)
        if not isinstance(tenant_id, uuid.UUID):
            return
        digest = hashlib.sha256(credential.encode()).hexdigest()
        self._learned[digest] = tenant_id
        self._learned.move_to_end(digest)
        while len(self._learned) > LEARNED_CREDENTIALS:
            self._learned.popitem(last=False)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


async def _too_many_requests(send: Send, rejection: Rejection, kind: str) -> None:
    limit = rejection.limit
    body = json.dumps(
        {
            "error": {
                "code": "rate_limited",
                "message": f"Too many requests; try again in {rejection.retry_after} s.",
                "details": {"scope": kind, "limit": str(limit), "retryAfter": rejection.retry_after},
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(rejection.retry_after).encode()),
                (b"ratelimit-limit", str(limit.amount).encode()),
                (b"ratelimit-policy", f"{limit.amount};w={limit.get_expiry()}".encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
