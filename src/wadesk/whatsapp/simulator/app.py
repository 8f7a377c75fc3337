"""The simulator's HTTP face: Graph API paths exactly as Meta serves them, plus a few `_sim` helpers."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import graph_errors
from .config import SimulatorConfig
from .engine import Simulator
from .graph_errors import GraphError
from .inbound import InboundMessage
from .media import DOWNLOAD_PATH

_VERSION = re.compile(r"^v\d+\.\d+$")


def get_simulator(app: FastAPI) -> Simulator:
    """The `Simulator` behind an app made by `create_simulator_app` (registration, stats, drain, close)."""
    simulator = app.state.simulator
    assert isinstance(simulator, Simulator)
    return simulator


def _base_url(request: Request, simulator: Simulator) -> str:
    """Where the simulator is reachable, mount prefix included (`http://host:8000/simulator`)."""
    if simulator.config.public_url:
        return simulator.config.public_url.rstrip("/")
    root_path = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{root_path}"


def _check_version(version: str, request: Request) -> None:
    if not _VERSION.match(version):
        raise graph_errors.unknown_path(request.url.path)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise graph_errors.invalid_parameter("The request body is not valid JSON.") from None


def create_simulator_app(config: SimulatorConfig, simulator: Simulator | None = None) -> FastAPI:
    """An ASGI app speaking the Cloud API, to mount at `/simulator` (paths below are relative to the mount).

    A mounted app's lifespan does not run: the host app should `await get_simulator(app).start()` on startup
    and `await get_simulator(app).aclose()` on shutdown. Run on its own, the app does both itself.
    """
    sim = simulator or Simulator(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sim.start()
        try:
            yield
        finally:
            await sim.aclose()

    app = FastAPI(
        title="WhatsApp Cloud API simulator",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.simulator = sim

    @app.exception_handler(GraphError)
    async def graph_error_handler(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GraphError)
        return JSONResponse(exc.body(), status_code=exc.http_status)

    @app.exception_handler(StarletteHTTPException)
    async def unknown_path_handler(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in {404, 405}:
            error = graph_errors.unknown_path(request.url.path)
            return JSONResponse(error.body(), status_code=error.http_status)
        return JSONResponse({"error": {"message": str(exc.detail)}}, status_code=exc.status_code)

    # --- helpers (not part of Meta's API) -------------------------------------------------------------------

    @app.get("/_sim/stats")
    async def stats() -> dict[str, Any]:
        return sim.stats.snapshot()

    @app.get("/_sim/phone_numbers")
    async def phone_numbers() -> dict[str, Any]:
        return {"data": [_number_summary(n.phone_number_id) for n in sim.phone_numbers]}

    def _number_summary(phone_number_id: str) -> dict[str, Any]:
        number = sim.phone_number(phone_number_id)
        assert number is not None
        return {
            "phoneNumberId": number.phone_number_id,
            "wabaId": number.waba_id,
            "displayPhoneNumber": number.display_phone_number,
            "verifiedName": number.verified_name,
            "messagesPerSecond": number.messages_per_second,
        }

    @app.get("/_sim/phone_numbers/{phone_number_id}")
    async def phone_number(phone_number_id: str) -> JSONResponse:
        if sim.phone_number(phone_number_id) is None:
            return JSONResponse({"error": {"message": f"unknown phone number id {phone_number_id}"}}, 404)
        return JSONResponse(_number_summary(phone_number_id))

    @app.get("/_sim/messages")
    async def sent_messages(limit: int = 50) -> dict[str, Any]:
        recent = sim.sent_messages[-max(1, min(limit, 1000)) :]
        return {
            "data": [
                {
                    "wamid": m.wamid,
                    "phoneNumberId": m.phone_number_id,
                    "to": m.to,
                    "waId": m.wa_id,
                    "type": m.type,
                    "content": m.content,
                    "bizOpaqueCallbackData": m.biz_opaque_callback_data,
                    "acceptedAt": m.accepted_at,
                }
                for m in recent
            ]
        }

    @app.post("/_sim/media")
    async def store_media(
        request: Request, phone_number_id: str, filename: str | None = None
    ) -> JSONResponse:
        content_type = request.headers.get("content-type", "application/octet-stream")
        try:
            media = sim.store_media(phone_number_id, await request.body(), content_type.strip(), filename)
        except GraphError as error:
            return JSONResponse(error.body(), status_code=404)
        expires = int(sim.config.clock() + sim.config.media_url_ttl_seconds)
        return JSONResponse(
            {
                "id": media.id,
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": str(media.file_size),
                "url": sim.media.download_url(_base_url(request, sim), media.id, expires),
            }
        )

    @app.post("/inbound")
    async def inbound(message: InboundMessage, request: Request) -> JSONResponse:
        try:
            wamid, status = await sim.inject_inbound(message, base_url=_base_url(request, sim))
        except ValueError as exc:
            return JSONResponse({"error": {"message": str(exc)}}, status_code=400)
        if status is None:
            return JSONResponse(
                {
                    "wamid": wamid,
                    "status": None,
                    "error": {"message": "the app's webhook could not be reached"},
                },
                status_code=502,
            )
        return JSONResponse({"wamid": wamid, "status": status})

    @app.get(DOWNLOAD_PATH)
    async def download(request: Request) -> Response:
        media = sim.download_media(dict(request.query_params), request.headers.get("authorization"))
        if media is None:
            return Response(status_code=404)
        headers = {"Cache-Control": "no-cache"}
        if media.filename:
            headers["Content-Disposition"] = f'attachment; filename="{media.filename}"'
        return Response(media.data, media_type=media.mime_type, headers=headers)

    # --- Graph API ------------------------------------------------------------------------------------------

    @app.post("/{version}/{phone_number_id}/messages")
    async def send_message(version: str, phone_number_id: str, request: Request) -> dict[str, Any]:
        _check_version(version, request)
        authorization = request.headers.get("authorization")
        try:
            body = await _json_body(request)
        except GraphError as error:
            sim.stats.record_messages_call(phone_number_id, sim.config.clock())
            sim.stats.record_response(error.code)
            raise
        return sim.send_message(version, phone_number_id, body, authorization)

    @app.post("/{version}/{phone_number_id}/media")
    async def upload_media(version: str, phone_number_id: str, request: Request) -> dict[str, Any]:
        _check_version(version, request)
        return sim.upload_media(
            phone_number_id,
            request.headers.get("content-type", ""),
            await request.body(),
            request.headers.get("authorization"),
        )

    @app.get("/{version}/{waba_id}/message_templates")
    async def list_templates(version: str, waba_id: str, request: Request) -> dict[str, Any]:
        _check_version(version, request)
        return sim.list_templates(
            waba_id, dict(request.query_params), request.headers.get("authorization"), str(request.url)
        )

    @app.post("/{version}/{waba_id}/message_templates")
    async def create_template(version: str, waba_id: str, request: Request) -> dict[str, Any]:
        _check_version(version, request)
        return sim.create_template(waba_id, await _json_body(request), request.headers.get("authorization"))

    @app.delete("/{version}/{waba_id}/message_templates")
    async def delete_template(version: str, waba_id: str, request: Request) -> dict[str, Any]:
        _check_version(version, request)
        return sim.delete_template(waba_id, dict(request.query_params), request.headers.get("authorization"))

    @app.get("/{version}/{waba_id}/phone_numbers")
    async def list_phone_numbers(version: str, waba_id: str, request: Request) -> dict[str, Any]:
        _check_version(version, request)
        return sim.list_phone_numbers(waba_id, request.headers.get("authorization"))

    @app.get("/{version}/{object_id}")
    async def get_object(version: str, object_id: str, request: Request) -> dict[str, Any]:
        _check_version(version, request)
        return sim.get_object(
            object_id,
            dict(request.query_params),
            request.headers.get("authorization"),
            _base_url(request, sim),
        )

    @app.post("/{version}/{object_id}")
    async def edit_object(version: str, object_id: str, request: Request) -> dict[str, Any]:
        _check_version(version, request)
        return sim.edit_template(object_id, await _json_body(request), request.headers.get("authorization"))

    @app.delete("/{version}/{object_id}")
    async def delete_object(version: str, object_id: str, request: Request) -> dict[str, Any]:
        _check_version(version, request)
        return sim.delete_media(object_id, dict(request.query_params), request.headers.get("authorization"))

    return app
