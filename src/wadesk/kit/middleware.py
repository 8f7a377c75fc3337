"""ASGI middleware: request ids and logging context, security headers, request body size limit, and URLs
with NUL characters refused (no database stores one)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("wadesk.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
APP_CSP = (
    b"default-src 'self'; img-src 'self' data: blob: https:; media-src 'self' blob: https:; "
    b"style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    b"default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline' https:; "
    b"script-src 'self' 'unsafe-inline' https:; frame-ancestors 'none'"
)


class RequestContextMiddleware:
    """Binds a request id (taken from a well-formed X-Request-ID or made up) and logs each request."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        path: str = scope["path"]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_code = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                for name, value in SECURITY_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                if b"content-security-policy" not in present:
                    if path.startswith("/api/docs") or path.startswith("/api/redoc"):
                        csp = DOCS_CSP
                    elif path.startswith("/api") or path.startswith("/simulator"):
                        csp = API_CSP
                    else:
                        csp = APP_CSP
                    headers.append((b"content-security-policy", csp))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                if path.startswith("/api") and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            if _has_nul(scope):
                # No database stores a NUL character; refuse it here rather than fail in a query.
                await _reply(
                    send_with_headers, 400, "bad_request", "The URL must not contain NUL characters."
                )
                return
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=path,
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413 before the app reads them (declared or streamed).

    `limits_by_path` gives exact paths their own limit (file uploads need more than JSON bodies do)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, limits_by_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits_by_path = dict(limits_by_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits_by_path.get(scope["path"].rstrip("/") or "/", self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _too_large(send, limit)


class _BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the limit. An HTTPException, so that code reading the body
    (FastAPI turns other exceptions met while parsing into a 400) passes it on as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"Request bodies are limited to {limit} bytes.")


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query


async def _too_large(send: Send, limit: int) -> None:
    await _reply(send, 413, "payload_too_large", f"Request bodies are limited to {limit} bytes.")


async def _reply(send: Send, status: int, code: str, message: str) -> None:
    await send_json(send, status, {"error": {"code": code, "message": message, "details": None}})


async def send_json(send: Send, status: int, content: Any, headers: dict[str, str] | None = None) -> None:
    """A complete JSON response, for code that answers below the framework."""
    body = json.dumps(content, separators=(",", ":")).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
