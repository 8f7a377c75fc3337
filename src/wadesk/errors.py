"""The application's error hierarchy and the handlers that render every error in one JSON shape.

`{"error": {"code": "snake_case_code", "message": "human sentence", "details": ...}}`
"""

from __future__ import annotations

from typing import Any

import structlog
from asyncpg import PostgresError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from wadesk.db.session import database_unreachable

log = structlog.get_logger(__name__)


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    message = "The request is invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.details = details
        self.headers = headers
        super().__init__(self.message)


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    message = "Authentication is required."


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "The request body is too large."


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "This type of content is not supported."


class Unprocessable(AppError):
    status_code = 422
    code = "unprocessable"
    message = "The request cannot be processed."


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"
    message = "Too many requests; try again later."


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "A dependency is unavailable; try again shortly."


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
    message = "The database is unreachable; try again shortly."


# Long enough for a database restart or fail-over; Meta retries webhooks on its own schedule anyway.
DATABASE_RETRY_AFTER_SECONDS = 5


def database_unavailable_reply(path: str, exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """What a request that lost the database is answered (status, body, headers), logged as one warning
    rather than a traceback: a 503 with Retry-After, so clients (Meta above all) try again later."""
    log.warning("database_unavailable", path=path, error=f"{type(exc).__name__}: {exc}")
    body = error_body(DatabaseUnavailable.code, DatabaseUnavailable.message)
    return DatabaseUnavailable.status_code, body, {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


# PostgreSQL refuses NUL characters in text and JSON values (character_not_in_repertoire,
# untranslatable_character). Pydantic lets them through, so the database is where they are caught.
UNSTORABLE_TEXT_SQLSTATES = frozenset({"22021", "22P05"})


def _jsonable_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        details.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "message": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _jsonable_validation_errors(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return JSONResponse(
                error_body("malformed_json", "The request body is not valid JSON.", details), status_code=400
            )
        first = details[0] if details else {"loc": [], "message": "invalid"}
        where = ".".join(p for p in first["loc"] if p not in {"body", "query", "path"}) or "request"
        return JSONResponse(
            error_body("validation_error", f"Invalid {where}: {first['message']}", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    # Connecting raises the driver's own errors (OSError, asyncpg's), a lost connection a DBAPIError, an
    # exhausted pool its TimeoutError: each is a 503 with Retry-After when the database is out of reach, so
    # clients (Meta above all) retry, and a warning rather than a traceback per request.
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not database_unreachable(exc):
            raise exc  # a 500, rendered by the handler below
        status_code, body, headers = database_unavailable_reply(request.url.path, exc)
        return JSONResponse(body, status_code=status_code, headers=headers)

    for unreachable in (OSError, PostgresError, PoolTimeout):
        app.add_exception_handler(unreachable, _database_unavailable)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if database_unreachable(exc):
            return await _database_unavailable(request, exc)
        if getattr(exc.orig, "sqlstate", None) in UNSTORABLE_TEXT_SQLSTATES:
            return JSONResponse(
                error_body(
                    "invalid_characters",
                    "The request contains characters that cannot be stored, such as the NUL character.",
                ),
                status_code=400,
            )
        raise exc  # any other database error is a 500, rendered by the handler below

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return JSONResponse(error_body("internal_error", "An unexpected error occurred."), status_code=500)
