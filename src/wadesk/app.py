"""The FastAPI application: lifespan (database, queue, realtime bus), middleware, routers, the web app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from wadesk.auth.service import LoginThrottle
from wadesk.config import Settings
from wadesk.db.session import create_engine, make_sessionmaker
from wadesk.errors import error_body, install_error_handlers
from wadesk.infra.broker import create_broker
from wadesk.infra.jobs import JobQueue
from wadesk.infra.logging import configure_logging
from wadesk.infra.metrics import MetricsMiddleware
from wadesk.infra.pacing import InProcessPacer, RedisPacer
from wadesk.infra.realtime import InProcessBus, RealtimeBus, RedisBus
from wadesk.infra.redis import create_redis
from wadesk.infra.runtime import Runtime, keyring_from_settings, set_current_runtime, signer_from_settings
from wadesk.kit.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from wadesk.kit.ratelimit import FailureCounter, create_limit_storage
from wadesk.media.rules import MAX_UPLOAD_BYTES
from wadesk.ops.rate_limits import RateLimitMiddleware
from wadesk.ops.simulator_link import (
    keep_simulator_in_sync,
    simulator_config_for,
    start_ambient_traffic,
    sync_simulator,
)
from wadesk.ops.sweeper import run_sweeper
from wadesk.routes import API_ROUTERS
from wadesk.webhooks.router import DeliveryEndpoint
from wadesk.whatsapp.graph import GraphClient, load_http_stack
from wadesk.whatsapp.simulator import Simulator, create_simulator_app, get_simulator

WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"

OPENAPI_TAGS = [
    {"name": "auth", "description": "Sign in, tokens and registration."},
    {"name": "conversations", "description": "The shared inbox."},
    {"name": "messages", "description": "Messages in and out; sending is queued and paced."},
    {"name": "media", "description": "Files uploaded to send as WhatsApp media."},
    {"name": "users", "description": "The company's agents and administrators."},
    {"name": "phone numbers", "description": "Connected WhatsApp numbers; credentials are write-only."},
    {"name": "webhook", "description": "Meta's webhook endpoint and the stored events."},
    {"name": "realtime", "description": "Server-Sent Events; authenticate with the Authorization header."},
    {"name": "health", "description": "Liveness, readiness and dependency health."},
]


# Builds the transport of the HTTP calls a process makes to itself (Graph calls to its built-in simulator, the
# simulator's webhooks back to the app), given the app; tests pass one over ASGI so nothing needs a socket.
SelfTransportFactory = Callable[[FastAPI], httpx.AsyncBaseTransport]


async def build_runtime(
    settings: Settings,
    *,
    graph_transport: httpx.AsyncBaseTransport | None = None,
    serves_clients: bool = True,
) -> Runtime:
    """Connect everything a process needs. In embedded mode the in-memory broker runs jobs in this process.
    A process that serves no realtime clients (`wadesk worker`) only publishes: it does not listen to the
    realtime channel, whose every event it would otherwise receive and decode for nobody."""
    engine = create_engine(
        settings.resolved_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    redis = create_redis(settings.redis_url) if settings.redis_url else None
    bus: RealtimeBus = RedisBus(redis) if redis is not None else InProcessBus()
    broker = create_broker(settings)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        keyring=keyring_from_settings(settings),
        signer=signer_from_settings(settings),
        bus=bus,
        jobs=JobQueue(broker),
        graph=GraphClient(settings.graph_base_url, settings.graph_api_version, transport=graph_transport),
        pacer=RedisPacer(redis) if redis is not None else InProcessPacer(),
        extras={"redis": redis} if redis is not None else {},
    )
    set_current_runtime(runtime)
    await load_http_stack()
    if serves_clients:
        await bus.start()
    await broker.startup()
    return runtime


async def close_runtime(runtime: Runtime) -> None:
    with contextlib.suppress(Exception):
        await runtime.jobs.broker.shutdown()
    await runtime.bus.close()
    await runtime.graph.aclose()
    redis = runtime.extras.get("redis")
    if redis is not None:
        await redis.aclose()
    await runtime.engine.dispose()
    set_current_runtime(None)


def create_app(
    settings: Settings | None = None, *, self_transport: SelfTransportFactory | None = None
) -> FastAPI:
    """The application. `self_transport` routes the calls the app makes to itself (see SelfTransportFactory);
    by default they go over the network to `settings.public_url`."""
    settings = (settings or Settings()).with_generated_secrets()
    configure_logging(
        json_output=settings.log_json if settings.log_json is not None else settings.is_production
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build_runtime(settings, graph_transport=transport)
        app.state.runtime = runtime
        storage = create_limit_storage(settings.redis_url)
        app.state.login_throttle = LoginThrottle(
            per_account=FailureCounter(
                storage, settings.login_failures_per_account_per_minute, "login-account"
            ),
            per_ip=FailureCounter(storage, settings.login_failures_per_ip_per_minute, "login-ip"),
        )
        stop = asyncio.Event()
        background: list[asyncio.Task[None]] = []
        if settings.redis_url is None:
            # Embedded mode: this process is also the worker, so it also sweeps.
            background.append(asyncio.create_task(run_sweeper(runtime, stop)))
        if simulator is not None:
            await simulator.start()
            await sync_simulator(runtime, simulator)
            background.append(asyncio.create_task(keep_simulator_in_sync(runtime, simulator, stop)))
            await start_ambient_traffic(runtime, simulator)
        try:
            yield
        finally:
            stop.set()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if simulator is not None:
                await simulator.aclose()
            await close_runtime(runtime)

    app = FastAPI(
        title="wadesk",
        version="0.1.0",
        summary="Multi-tenant WhatsApp Business shared inbox API",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        # No OpenTelemetry here (metrics are Prometheus's, logs structlog's); left on, FastAPI looks for a
        # tracer provider in the environment on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    transport = self_transport(app) if self_transport is not None else None
    simulator: Simulator | None = None
    if settings.simulator:
        simulator_app = create_simulator_app(simulator_config_for(settings, transport=transport))
        simulator = get_simulator(simulator_app)
        app.mount("/simulator", simulator_app)
        app.state.simulator = simulator
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router)

    @app.api_route(
        "/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    async def unknown_api_route(path: str) -> JSONResponse:
        return JSONResponse(error_body("not_found", f"No API route at /api/{path}."), status_code=404)

    _mount_web_app(app)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes + 1024,
        # Media uploads: the largest file WhatsApp takes, plus the multipart framing around it.
        limits_by_path={"/api/media": MAX_UPLOAD_BYTES + 64 * 1024},
    )
    # Meta's deliveries skip the stack below: they need no rate limit, CORS or general body limit.
    app.add_middleware(DeliveryEndpoint)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestContextMiddleware, hsts=settings.is_production)
    return app


def _mount_web_app(app: FastAPI) -> None:
    """Serve the built single-page app at /; unknown non-API paths return it for client-side routing."""
    index = WEB_DIST / "index.html"
    if not index.exists():
        return
    if (WEB_DIST / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=WEB_DIST / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def single_page_app(path: str) -> FileResponse:
        candidate = (WEB_DIST / path).resolve()
        if path and candidate.is_file() and WEB_DIST.resolve() in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(index, headers={"cache-control": "no-cache"})
