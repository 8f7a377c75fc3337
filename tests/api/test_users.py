"""Managing a company's users: administrators add and change them; agents change only their own name and
availability; a company always keeps an active administrator."""

from __future__ import annotations

import asyncio

import httpx

from conftest import Account, assert_error, login

STRONG_PASSWORD = "correct horse battery"


async def _create_agent(
    admin: Account, email: str = "new.agent@demo.com", **fields: object
) -> dict[str, object]:
    body = {"email": email, "name": "New Agent", "password": STRONG_PASSWORD, **fields}
    response = await admin.post("/api/users", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_everyone_in_the_company_can_list_its_users(demo: dict[str, Account]) -> None:
    for account in demo.values():
        response = await account.get("/api/users")
        assert response.status_code == 200
        users = {u["email"]: u for u in response.json()}
        assert set(users) == {"admin@demo.com", "agent@demo.com"}
        assert users["admin@demo.com"]["role"] == "admin"
        assert users["agent@demo.com"]["role"] == "agent"
        for user in users.values():
            assert set(user) >= {"id", "email", "name", "role", "tenantId", "isActive", "availability"}
            assert "passwordHash" not in user


async def test_an_admin_adds_an_agent_who_can_then_sign_in(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    created = await _create_agent(demo["admin"], email="New.Agent@Demo.com")
    assert created["email"] == "new.agent@demo.com"
    assert created["role"] == "agent"
    assert created["isActive"] is True
    assert created["tenantId"] == demo["admin"].tenant_id
    assert STRONG_PASSWORD not in str(created)

    fetched = await demo["admin"].get(f"/api/users/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["email"] == "new.agent@demo.com"
    signed_in = await login(client, "new.agent@demo.com", STRONG_PASSWORD)
    assert signed_in.user["role"] == "agent"
    assert signed_in.tenant_id == demo["admin"].tenant_id


async def test_an_admin_can_add_another_admin(demo: dict[str, Account]) -> None:
    created = await _create_agent(demo["admin"], email="second.admin@demo.com", role="admin")
    assert created["role"] == "admin"


async def test_a_new_user_needs_a_strong_password_and_a_free_email(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    weak = await admin.post(
        "/api/users", json={"email": "x@demo.com", "name": "X", "password": "password123"}
    )
    assert_error(weak, 422, "weak_password")
    taken = await admin.post(
        "/api/users", json={"email": "AGENT@demo.com", "name": "X", "password": STRONG_PASSWORD}
    )
    assert_error(taken, 409, "email_taken")
    bad_role = await admin.post(
        "/api/users", json={"email": "y@demo.com", "name": "Y", "password": STRONG_PASSWORD, "role": "owner"}
    )
    assert_error(bad_role, 422, "validation_error")


async def test_an_admin_changes_a_users_role_name_and_activation(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    agent_id = demo["agent"].user["id"]
    promoted = await admin.patch(f"/api/users/{agent_id}", json={"role": "admin", "name": "Sam Lead"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "admin"
    assert promoted.json()["name"] == "Sam Lead"
    # The new role applies at once, without a new token.
    created = await demo["agent"].post(
        "/api/users", json={"email": "by.sam@demo.com", "name": "By Sam", "password": STRONG_PASSWORD}
    )
    assert created.status_code == 201, created.text

    demoted = await admin.patch(f"/api/users/{agent_id}", json={"role": "agent"})
    assert demoted.json()["role"] == "agent"
    deactivated = await admin.patch(f"/api/users/{agent_id}", json={"isActive": False})
    assert deactivated.json()["isActive"] is False
    reactivated = await admin.patch(f"/api/users/{agent_id}", json={"isActive": True})
    assert reactivated.json()["isActive"] is True


async def test_an_agent_cannot_add_users(demo: dict[str, Account]) -> None:
    response = await demo["agent"].post(
        "/api/users", json={"email": "sneaky@demo.com", "name": "Sneaky", "password": STRONG_PASSWORD}
    )
    assert_error(response, 403, "admin_required")
    emails = {u["email"] for u in (await demo["admin"].get("/api/users")).json()}
    assert "sneaky@demo.com" not in emails


async def test_an_agent_cannot_change_roles_activation_or_other_users(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    own_id = agent.user["id"]
    admin_id = demo["admin"].user["id"]
    for user_id, change in [
        (own_id, {"role": "admin"}),
        (own_id, {"isActive": False}),
        (own_id, {"name": "Sam", "role": "admin"}),
        (admin_id, {"role": "agent"}),
        (admin_id, {"isActive": False}),
        (admin_id, {"name": "Renamed by an agent"}),
        (admin_id, {"availability": "away"}),
    ]:
        response = await agent.patch(f"/api/users/{user_id}", json=change)
        assert response.status_code == 403, (user_id, change, response.text)
        assert_error(response, 403, "admin_required")

    users = {u["id"]: u for u in (await demo["admin"].get("/api/users")).json()}
    assert users[own_id]["role"] == "agent"
    assert users[own_id]["isActive"] is True
    assert users[admin_id]["role"] == "admin"
    assert users[admin_id]["name"] == "Alex Admin"
    assert users[admin_id]["availability"] == "online"


async def test_an_agent_may_change_their_own_name_and_availability(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    response = await agent.patch(
        f"/api/users/{agent.user['id']}", json={"name": "Samantha Agent", "availability": "away"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Samantha Agent"
    assert response.json()["availability"] == "away"
    assert (await agent.get("/api/auth/me")).json()["user"]["name"] == "Samantha Agent"


async def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    admin_id = admin.user["id"]
    assert_error(await admin.patch(f"/api/users/{admin_id}", json={"role": "agent"}), 422, "last_admin")
    assert_error(await admin.patch(f"/api/users/{admin_id}", json={"isActive": False}), 422, "last_admin")
    me = (await admin.get("/api/auth/me")).json()["user"]
    assert me["role"] == "admin"

    # A deactivated admin does not count as the company's administrator.
    other = await _create_agent(admin, email="dormant.admin@demo.com", role="admin")
    assert (await admin.patch(f"/api/users/{other['id']}", json={"isActive": False})).status_code == 200
    assert_error(await admin.patch(f"/api/users/{admin_id}", json={"role": "agent"}), 422, "last_admin")

    # With a second active admin, the first may step down.
    assert (await admin.patch(f"/api/users/{other['id']}", json={"isActive": True})).status_code == 200
    stepped_down = await admin.patch(f"/api/users/{admin_id}", json={"role": "agent"})
    assert stepped_down.status_code == 200, stepped_down.text
    assert stepped_down.json()["role"] == "agent"


async def test_an_unknown_user_is_not_found(demo: dict[str, Account]) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(await demo["admin"].get(f"/api/users/{missing}"), 404, "not_found")
    assert_error(await demo["admin"].patch(f"/api/users/{missing}", json={"name": "X"}), 404, "not_found")


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    remaining = demo["admin"]
    for round_ in range(4):
        await _create_agent(remaining, email=f"admin-{round_}@demo.com", role="admin")
        other = await login(client, f"admin-{round_}@demo.com", STRONG_PASSWORD)
        responses = await asyncio.gather(
            remaining.patch(f"/api/users/{other.user['id']}", json={"role": "agent"}),
            other.patch(f"/api/users/{remaining.user['id']}", json={"role": "agent"}),
        )
        assert sorted(r.status_code for r in responses) in ([200, 403], [200, 422]), [
            r.text for r in responses
        ]
        if responses[1].status_code == 200:
            remaining = other
        admins = [u for u in (await remaining.get("/api/users")).json() if u["role"] == "admin"]
        assert [a["id"] for a in admins] == [remaining.user["id"]]
