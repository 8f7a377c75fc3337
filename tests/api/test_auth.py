"""Sign-up, sign-in, token rotation and the ways an access token stops working."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from http.cookies import SimpleCookie
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from conftest import Account, assert_error, login, register
from wadesk.config import Settings
from wadesk.db.session import unit_of_work
from wadesk.kit.tokens import TokenSigner
from wadesk.tenants.models import Tenant

STRONG_PASSWORD = "correct horse battery"


def _registration(**overrides: Any) -> dict[str, Any]:
    body = {
        "companyName": "Acme Corp",
        "name": "Ada Owner",
        "email": f"ada-{uuid.uuid4().hex[:8]}@example.com",
        "password": STRONG_PASSWORD,
    }
    body.update(overrides)
    return body


def _refresh_cookie(response: httpx.Response) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie


def _set_cookie_header(response: httpx.Response) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith("wadesk_refresh=")]
    assert len(headers) == 1, response.headers
    return headers[0]


def _claims(account: Account, settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": account.user["id"],
        "tid": account.tenant_id,
        "role": account.user["role"],
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def _me_with(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


async def _set_tenant_status(app: FastAPI, tenant_id: str, status: str) -> None:
    async with unit_of_work(app.state.runtime.sessionmaker) as session:
        await session.execute(update(Tenant).where(Tenant.id == uuid.UUID(tenant_id)).values(status=status))


# --- registration -----------------------------------------------------------------------------------------


async def test_registering_creates_a_company_and_signs_its_administrator_in(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = _registration(email="Ada.Owner@Example.com")
    response = await client.post("/api/auth/register", json=body)

    assert response.status_code == 201, response.text
    data = response.json()
    assert set(data) >= {"accessToken", "refreshToken", "tokenType", "expiresIn", "user", "tenant"}
    assert data["tokenType"] == "bearer"
    assert data["expiresIn"] == settings.access_token_ttl_seconds
    assert set(data["user"]) >= {"id", "email", "name", "role", "tenantId"}
    assert data["user"]["email"] == "ada.owner@example.com"
    assert data["user"]["name"] == "Ada Owner"
    assert data["user"]["role"] == "admin"
    assert data["tenant"]["id"] == data["user"]["tenantId"]
    assert data["tenant"]["name"] == "Acme Corp"
    assert data["tenant"]["slug"] == "acme-corp"
    assert data["tenant"]["status"] == "active"
    assert "passwordHash" not in response.text
    assert STRONG_PASSWORD not in response.text

    me = await _me_with(client, data["accessToken"])
    assert me.status_code == 200
    assert me.json()["user"]["id"] == data["user"]["id"]


async def test_companies_with_the_same_name_get_distinct_slugs(client: httpx.AsyncClient) -> None:
    first = await client.post("/api/auth/register", json=_registration())
    second = await client.post("/api/auth/register", json=_registration())
    assert first.json()["tenant"]["slug"] == "acme-corp"
    assert second.json()["tenant"]["slug"] == "acme-corp-2"
    assert first.json()["tenant"]["id"] != second.json()["tenant"]["id"]


WEAK_PASSWORDS = {
    "short1!": "weak_password",
    "123456789": "weak_password",
    "password123": "weak_password",
    "PassWord123": "weak_password",
    "1234567890": "weak_password",
    "passwordpassword": "weak_password",
    "": "validation_error",
}


async def test_weak_common_and_short_passwords_are_refused(client: httpx.AsyncClient) -> None:
    for password, code in WEAK_PASSWORDS.items():
        response = await client.post("/api/auth/register", json=_registration(password=password))
        assert_error(response, 422, code)


async def test_a_password_of_exactly_the_minimum_length_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/register", json=_registration(password="kq7-vz2-m9"))
    assert response.status_code == 201, response.text


INVALID_REGISTRATIONS = [
    {"companyName": "Acme", "name": "A", "email": "not-an-email", "password": STRONG_PASSWORD},
    {"name": "A", "email": "a@example.com", "password": STRONG_PASSWORD},
    {"companyName": "", "name": "A", "email": "a@example.com", "password": STRONG_PASSWORD},
    {"companyName": "Acme", "name": "A", "email": "a@example.com", "password": STRONG_PASSWORD, "role": "x"},
]


async def test_an_invalid_registration_is_a_validation_error(client: httpx.AsyncClient) -> None:
    for body in INVALID_REGISTRATIONS:
        assert_error(await client.post("/api/auth/register", json=body), 422, "validation_error")


async def test_an_email_already_registered_is_a_conflict_whatever_its_case(client: httpx.AsyncClient) -> None:
    await register(client, "First", "taken@example.com")
    response = await client.post("/api/auth/register", json=_registration(email="Taken@Example.COM"))
    assert_error(response, 409, "email_taken")


# --- login ------------------------------------------------------------------------------------------------


async def test_login_answers_the_token_pair_and_the_user(
    client: httpx.AsyncClient, demo: dict[str, Account], settings: Settings
) -> None:
    response = await client.post("/api/auth/login", json={"email": "ADMIN@demo.com", "password": "admin123"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) >= {"accessToken", "refreshToken", "tokenType", "expiresIn", "user"}
    assert data["tokenType"] == "bearer"
    assert data["expiresIn"] == settings.access_token_ttl_seconds
    assert data["user"] == {
        "id": demo["admin"].user["id"],
        "email": "admin@demo.com",
        "name": "Alex Admin",
        "role": "admin",
        "tenantId": demo["admin"].tenant_id,
    }
    assert data["refreshToken"] != demo["admin"].refresh_token


async def test_wrong_password_and_unknown_email_get_identical_answers(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    wrong_password = await client.post(
        "/api/auth/login", json={"email": "admin@demo.com", "password": "not-the-password"}
    )
    unknown_email = await client.post(
        "/api/auth/login", json={"email": "nobody@demo.com", "password": "not-the-password"}
    )
    assert_error(wrong_password, 401, "invalid_credentials")
    assert wrong_password.status_code == unknown_email.status_code
    assert wrong_password.json() == unknown_email.json()
    assert "set-cookie" not in wrong_password.headers
    assert "set-cookie" not in unknown_email.headers


async def test_a_deactivated_user_cannot_sign_in_and_is_told_nothing_more(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    agent_id = demo["agent"].user["id"]
    assert (await demo["admin"].patch(f"/api/users/{agent_id}", json={"isActive": False})).status_code == 200
    response = await client.post("/api/auth/login", json={"email": "agent@demo.com", "password": "agent123"})
    unknown = await client.post("/api/auth/login", json={"email": "nobody@demo.com", "password": "agent123"})
    assert_error(response, 401, "invalid_credentials")
    assert response.json() == unknown.json()


# --- refresh tokens ---------------------------------------------------------------------------------------


async def test_refreshing_rotates_the_refresh_token_and_spends_the_old_one(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    old = demo["admin"].refresh_token
    response = await client.post("/api/auth/refresh", json={"refreshToken": old})
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) >= {"accessToken", "refreshToken", "tokenType", "expiresIn", "user"}
    assert data["refreshToken"] != old
    assert data["user"]["id"] == demo["admin"].user["id"]
    assert (await _me_with(client, data["accessToken"])).status_code == 200

    again = await client.post("/api/auth/refresh", json={"refreshToken": old})
    assert_error(again, 401)


async def test_reusing_a_spent_refresh_token_revokes_its_whole_family(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    first = demo["admin"].refresh_token
    second = (await client.post("/api/auth/refresh", json={"refreshToken": first})).json()["refreshToken"]
    third = (await client.post("/api/auth/refresh", json={"refreshToken": second})).json()["refreshToken"]

    replayed = await client.post("/api/auth/refresh", json={"refreshToken": first})
    assert_error(replayed, 401, "refresh_token_reused")

    # The newest token of the family, still unused, stopped working too.
    assert_error(await client.post("/api/auth/refresh", json={"refreshToken": third}), 401)
    # Other sign-ins of the same user are other families and keep working.
    other = await login(client, "admin@demo.com", "admin123")
    assert (
        await client.post("/api/auth/refresh", json={"refreshToken": other.refresh_token})
    ).status_code == 200


async def test_two_concurrent_refreshes_with_one_token_yield_at_most_one_new_pair(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    token = demo["agent"].refresh_token
    responses = await asyncio.gather(
        *(client.post("/api/auth/refresh", json={"refreshToken": token}) for _ in range(3))
    )
    assert sorted(r.status_code for r in responses) == [200, 401, 401]


async def test_an_unknown_or_missing_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    client.cookies.clear()
    assert_error(await client.post("/api/auth/refresh", json={"refreshToken": "wrt_made-up"}), 401)
    assert_error(await client.post("/api/auth/refresh", json={}), 401)
    assert_error(await client.post("/api/auth/refresh"), 401)


async def test_the_refresh_token_is_also_set_as_a_strict_http_only_cookie_scoped_to_auth(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    response = await client.post("/api/auth/login", json={"email": "agent@demo.com", "password": "agent123"})
    header = _set_cookie_header(response)
    attributes = [part.strip().lower() for part in header.split(";")]
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/api/auth" in attributes
    assert _refresh_cookie(response)["wadesk_refresh"].value == response.json()["refreshToken"]


async def test_a_refresh_token_in_the_cookie_alone_is_enough_to_refresh(
    app: FastAPI, demo: dict[str, Account]
) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        signed_in = await browser.post(
            "/api/auth/login", json={"email": "agent@demo.com", "password": "agent123"}
        )
        first = signed_in.json()["refreshToken"]

        refreshed = await browser.post("/api/auth/refresh")
        assert refreshed.status_code == 200, refreshed.text
        second = refreshed.json()["refreshToken"]
        assert second != first
        assert _refresh_cookie(refreshed)["wadesk_refresh"].value == second

        # The cookie now holds the new token, so refreshing again works; the first one is spent.
        assert (await browser.post("/api/auth/refresh")).status_code == 200
        browser.cookies.clear()
        browser.cookies.set("wadesk_refresh", first, path="/api/auth")
        assert_error(await browser.post("/api/auth/refresh"), 401, "refresh_token_reused")


async def test_logout_revokes_the_refresh_token_and_clears_the_cookie(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    account = demo["agent"]
    response = await client.post("/api/auth/logout", json={"refreshToken": account.refresh_token})
    assert response.status_code == 204
    cookie = _refresh_cookie(response)["wadesk_refresh"]
    assert cookie.value == ""
    assert cookie["max-age"] == "0"
    assert_error(await client.post("/api/auth/refresh", json={"refreshToken": account.refresh_token}), 401)


async def test_logout_with_the_cookie_revokes_the_token_it_holds(
    app: FastAPI, demo: dict[str, Account]
) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        token = (
            await browser.post("/api/auth/login", json={"email": "agent@demo.com", "password": "agent123"})
        ).json()["refreshToken"]
        assert (await browser.post("/api/auth/logout")).status_code == 204
        assert_error(await browser.post("/api/auth/refresh", json={"refreshToken": token}), 401)


# --- /me and access tokens --------------------------------------------------------------------------------


async def test_me_answers_the_user_and_the_company(demo: dict[str, Account]) -> None:
    response = await demo["agent"].get("/api/auth/me")
    assert response.status_code == 200
    data = response.json()
    assert data["user"]["email"] == "agent@demo.com"
    assert data["user"]["role"] == "agent"
    assert data["tenant"]["slug"] == "demo-company"
    assert data["tenant"]["name"] == "Demo Company"


async def test_me_without_a_token_is_unauthenticated(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/auth/me"), 401, "not_authenticated")
    assert_error(await client.get("/api/auth/me", headers={"Authorization": "Basic YTpi"}), 401)
    assert_error(await client.get("/api/auth/me", headers={"Authorization": "Bearer"}), 401)


def _forged_tokens(account: Account, settings: Settings) -> dict[str, str]:
    assert settings.jwt_secret is not None
    secret = settings.jwt_secret
    good = _claims(account, settings)
    header_none = {"alg": "none", "typ": "JWT"}
    return {
        "wrong signature": jwt.encode(good, "another-secret-that-is-long-enough-000", algorithm="HS256"),
        "expired": jwt.encode(
            _claims(account, settings, iat=int(time.time()) - 3600, exp=int(time.time()) - 60),
            secret,
            algorithm="HS256",
        ),
        "wrong audience": jwt.encode(
            _claims(account, settings, aud="someone-else"), secret, algorithm="HS256"
        ),
        "wrong issuer": jwt.encode(_claims(account, settings, iss="someone-else"), secret, algorithm="HS256"),
        "alg none": f"{_b64(header_none)}.{_b64(good)}.",
        "other algorithm": jwt.encode(good, secret, algorithm="HS512"),
        "no tenant claim": jwt.encode(_claims(account, settings, tid=None), secret, algorithm="HS256"),
        "no expiry": jwt.encode(_claims(account, settings, exp=None), secret, algorithm="HS256"),
        "another tenant": jwt.encode(
            _claims(account, settings, tid=str(uuid.uuid4())), secret, algorithm="HS256"
        ),
        "unknown user": jwt.encode(
            _claims(account, settings, sub=str(uuid.uuid4())), secret, algorithm="HS256"
        ),
        "not a jwt": "definitely.not.a-jwt",
    }


async def test_a_well_formed_token_signed_with_the_app_secret_is_accepted(
    client: httpx.AsyncClient, demo: dict[str, Account], settings: Settings
) -> None:
    assert settings.jwt_secret is not None
    token = jwt.encode(_claims(demo["agent"], settings), settings.jwt_secret, algorithm="HS256")
    assert (await _me_with(client, token)).status_code == 200


async def test_a_forged_or_stale_access_token_is_refused(
    client: httpx.AsyncClient, demo: dict[str, Account], settings: Settings
) -> None:
    for kind, token in _forged_tokens(demo["agent"], settings).items():
        response = await _me_with(client, token)
        assert response.status_code == 401, kind
        assert_error(response, 401, "invalid_token")


async def test_an_access_token_expires_after_its_lifetime(
    client: httpx.AsyncClient, demo: dict[str, Account], settings: Settings
) -> None:
    assert settings.jwt_secret is not None
    past = TokenSigner(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience, ttl_seconds=-1)
    user = demo["admin"].user
    token = past.issue(
        user_id=uuid.UUID(user["id"]), tenant_id=uuid.UUID(user["tenantId"]), role=user["role"]
    )
    assert_error(await _me_with(client, token), 401, "invalid_token")


# --- throttling -------------------------------------------------------------------------------------------


async def test_the_sixth_failed_sign_in_for_one_account_within_a_minute_is_throttled(
    app: FastAPI, client: httpx.AsyncClient, demo: dict[str, Account], settings: Settings
) -> None:
    limit = settings.login_failures_per_account_per_minute
    for _ in range(limit):
        failed = await client.post("/api/auth/login", json={"email": "agent@demo.com", "password": "wrong-1"})
        assert_error(failed, 401, "invalid_credentials")

    throttled = await client.post("/api/auth/login", json={"email": "agent@demo.com", "password": "wrong-1"})
    assert_error(throttled, 429, "login_throttled")
    assert 0 < int(throttled.headers["retry-after"]) <= 61

    # Even the right password waits, and from another address too: the account is what is protected.
    right = await client.post("/api/auth/login", json={"email": "Agent@demo.com", "password": "agent123"})
    assert_error(right, 429, "login_throttled")
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        from_elsewhere = await elsewhere.post(
            "/api/auth/login", json={"email": "agent@demo.com", "password": "agent123"}
        )
    assert_error(from_elsewhere, 429, "login_throttled")

    # Other accounts are not affected.
    assert (await login(client, "admin@demo.com", "admin123")).token


async def test_a_successful_sign_in_resets_the_account_failure_count(
    client: httpx.AsyncClient, demo: dict[str, Account], settings: Settings
) -> None:
    for _ in range(settings.login_failures_per_account_per_minute - 1):
        await client.post("/api/auth/login", json={"email": "agent@demo.com", "password": "wrong-1"})
    await login(client, "agent@demo.com", "agent123")
    for _ in range(settings.login_failures_per_account_per_minute - 1):
        await client.post("/api/auth/login", json={"email": "agent@demo.com", "password": "wrong-1"})
    assert (await login(client, "agent@demo.com", "agent123")).token


async def test_twenty_failed_sign_ins_from_one_address_throttle_that_address(
    app: FastAPI, client: httpx.AsyncClient, demo: dict[str, Account], settings: Settings
) -> None:
    for attempt in range(settings.login_failures_per_ip_per_minute):
        failed = await client.post(
            "/api/auth/login", json={"email": f"guess-{attempt}@demo.com", "password": "wrong-1"}
        )
        assert_error(failed, 401, "invalid_credentials")

    throttled = await client.post("/api/auth/login", json={"email": "admin@demo.com", "password": "admin123"})
    assert_error(throttled, 429, "login_throttled")
    assert int(throttled.headers["retry-after"]) > 0

    transport = httpx.ASGITransport(app=app, client=("198.51.100.8", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        assert (await login(elsewhere, "admin@demo.com", "admin123")).token


async def test_a_slow_password_check_does_not_stall_other_requests(
    client: httpx.AsyncClient, demo: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wadesk.kit import passwords

    real_verify = passwords._hasher.verify

    def slow_verify(password: str, hashed: str) -> bool:
        time.sleep(0.5)  # what a production-cost Argon2 verification can take on a small machine
        return bool(real_verify(password, hashed))

    monkeypatch.setattr(passwords._hasher, "verify", slow_verify)
    signing_in = asyncio.create_task(
        client.post("/api/auth/login", json={"email": "admin@demo.com", "password": "admin123"})
    )
    longest_stall = 0.0
    while not signing_in.done():
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        longest_stall = max(longest_stall, time.perf_counter() - before)
    assert (await signing_in).status_code == 200
    assert longest_stall < 0.25, f"the event loop stalled for {longest_stall:.2f}s"


# --- accounts that stop being valid -----------------------------------------------------------------------


async def test_a_deactivated_users_access_and_refresh_tokens_stop_working(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    created = await demo["admin"].post(
        "/api/users",
        json={"email": "temp@demo.com", "name": "Temp Agent", "role": "agent", "password": STRONG_PASSWORD},
    )
    assert created.status_code == 201, created.text
    temp = await login(client, "temp@demo.com", STRONG_PASSWORD)
    assert (await temp.get("/api/auth/me")).status_code == 200

    deactivated = await demo["admin"].patch(f"/api/users/{temp.user['id']}", json={"isActive": False})
    assert deactivated.status_code == 200

    assert_error(await temp.get("/api/auth/me"), 401)
    assert_error(await temp.get("/api/conversations"), 401)
    assert_error(await client.post("/api/auth/refresh", json={"refreshToken": temp.refresh_token}), 401)


async def test_a_suspended_company_is_locked_out(
    app: FastAPI, client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    await _set_tenant_status(app, demo["admin"].tenant_id, "suspended")

    assert_error(await demo["admin"].get("/api/auth/me"), 403, "tenant_suspended")
    assert_error(await demo["agent"].get("/api/conversations"), 403, "tenant_suspended")
    signed_in = await client.post("/api/auth/login", json={"email": "admin@demo.com", "password": "admin123"})
    assert signed_in.status_code in (401, 403)
    assert signed_in.json()["error"]["code"] == "tenant_suspended"
    assert "accessToken" not in signed_in.text
    refreshed = await client.post("/api/auth/refresh", json={"refreshToken": demo["agent"].refresh_token})
    assert_error(refreshed, 401)

    other = await register(client, "Unaffected Ltd")
    assert (await other.get("/api/auth/me")).status_code == 200

    await _set_tenant_status(app, demo["admin"].tenant_id, "active")
    assert (await demo["admin"].get("/api/auth/me")).status_code == 200
