"""The audit log: administrators read who did what and when, filtered and paged; nobody can change it."""

from __future__ import annotations

import httpx

from conftest import Account, assert_error, login, register
from wadesk.campaigns.service import _PAST
from wadesk.ops.models import AuditAction


async def test_sign_ins_and_role_changes_are_recorded(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    admin, agent = demo["admin"], demo["agent"]
    response = await admin.patch(f"/api/users/{agent.user['id']}", json={"role": "admin"})
    assert response.status_code == 200, response.text
    entries = (await admin.get("/api/audit")).json()["items"]
    assert entries[0]["action"] == "user.updated"
    assert entries[0]["actor"]["id"] == admin.user["id"]
    assert entries[0]["targetId"] == agent.user["id"]
    assert entries[0]["details"]["after"]["role"] == "admin"
    logins = (await admin.get("/api/audit", params={"action": "auth.login"})).json()["items"]
    assert {e["actor"]["email"] for e in logins} == {"admin@demo.com", "agent@demo.com"}
    assert all(e["ip"] for e in logins)
    mine = (await admin.get("/api/audit", params={"actorId": agent.user["id"]})).json()["items"]
    assert {e["action"] for e in mine} == {"auth.login"}
    by_prefix = (await admin.get("/api/audit", params={"action": "auth."})).json()["items"]
    assert len(by_prefix) == len(logins)


async def test_the_log_pages_newest_first(client: httpx.AsyncClient, demo: dict[str, Account]) -> None:
    for _ in range(3):
        await login(client, "agent@demo.com", "agent123")
    admin = demo["admin"]
    first = (await admin.get("/api/audit", params={"limit": 2})).json()
    second = (await admin.get("/api/audit", params={"limit": 2, "cursor": first["nextCursor"]})).json()
    stamps = [e["createdAt"] for e in first["items"] + second["items"]]
    assert stamps == sorted(stamps, reverse=True)
    assert not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}
    everything = (
        await admin.get("/api/audit", params={"since": "2000-01-01T00:00:00Z", "limit": 100})
    ).json()
    assert len(everything["items"]) >= 5
    assert (await admin.get("/api/audit", params={"until": "2000-01-01T00:00:00Z"})).json()["items"] == []


async def test_the_log_is_for_admins_of_the_company_and_cannot_be_changed(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    assert_error(await demo["agent"].get("/api/audit"), 403, "admin_required")
    other = await register(client, "Audit Other Co")
    entries = (await other.get("/api/audit")).json()["items"]
    assert {e["action"] for e in entries} == {"tenant.registered"}
    entry = (await demo["admin"].get("/api/audit")).json()["items"][0]
    for method in ("PUT", "PATCH", "DELETE"):
        response = await demo["admin"].request(method, f"/api/audit/{entry['id']}", json={})
        assert response.status_code in (404, 405)
        response = await demo["admin"].request(method, "/api/audit", json={})
        assert response.status_code in (404, 405)
    still = (await demo["admin"].get("/api/audit", params={"limit": 100})).json()["items"]
    assert entry["id"] in {e["id"] for e in still}


async def test_the_action_catalogue_lists_every_action_the_log_can_hold_sorted(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    response = await demo["admin"].get("/api/audit/actions")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"actions"}
    actions = body["actions"]
    # Writers can only pass an AuditAction (record_audit's type), so the enum is the whole catalogue.
    assert actions == sorted(action.value for action in AuditAction)
    assert {"auth.login", "campaign.audience_uploaded", "webhook.secret_rotated"} <= set(actions)
    # Campaign transitions name their action from the past tense of the lifecycle step.
    assert {f"campaign.{past}" for past in _PAST.values()} <= set(actions)
    recorded = (await demo["admin"].get("/api/audit", params={"limit": 100})).json()["items"]
    assert {e["action"] for e in recorded} <= set(actions)


async def test_the_action_catalogue_is_for_admins(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    assert_error(await demo["agent"].get("/api/audit/actions"), 403, "admin_required")
    assert_error(await client.get("/api/audit/actions"), 401)
