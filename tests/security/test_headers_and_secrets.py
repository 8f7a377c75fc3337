"""Security headers on every response, the refresh cookie's flags, and secrets that never leave: no password,
password hash, refresh token (outside the response that issues it), token hash, number access token, app
secret or encrypted credential in any response body or log line."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from conftest import PAYLOADS, TEST_APP_SECRET, Backend, make_settings
from wadesk.app import create_app
from wadesk.config import Settings

API_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}
NUMBER_ACCESS_TOKEN = "EAAG-number-access-token-" + "q" * 40
NUMBER_APP_SECRET = "number-app-secret-" + "z" * 24
PASSWORD = "correct horse battery staple"


def _settings(backend: Backend, tmp_path: Path, **overrides: Any) -> Settings:
    return make_settings(
        backend, tmp_path, jwt_secret=secrets.token_urlsafe(48), rate_limit_enabled=False, **overrides
    )


@pytest_asyncio.fixture(loop_scope="session")
async def production_client(
    backend: Backend, settings: Settings, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(
        _settings(backend, tmp_path, env="production", public_url="https://desk.example")
    )
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=120):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50004))
        async with httpx.AsyncClient(transport=transport, base_url="https://desk.example") as http:
            yield http


async def test_api_responses_carry_the_security_headers(production_client: httpx.AsyncClient) -> None:
    for response in (
        await production_client.get("/api/health/live"),
        await production_client.get("/api/conversations"),  # 401
        await production_client.get("/api/no-such-route"),  # 404
        await production_client.post("/api/auth/login", content=b"{not json"),  # 400
        await production_client.post("/api/webhook", content=b"{}"),  # 401, a delivery without a signature
    ):
        for name, value in API_HEADERS.items():
            assert response.headers.get(name) == value, (response.url, name, response.headers)
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "camera=()" in response.headers["permissions-policy"]


async def test_the_refresh_cookie_is_httponly_strict_secure_and_scoped_to_auth(
    production_client: httpx.AsyncClient,
) -> None:
    response = await production_client.post(
        "/api/auth/register",
        json={
            "companyName": "Cookie Co",
            "name": "Owner",
            "email": "cookie@example.com",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    cookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    refresh = cookie["wadesk_refresh"]
    assert refresh.value == response.json()["refreshToken"]
    assert refresh["httponly"] is True
    assert refresh["secure"] is True
    assert refresh["samesite"].lower() == "strict"
    assert refresh["path"] == "/api/auth"
    assert int(refresh["max-age"]) > 0
    logout = await production_client.post("/api/auth/logout", json={"refreshToken": refresh.value})
    cleared = SimpleCookie()
    cleared.load(logout.headers["set-cookie"])
    assert cleared["wadesk_refresh"].value == ""
    assert cleared["wadesk_refresh"]["path"] == "/api/auth"


def _signed(body: bytes, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def _stored_secrets(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT password_hash FROM users WHERE password_hash IS NOT NULL "
                    "UNION ALL SELECT token_hash FROM refresh_tokens "
                    "UNION ALL SELECT access_token_encrypted FROM phone_numbers "
                    "UNION ALL SELECT app_secret_encrypted FROM phone_numbers WHERE app_secret_encrypted IS NOT NULL"
                )
            )
            return [str(value) for (value,) in rows]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_no_secret_reaches_a_response_body_or_a_log_line(
    backend: Backend, settings: Settings, tmp_path: Path, capfd: pytest.CaptureFixture[str], environment: str
) -> None:
    capfd.readouterr()
    app_settings = _settings(backend, tmp_path, env=environment, log_json=environment == "production")
    application = create_app(app_settings)  # logging is configured here, onto the captured stderr
    responses: list[httpx.Response] = []
    issued_refresh_tokens: list[str] = []
    access_tokens: list[str] = []

    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=120):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50005))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:

            async def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
                response = await http.request(method, url, **kwargs)
                responses.append(response)
                return response

            registered = await call(
                "POST",
                "/api/auth/register",
                json={"companyName": "Secret Co", "name": "Owner", "email": "secret@example.com",
                      "password": PASSWORD},
            )  # fmt: skip
            assert registered.status_code == 201, registered.text
            await call(
                "POST", "/api/auth/login", json={"email": "secret@example.com", "password": "wrong " * 3}
            )
            login = await call(
                "POST", "/api/auth/login", json={"email": "secret@example.com", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            issued_refresh_tokens += [registered.json()["refreshToken"], login.json()["refreshToken"]]
            refreshed = await call(
                "POST", "/api/auth/refresh", json={"refreshToken": login.json()["refreshToken"]}
            )
            assert refreshed.status_code == 200, refreshed.text
            issued_refresh_tokens.append(refreshed.json()["refreshToken"])
            # Reusing a rotated token is refused (and revokes its family); the refusal must not echo it.
            reused = await call(
                "POST", "/api/auth/refresh", json={"refreshToken": login.json()["refreshToken"]}
            )
            assert reused.status_code == 401
            admin = await call(
                "POST", "/api/auth/login", json={"email": "secret@example.com", "password": PASSWORD}
            )
            issued_refresh_tokens.append(admin.json()["refreshToken"])
            token = admin.json()["accessToken"]
            access_tokens += [registered.json()["accessToken"], login.json()["accessToken"], token]
            auth = {"Authorization": f"Bearer {token}"}

            payload = json.loads((PAYLOADS / "inbound_text.json").read_text())
            metadata = payload["entry"][0]["changes"][0]["value"]["metadata"]
            created = await call(
                "POST",
                "/api/phone-numbers",
                headers=auth,
                json={"wabaId": payload["entry"][0]["id"], "phoneNumberId": metadata["phone_number_id"],
                      "displayPhoneNumber": metadata["display_phone_number"], "accessToken": NUMBER_ACCESS_TOKEN,
                      "appSecret": NUMBER_APP_SECRET},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            number_id = created.json()["id"]
            await call("GET", "/api/phone-numbers", headers=auth)
            await call("GET", f"/api/phone-numbers/{number_id}", headers=auth)
            await call("PATCH", f"/api/phone-numbers/{number_id}", headers=auth,
                       json={"accessToken": NUMBER_ACCESS_TOKEN + "-rotated"})  # fmt: skip
            await call("POST", "/api/phone-numbers", headers=auth, json={"accessToken": NUMBER_ACCESS_TOKEN})
            body = json.dumps(payload).encode()
            assert (
                await call("POST", "/api/webhook", content=body, headers=_signed(body, TEST_APP_SECRET))
            ).is_success
            bad = await call("POST", "/api/webhook", content=body, headers=_signed(body, "not-the-secret"))
            assert bad.status_code == 401
            for _ in range(100):
                listed = await http.get("/api/conversations", headers=auth)
                if listed.json().get("items"):
                    break
                await asyncio.sleep(0.05)
            for path in ("/api/auth/me", "/api/users", "/api/conversations", "/api/webhook/events"):
                await call("GET", path, headers=auth)
            await call("POST", "/api/auth/logout", json={"refreshToken": admin.json()["refreshToken"]})

    stored = await _stored_secrets(backend.url)
    assert len(stored) >= 5  # hashes of users and tokens, and the number's two encrypted credentials
    settings_secrets = [
        app_settings.jwt_secret,
        app_settings.encryption_key,
        base64.b64decode(app_settings.encryption_key or "").hex(),
        TEST_APP_SECRET,
    ]
    never = [PASSWORD, NUMBER_ACCESS_TOKEN, NUMBER_APP_SECRET, *stored, *settings_secrets]
    captured = capfd.readouterr()
    logs = captured.err + captured.out
    assert '"path": "/api/auth/login"' in logs or "/api/auth/login" in logs, (
        "the request log was not captured"
    )
    for secret in never:
        assert secret
        assert secret not in logs, f"a secret reached the logs: {secret[:12]}…"
        for response in responses:
            assert secret not in response.text, f"{response.request.url} answered a secret: {secret[:12]}…"
    for secret in [*issued_refresh_tokens, *access_tokens]:
        assert secret not in logs, f"a token reached the logs: {secret[:12]}…"
    issuing = {"/api/auth/register", "/api/auth/login", "/api/auth/refresh"}
    for response in responses:
        if response.request.url.path in issuing:
            continue
        for secret in issued_refresh_tokens:
            assert secret not in response.text, f"{response.request.url} answered a refresh token"


async def test_nul_characters_are_refused_as_bad_input_never_a_server_error(
    client: httpx.AsyncClient,
) -> None:
    # PostgreSQL stores no NUL in text or JSON; such input must be a 4xx before it reaches a query.
    for url in ("/api/conversations?search=%00x", "/api/webhook/a%00b"):
        response = await client.get(url)
        assert response.status_code == 400, (url, response.text)
        assert response.json()["error"]["code"] == "bad_request"
        assert response.headers["x-content-type-options"] == "nosniff"
    refused = await client.post(
        "/api/auth/register",
        json={
            "companyName": "Nul\u0000Co",
            "name": "Owner",
            "email": "nul@example.com",
            "password": PASSWORD,
        },
    )
    assert refused.status_code == 422, refused.text
    assert "NUL" in refused.json()["error"]["message"]
