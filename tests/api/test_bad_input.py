"""Bad input never breaks the API: every route under /api, taken from the app's route table, answers garbage
with a 4xx in the one error shape, never a 5xx.

Skipped: the health probes, the realtime stream (/api/events), and Meta's webhook endpoint (GET/POST
/api/webhook), which have their own rules (tests/api/test_webhook*.py).
"""

from __future__ import annotations

import types
import typing
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from enum import Enum
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from conftest import Account, Operation, api_operations, assert_error, register
from wadesk.config import Settings

SKIPPED_PATHS = {"/api/events", "/api/health", "/api/health/live", "/api/health/ready"}
SKIPPED_OPERATIONS = {("GET", "/api/webhook"), ("POST", "/api/webhook")}
# Routes anyone may call: they authenticate by other means (credentials, refresh token, Meta's signature).
PUBLIC_PATHS = {
    "/api/auth/register",
    "/api/auth/login",
    "/api/auth/refresh",
    "/api/auth/logout",
    "/api/webhook/{tenant_slug}",
}
# An object where a string, number, boolean, list or id is expected.
WRONG_OBJECT = {"nested": [1, {"deeper": None}]}
BAD_UUIDS = ["not-a-uuid", "00000000-0000-0000-0000-00000000000g", "1"]


def _operations(app: FastAPI) -> list[Operation]:
    return [
        op
        for op in api_operations(app)
        if op.path not in SKIPPED_PATHS and (op.method, op.path) not in SKIPPED_OPERATIONS
    ]


