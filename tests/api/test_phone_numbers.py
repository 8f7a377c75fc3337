"""Connected WhatsApp numbers: admins manage them; their credentials are write-only and encrypted at rest."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from conftest import Account, assert_error, register
from wadesk.db.session import unit_of_work
from wadesk.kit.crypto import DecryptionError
from wadesk.phone_numbers.models import PhoneNumber

ACCESS_TOKEN = "EAAGsecretAccessToken-0123456789abcdef"
NEW_ACCESS_TOKEN = "EAAGrotatedAccessToken-fedcba9876543210"
APP_SECRET = "app-secret-4f1c2e9b7a"


def _number(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Sales line",
        "wabaId": "9876543210",
        "phoneNumberId": "5550001111",
        "displayPhoneNumber": "+1 555-000-1111",
        "verifiedName": "Demo Sales",
        "accessToken": ACCESS_TOKEN,
        "appSecret": APP_SECRET,
        "messagesPerSecond": 20,
    }
    body.update(overrides)
    return body


def _assert_no_credentials(response: httpx.Response) -> None:
    for secret in (ACCESS_TOKEN, NEW_ACCESS_TOKEN, APP_SECRET, "demo-simulator-access-token"):
        assert secret not in response.text
    assert "accessToken" not in response.text
    assert "Encrypted" not in response.text
    assert "v1:" not in response.text


async def _stored(app: FastAPI, number_id: str) -> PhoneNumber:
    async with unit_of_work(app.state.runtime.sessionmaker) as session:
        row = (
            await session.execute(select(PhoneNumber).where(PhoneNumber.id == uuid.UUID(number_id)))
        ).scalar_one()
        session.expunge(row)
        return row


async def test_an_admin_connects_lists_reads_updates_and_removes_a_number(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    created = await admin.post("/api/phone-numbers", json=_number())
    assert created.status_code == 201, created.text
    _assert_no_credentials(created)
    number = created.json()
    assert number["phoneNumberId"] == "5550001111"
    assert number["wabaId"] == "9876543210"
    assert number["displayPhoneNumber"] == "+1 555-000-1111"
    assert number["messagesPerSecond"] == 20
    assert number["status"] == "connected"
    assert number["hasAppSecret"] is True

    listed = await admin.get("/api/phone-numbers")
    assert listed.status_code == 200
    _assert_no_credentials(listed)
    assert {n["phoneNumberId"] for n in listed.json()} == {"1234567890", "5550001111"}

    fetched = await admin.get(f"/api/phone-numbers/{number['id']}")
    assert fetched.status_code == 200
    _assert_no_credentials(fetched)
    assert fetched.json() == number

    updated = await admin.patch(
        f"/api/phone-numbers/{number['id']}",
        json={"name": "Sales (EU)", "accessToken": NEW_ACCESS_TOKEN, "messagesPerSecond": 40},
    )
    assert updated.status_code == 200, updated.text
    _assert_no_credentials(updated)
    assert updated.json()["name"] == "Sales (EU)"
    assert updated.json()["messagesPerSecond"] == 40

    removed = await admin.delete(f"/api/phone-numbers/{number['id']}")
    assert removed.status_code == 204
    assert_error(await admin.get(f"/api/phone-numbers/{number['id']}"), 404)
    remaining = {n["phoneNumberId"] for n in (await admin.get("/api/phone-numbers")).json()}
    assert remaining == {"1234567890"}


async def test_agents_see_numbers_but_cannot_change_them(demo: dict[str, Account], demo_data: Any) -> None:
    agent = demo["agent"]
    listed = await agent.get("/api/phone-numbers")
    assert listed.status_code == 200
    _assert_no_credentials(listed)
    number_id = str(demo_data.number_id)
    assert_error(await agent.post("/api/phone-numbers", json=_number()), 403, "admin_required")
    assert_error(await agent.patch(f"/api/phone-numbers/{number_id}", json={"name": "x"}), 403)
    assert_error(await agent.delete(f"/api/phone-numbers/{number_id}"), 403)
    assert (await agent.get(f"/api/phone-numbers/{number_id}")).json()["name"] == "Demo support line"


async def test_credentials_are_stored_encrypted_and_bound_to_the_tenant(
    app: FastAPI, demo: dict[str, Account]
) -> None:
    admin = demo["admin"]
    number = (await admin.post("/api/phone-numbers", json=_number())).json()
    keyring = app.state.runtime.keyring
    row = await _stored(app, number["id"])

    for stored, plain in ((row.access_token_encrypted, ACCESS_TOKEN), (row.app_secret_encrypted, APP_SECRET)):
        assert stored is not None
        assert plain not in stored
        assert keyring.decrypt(stored, associated_data=admin.tenant_id) == plain
        with pytest.raises(DecryptionError):
            keyring.decrypt(stored, associated_data=str(uuid.uuid4()))

    await admin.patch(f"/api/phone-numbers/{number['id']}", json={"accessToken": NEW_ACCESS_TOKEN})
    rotated = await _stored(app, number["id"])
    assert NEW_ACCESS_TOKEN not in rotated.access_token_encrypted
    assert (
        keyring.decrypt(rotated.access_token_encrypted, associated_data=admin.tenant_id) == NEW_ACCESS_TOKEN
    )
    # Changing one credential leaves the other as it was.
    assert rotated.app_secret_encrypted == row.app_secret_encrypted


async def test_a_number_already_connected_anywhere_is_a_conflict(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    assert_error(
        await demo["admin"].post("/api/phone-numbers", json=_number(phoneNumberId="1234567890")),
        409,
        "phone_number_taken",
    )
    other_company = await register(client, "Other Company")
    assert_error(
        await other_company.post("/api/phone-numbers", json=_number(phoneNumberId="1234567890")),
        409,
        "phone_number_taken",
    )


async def test_invalid_number_details_are_refused(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    for body in (
        _number(phoneNumberId="12-34"),
        _number(wabaId=""),
        _number(accessToken="short"),
        _number(messagesPerSecond=0),
        _number(messagesPerSecond=100_000),
        _number(extra="field"),
        {k: v for k, v in _number().items() if k != "accessToken"},
    ):
        assert_error(await admin.post("/api/phone-numbers", json=body), 422, "validation_error")


async def test_removing_a_number_with_history_disables_it_and_keeps_the_history(
    demo: dict[str, Account], demo_data: Any
) -> None:
    admin = demo["admin"]
    number_id = str(demo_data.number_id)
    assert (await admin.delete(f"/api/phone-numbers/{number_id}")).status_code == 204

    kept = await admin.get(f"/api/phone-numbers/{number_id}")
    assert kept.status_code == 200
    assert kept.json()["status"] == "disabled"
    conversations = (await admin.get("/api/conversations")).json()["items"]
    assert len(conversations) == 5
    history = await admin.get("/api/conversations", params={"phoneNumberId": "1234567890", "limit": 100})
    assert history.status_code == 200, history.text
    assert len(history.json()["items"]) == 5
    messages = (await admin.get("/api/messages", params={"limit": 100})).json()["items"]
    assert len(messages) == 10

    # A disabled number sends nothing, not even inside the customer window.
    refused = await admin.post(
        "/api/messages",
        json={"phoneNumberId": "1234567890", "to": "+15551234001", "type": "text", "text": "Still there?"},
    )
    assert_error(refused, 422, "phone_number_disabled")
