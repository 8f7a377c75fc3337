"""Property-based run of the whole API against its own OpenAPI document (Schemathesis): every operation, valid
and invalid inputs, signed in as the demo administrator. No request may end in a 500, and every response
must match the schema the document declares for its status code."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
import schemathesis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from conftest import Backend, login, make_settings
from wadesk.app import create_app
from wadesk.config import Settings

# Per operation and generation mode (valid inputs, then invalid ones). SCHEMATHESIS_EXAMPLES raises it for a
# longer local run.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "4"))
# SCHEMATHESIS_OPERATIONS="POST /api/messages,GET /api/users" narrows a local run to some operations.
ONLY = {label.strip() for label in os.environ.get("SCHEMATHESIS_OPERATIONS", "").split(",") if label.strip()}
# A stream never ends, so a request-response client cannot check it; tests/api cover it.
STREAMING = {"GET /api/events"}
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest_asyncio.fixture(loop_scope="session")
async def fuzzed_app(backend: Backend, settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    # Thousands of requests from one company in a minute: the rate limits are tested on their own. The Graph API
    # is the built-in simulator, reached in process, so routes that call WhatsApp answer as they would live.
    application = create_app(
        make_settings(
            backend,
            tmp_path,
            rate_limit_enabled=False,
            simulator=True,
            public_url="http://wadesk.test",
            simulator_duplicate_ratio=0.0,
            simulator_out_of_order_ratio=0.0,
        ),
        self_transport=lambda target: httpx.ASGITransport(app=target, client=("127.0.0.1", 50006)),
    )
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=120):
        yield application


@pytest_asyncio.fixture(loop_scope="session")
async def fuzz_client(fuzzed_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    from wadesk.db.session import unit_of_work
    from wadesk.ops.demo_seed import seed_demo
    from wadesk.ops.simulator_link import sync_simulator

    runtime = fuzzed_app.state.runtime
    async with unit_of_work(runtime.sessionmaker) as session:
        await seed_demo(session, runtime.keyring)
    await sync_simulator(runtime, fuzzed_app.state.simulator)
    # A crash must come back as the 500 response the client would see, for the checks to judge.
    transport = httpx.ASGITransport(app=fuzzed_app, client=("127.0.0.1", 50003), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as http:
        yield http


def _request_kwargs(transport_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Schemathesis speaks `requests`; the same request for httpx."""
    kwargs = dict(transport_kwargs)
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    kwargs.pop("cookies", None)
    if kwargs.get("files"):
        # Invalid cases put numbers or objects where a part's content goes: send them as their JSON text.
        kwargs["files"] = [(name, _part(spec)) for name, spec in kwargs["files"]]
    return kwargs


def _part(spec: Any) -> Any:
    if isinstance(spec, tuple) and len(spec) >= 2 and not isinstance(spec[1], bytes | str):
        return (spec[0], json.dumps(spec[1], default=str), *spec[2:])
    if not isinstance(spec, tuple | bytes | str):
        return json.dumps(spec, default=str)
    return spec


def _operations(document: dict[str, Any]) -> Iterator[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_dict(document)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label not in STREAMING and (not ONLY or operation.label in ONLY):
            yield operation


async def test_every_operation_answers_generated_requests_without_500s_and_as_documented(
    fuzz_client: httpx.AsyncClient,
) -> None:
    document = (await fuzz_client.get("/api/openapi.json")).json()
    admin = await login(fuzz_client, "admin@demo.com", "admin123")
    auth = {"Authorization": f"Bearer {admin.token}"}
    loop = asyncio.get_running_loop()
    sent = 0

    async def send(kwargs: dict[str, Any]) -> httpx.Response:
        request = fuzz_client.build_request(**kwargs)
        request.read()  # multipart bodies stream; the checks read the request back
        return await fuzz_client.send(request)

    def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            nonlocal sent
            kwargs = _request_kwargs(case.as_transport_kwargs(base_url="http://testserver", headers=auth))
            response = asyncio.run_coroutine_threadsafe(send(kwargs), loop).result(timeout=60)
            sent += 1
            case.validate_response(response, checks=CHECKS)

        check()

    def run_all() -> list[str]:
        failures = []
        for operation in _operations(document):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    fuzz(operation, mode)
                except Unsatisfiable:
                    continue  # no invalid input exists (an operation without parameters or body)
                except (Exception, BaseExceptionGroup) as exc:  # collect all failures, report them together
                    failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
        return failures

    failures = await asyncio.to_thread(run_all)
    assert not failures, "\n\n".join(failures)
    assert ONLY or sent >= 300, f"only {sent} requests were generated"