def _unwrap(annotation: Any) -> list[Any]:
    """The types inside an Optional/Union annotation (or the annotation itself)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _body_model(op: Operation) -> type[BaseModel] | None:
    for candidate in _unwrap(op.body):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _takes_json_body(op: Operation) -> bool:
    return op.body is not None and not op.form_body and op.method in {"POST", "PUT", "PATCH", "DELETE"}


def _path_values(op: Operation, value: str | None = None) -> dict[str, str]:
    """A value for each path parameter: a well-formed id that exists nowhere, unless one is given."""
    return {name: value if value is not None else str(uuid.uuid4()) for name in op.path_params}


def _is_uuid(annotation: Any) -> bool:
    return uuid.UUID in _unwrap(annotation)


def _assert_client_error(op: Operation, response: httpx.Response, what: str) -> None:
    context = f"{op.method} {op.path} with {what}: {response.status_code} {response.text[:300]}"
    assert 400 <= response.status_code < 500, context
    assert_error(response, response.status_code)


@pytest.fixture
async def account(client: httpx.AsyncClient) -> Account:
    signed_in = await register(client, "Bad Input Ltd")
    # No refresh cookie: a body-less refresh must fail on its own terms, not use a stored token.
    client.cookies.clear()
    return signed_in


async def test_the_route_table_has_the_core_routes(app: FastAPI) -> None:
    paths = {op.path for op in _operations(app)}
    assert {"/api/auth/login", "/api/users/{user_id}", "/api/conversations", "/api/messages"} <= paths


async def test_malformed_json_is_refused_everywhere(app: FastAPI, account: Account) -> None:
    for op in _operations(app):
        if op.method not in {"POST", "PUT", "PATCH"}:
            continue
        response = await account.http.request(
            op.method,
            op.url(**_path_values(op)),
            content=b'{"broken": [1, 2',
            headers={**account.headers, "content-type": "application/json"},
        )
        _assert_client_error(op, response, "malformed JSON")
        if _takes_json_body(op):
            assert_error(response, 400, "malformed_json")


async def test_bodies_of_the_wrong_type_are_refused_everywhere(app: FastAPI, account: Account) -> None:
    for op in _operations(app):
        if not _takes_json_body(op):
            continue
        url = op.url(**_path_values(op))
        bodies: list[Any] = [[], "a string", 42, [{"a": 1}]]
        if op.body_required:
            bodies.append(None)
        model = _body_model(op)
        if model is not None:
            for field_name, field in model.model_fields.items():
                wire_name = field.alias or field_name
                bodies.append({wire_name: WRONG_OBJECT})
                if int in _unwrap(field.annotation):
                    bodies.append({wire_name: 10**40})
        for body in bodies:
            response = await account.request(op.method, url, json=body)
            _assert_client_error(op, response, f"body {str(body)[:60]}")


async def test_a_malformed_id_in_the_path_is_refused(app: FastAPI, account: Account) -> None:
    for op in _operations(app):
        uuid_params = [name for name, annotation in op.path_params.items() if _is_uuid(annotation)]
        if not uuid_params:
            continue
        for bad in BAD_UUIDS:
            values = _path_values(op)
            values.update(dict.fromkeys(uuid_params, bad))
            response = await account.request(op.method, op.url(**values), json={})
            _assert_client_error(op, response, f"id {bad!r}")
            assert response.status_code in (404, 422), f"{op.method} {op.path}: {response.status_code}"


def _bad_query_values(name: str, annotation: Any) -> list[str]:
    kinds = _unwrap(annotation)
    if name == "limit":
        return ["-1", "0", "101", "1000000000000000000000000", "ten", ""]
    if name == "cursor":
        return ["not-a-cursor!!", "e30", "x" * 600]
    if uuid.UUID in kinds:
        return ["not-a-uuid", "42"]
    if bool in kinds:
        return ["maybe", "2"]
    if int in kinds:
        return ["many", "1e400", "99999999999999999999999999"]
    if datetime in kinds:
        return ["yesterday", "2026-13-45T99:00:00"]
    if any(isinstance(k, type) and issubclass(k, Enum) for k in kinds):
        return ["no-such-value"]
    return []


async def test_bad_query_parameters_are_refused(app: FastAPI, account: Account) -> None:
    for op in _operations(app):
        if op.method != "GET":
            continue
        url = op.url(**_path_values(op))
        for name, annotation in op.query_params.items():
            for value in _bad_query_values(name, annotation):
                response = await account.get(url, params={name: value})
                _assert_client_error(op, response, f"?{name}={value[:40]}")


async def test_odd_text_in_query_parameters_never_breaks_a_route(app: FastAPI, account: Account) -> None:
    # A NUL character, bytes that are not UTF-8, a long non-ASCII string.
    odd_values = ["nul%00byte", "%FF%FE", "%C3%A9" * 2000]
    for op in _operations(app):
        if op.method != "GET":
            continue
        url = op.url(**_path_values(op))
        for name, annotation in op.query_params.items():
            if str not in _unwrap(annotation):
                continue
            for value in odd_values:
                response = await account.get(f"{url}?{name}={value}")
                assert response.status_code < 500, f"GET {op.path}?{name}={value[:20]}: {response.text[:300]}"
                if response.status_code >= 400:
                    assert_error(response, response.status_code)


async def test_odd_text_in_json_strings_never_breaks_a_route(app: FastAPI, account: Account) -> None:
    for op in _operations(app):
        model = _body_model(op)
        if not _takes_json_body(op) or model is None:
            continue
        url = op.url(**_path_values(op))
        for field_name, field in model.model_fields.items():
            if str not in _unwrap(field.annotation):
                continue
            response = await account.request(op.method, url, json={field.alias or field_name: "nul\x00byte"})
            assert response.status_code < 500, f"{op.method} {op.path} {field_name}: {response.text[:300]}"


async def test_an_oversize_body_is_refused_everywhere(
    app: FastAPI, account: Account, settings: Settings
) -> None:
    oversize = b"[" + b"1," * ((settings.max_body_bytes + 4096) // 2) + b"1]"
    assert len(oversize) > settings.max_body_bytes
    for op in _operations(app):
        # File uploads have their own, larger limits (tests/api/test_media.py).
        if op.method not in {"POST", "PUT", "PATCH"} or op.form_body:
            continue
        response = await account.http.request(
            op.method,
            op.url(**_path_values(op)),
            content=oversize,
            headers={**account.headers, "content-type": "application/json"},
        )
        assert_error(response, 413, "payload_too_large")


async def test_an_oversize_body_without_a_declared_length_is_refused(
    app: FastAPI, account: Account, settings: Settings
) -> None:
    chunk = b" " * 65536

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(settings.max_body_bytes // len(chunk) + 3):
            yield chunk

    for op in _operations(app):
        if not _takes_json_body(op):
            continue
        response = await account.http.request(
            op.method,
            op.url(**_path_values(op)),
            content=stream(),
            headers={**account.headers, "content-type": "application/json"},
        )
        assert "content-length" not in response.request.headers
        assert_error(response, 413, "payload_too_large")


async def test_every_private_route_needs_a_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    client.cookies.clear()
    for op in _operations(app):
        url = op.url(**_path_values(op, "slug" if "tenant_slug" in op.path_params else None))
        response = await client.request(op.method, url, json={} if _takes_json_body(op) else None)
        if op.path in PUBLIC_PATHS:
            # Signing out without a token is a harmless no-op; everything else public refuses the request.
            assert response.status_code < 500, f"{op.method} {op.path}: {response.text[:300]}"
            if op.path != "/api/auth/logout":
                _assert_client_error(op, response, "no token")
        else:
            assert response.status_code == 401, f"{op.method} {op.path}: {response.status_code}"
            assert_error(response, 401)
            bogus = await client.request(op.method, url, headers={"Authorization": "Bearer nonsense"})
            assert_error(bogus, 401)


async def test_an_unknown_api_route_is_a_json_404(client: httpx.AsyncClient, account: Account) -> None:
    for method, path in [
        ("GET", "/api/nothing-here"),
        ("POST", "/api/nothing/here"),
        ("DELETE", "/api/users/x/y/z"),
        ("GET", "/api/"),
    ]:
        assert_error(await client.request(method, path), 404, "not_found")
        assert_error(await account.request(method, path), 404, "not_found")
    wrong_method = await account.request("PUT", "/api/auth/me")
    _assert_client_error(
        Operation("PUT", "/api/auth/me", {}, {}, None, False), wrong_method, "a method the route lacks"
    )
