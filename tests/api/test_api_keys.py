"""API keys: shown once and stored hashed, accepted as `Authorization: Bearer wdk_…`, limited to their
scopes, rotated and revoked by administrators, and invisible to other companies."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from pipeline_kit import rows

from conftest import Account, assert_error, login, register
from wadesk.api_keys.models import ApiKey
from wadesk.messages.models import Message


def as_key(http: httpx.AsyncClient, key: str) -> Account:
    return Account(http, key, "", {}, "")


async def create_key(admin: Account, *scopes: str, name: str = "ERP") -> dict[str, Any]:
    response = await admin.post("/api/api-keys", json={"name": name, "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_key_is_shown_once_and_stored_only_as_its_hash(
    app: FastAPI, demo: dict[str, Account]
) -> None:
    created = await create_key(demo["admin"], "read")
    key = created["key"]
    assert key.startswith("wdk_")
    assert len(key) > 40
    assert created["prefix"] == key[:12]
    assert created["createdById"] == demo["admin"].user["id"]
    listed = (await demo["admin"].get("/api/api-keys")).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert "key" not in (await demo["admin"].get(f"/api/api-keys/{created['id']}")).json()
    [stored] = await rows(app, ApiKey, ApiKey.id == uuid.UUID(created["id"]))
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(stored.__dict__)


async def test_scopes_decide_what_a_key_may_do(app: FastAPI, demo: dict[str, Account]) -> None:
    http = demo["admin"].http
    reader = as_key(http, (await create_key(demo["admin"], "read"))["key"])
    sender = as_key(http, (await create_key(demo["admin"], "send"))["key"])
    boss = as_key(http, (await create_key(demo["admin"], "admin"))["key"])
    send = {"phoneNumberId": "1234567890", "to": "+15551234001", "type": "text", "text": "From the ERP"}

    assert (await reader.get("/api/conversations")).status_code == 200
    assert (await reader.get("/api/auth/me")).json()["user"]["email"] == "admin@demo.com"
    error = assert_error(await reader.post("/api/messages", json=send), 403, "api_key_scope_missing")
    assert error["details"]["required"] == "send"
    assert_error(
        await reader.post("/api/contacts", json={"phone": "+15551239000"}), 403, "api_key_scope_missing"
    )

    response = await sender.post("/api/messages", json=send)
    assert response.status_code == 202, response.text
    assert response.json()["senderUserId"] == demo["admin"].user["id"]
    assert_error(await sender.get("/api/conversations"), 403, "api_key_scope_missing")

    assert (await boss.get("/api/audit")).status_code == 200
    assert (await boss.post("/api/contacts", json={"phone": "+15551239001"})).status_code == 201
    assert (await boss.post("/api/messages", json=send)).status_code == 202
    messages = await rows(app, Message, Message.body_text == "From the ERP")
    assert len(messages) == 2


async def test_admin_routes_need_the_admin_scope_even_for_reading(demo: dict[str, Account]) -> None:
    reader = as_key(demo["admin"].http, (await create_key(demo["admin"], "read"))["key"])
    assert_error(await reader.get("/api/audit"), 403, "admin_required")
    assert_error(await reader.get("/api/tenant"), 403, "admin_required")


async def test_keys_are_managed_by_signed_in_admins_only(demo: dict[str, Account]) -> None:
    assert_error(await demo["agent"].post("/api/api-keys", json={"name": "x", "scopes": ["read"]}), 403)
    assert_error(await demo["agent"].get("/api/api-keys"), 403)
    boss = as_key(demo["admin"].http, (await create_key(demo["admin"], "admin"))["key"])
    response = await boss.post("/api/api-keys", json={"name": "child", "scopes": ["read"]})
    assert_error(response, 403, "api_key_not_allowed")
    assert_error(await demo["admin"].post("/api/api-keys", json={"name": "x", "scopes": ["write"]}), 422)
    assert_error(await demo["admin"].post("/api/api-keys", json={"name": "x", "scopes": []}), 422)


async def test_revoked_and_unknown_keys_are_refused(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    created = await create_key(admin, "read")
    key = as_key(admin.http, created["key"])
    assert (await key.get("/api/contacts")).status_code == 200
    used = (await admin.get(f"/api/api-keys/{created['id']}")).json()
    assert used["lastUsedAt"] is not None
    assert (await admin.delete(f"/api/api-keys/{created['id']}")).status_code == 204
    assert_error(await key.get("/api/contacts"), 401, "invalid_api_key")
    assert (await admin.get(f"/api/api-keys/{created['id']}")).json()["revokedAt"] is not None
    assert_error(await as_key(admin.http, "wdk_" + "x" * 43).get("/api/contacts"), 401, "invalid_api_key")


async def test_rotation_replaces_the_secret_at_once(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    created = await create_key(admin, "read")
    response = await admin.post(f"/api/api-keys/{created['id']}/rotate")
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["key"] != created["key"]
    assert rotated["id"] == created["id"]
    assert_error(await as_key(admin.http, created["key"]).get("/api/contacts"), 401, "invalid_api_key")
    assert (await as_key(admin.http, rotated["key"]).get("/api/contacts")).status_code == 200
    renamed = await admin.patch(f"/api/api-keys/{created['id']}", json={"name": "ERP (2026)"})
    assert renamed.json()["name"] == "ERP (2026)"
    await admin.delete(f"/api/api-keys/{created['id']}")
    assert_error(await admin.post(f"/api/api-keys/{created['id']}/rotate"), 422, "api_key_revoked")
    actions = [
        a["action"] for a in (await admin.get("/api/audit", params={"action": "api_key."})).json()["items"]
    ]
    assert actions == ["api_key.revoked", "api_key.rotated", "api_key.created"]


async def test_a_key_stops_with_its_deactivated_administrator(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    owner = await register(client, "Key Owner Co")
    second = await owner.post(
        "/api/users",
        json={
            "email": f"second-{uuid.uuid4().hex[:6]}@example.com",
            "name": "Second",
            "password": "correct horse battery",
            "role": "admin",
        },
    )
    created = await create_key(owner, "admin")
    key = as_key(client, created["key"])
    assert (await key.get("/api/users")).status_code == 200
    second_admin = await login(client, second.json()["email"], "correct horse battery")
    await second_admin.patch(f"/api/users/{owner.user['id']}", json={"isActive": False})
    assert_error(await key.get("/api/users"), 401, "invalid_api_key")


async def test_another_companys_keys_are_invisible(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    created = await create_key(demo["admin"], "read")
    other = await register(client, "Other Keys Co")
    assert_error(await other.get(f"/api/api-keys/{created['id']}"), 404)
    assert_error(await other.patch(f"/api/api-keys/{created['id']}", json={"name": "mine"}), 404)
    assert_error(await other.post(f"/api/api-keys/{created['id']}/rotate"), 404)
    assert_error(await other.delete(f"/api/api-keys/{created['id']}"), 404)
    assert (await other.get("/api/api-keys")).json() == []
    # The key itself only ever sees its own company's data.
    key = as_key(client, created["key"])
    assert (await key.get("/api/auth/me")).json()["tenant"]["id"] == demo["admin"].tenant_id
