"""The isolation matrix: no route lets one company read or touch another company's rows.

Every route with an id in its path is taken from the app's route table and called by company B with ids of
company A (the demo tenant). Each must answer 404 (never 403, which would confirm the id exists), and A's data
must be exactly as before. A route whose id parameter the matrix cannot fill fails the test, so a new route is
covered as soon as it exists: add its parameter to `_ids_of_company_a`.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from conftest import Account, DemoData, Operation, api_operations, assert_error, register
from wadesk.db.base import utcnow
from wadesk.db.models import Base
from wadesk.db.session import unit_of_work

NOT_TENANT_ROUTES = {"/api/events", "/api/health", "/api/health/live", "/api/health/ready", "/api/webhook"}
ID_PARAMETER = re.compile(r"(^|_)id$")

# Bodies that pass validation, so the request reaches the point where the id is looked up.
SAMPLE_BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/users/{user_id}"): {"name": "Taken over"},
    ("PATCH", "/api/phone-numbers/{number_id}"): {"name": "Taken over", "accessToken": "stolen-token-123"},
    ("PATCH", "/api/conversations/{conversation_id}"): {"status": "resolved", "assigneeId": None},
    ("POST", "/api/conversations/{conversation_id}/notes"): {"body": "Company B was here"},
    ("PATCH", "/api/conversations/{conversation_id}/notes/{note_id}"): {"body": "Edited by company B"},
    ("PUT", "/api/conversations/{conversation_id}/labels"): {"labels": ["company-b"]},
    ("POST", "/api/conversations/{conversation_id}/presence"): {"state": "typing"},
    ("PATCH", "/api/contacts/{contact_id}"): {"name": "Taken over", "blocked": True},
    ("PATCH", "/api/messages/{message_id}"): {"status": "read"},
    ("POST", "/api/templates/{template_id}/preview"): {"parameters": []},
    ("PATCH", "/api/canned-responses/{canned_id}"): {"title": "Taken over"},
    ("PATCH", "/api/campaigns/{campaign_id}"): {"name": "Taken over"},
    ("PATCH", "/api/integrations/webhooks/{webhook_id}"): {"url": "https://attacker.example/hook"},
    ("PATCH", "/api/api-keys/{key_id}"): {"name": "Taken over"},
    ("PATCH", "/api/labels/{label_id}"): {"label": "taken over", "color": "red"},
}


def _tenant_tables() -> list[Any]:
    return [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c]


async def _snapshot(app: FastAPI, tenant_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row company A owns, in every table, plus its tenant row."""
    tables: dict[str, list[dict[str, Any]]] = {}
    async with unit_of_work(app.state.runtime.sessionmaker) as session:
        for table in _tenant_tables():
            rows = await session.execute(
                select(table).where(table.c.tenant_id == tenant_id).order_by(table.c.id)
            )
            tables[table.name] = [dict(row._mapping) for row in rows]
        tenants = Base.metadata.tables["tenants"]
        tenant = await session.execute(select(tenants).where(tenants.c.id == tenant_id))
        tables["tenants"] = [dict(row._mapping) for row in tenant]
    return tables


async def _insert_rows_without_an_api(app: FastAPI, demo_data: DemoData, webhook_id: str) -> dict[str, str]:
    from wadesk.integrations.models import OutboundDelivery
    from wadesk.webhooks.models import WebhookEvent

    raw = b'{"object":"whatsapp_business_account","entry":[]}'
    async with unit_of_work(app.state.runtime.sessionmaker, demo_data.tenant_id) as session:
        event = WebhookEvent(
            tenant_id=demo_data.tenant_id,
            raw_body=raw,
            headers={},
            body_sha256=hashlib.sha256(raw).hexdigest(),
            status="processed",
            received_at=utcnow(),
            processed_at=utcnow(),
        )
        delivery = OutboundDelivery(
            tenant_id=demo_data.tenant_id,
            webhook_id=uuid.UUID(webhook_id),
            event_id=uuid.uuid4(),
            event_type="template.updated",
            body="{}",
            status="succeeded",
            attempts=1,
            next_attempt_at=None,
            delivered_at=utcnow(),
        )
        session.add_all([event, delivery])
        await session.flush()
        return {"event_id": str(event.id), "delivery_id": str(delivery.id)}


async def _created(response: httpx.Response) -> str:
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


@pytest.fixture
async def ids_of_company_a(app: FastAPI, demo: dict[str, Account], demo_data: DemoData) -> dict[str, str]:
    return await _ids_of_company_a(app, demo["admin"], demo_data)


async def _ids_of_company_a(app: FastAPI, admin: Account, demo_data: DemoData) -> dict[str, str]:
    """An id of company A for every id parameter a route may have."""
    maria = demo_data.conversations["15551234001"]
    ids = {
        "user_id": str(demo_data.agent_id),
        "number_id": str(demo_data.number_id),
        "conversation_id": str(maria),
        "message_id": str(demo_data.messages["15551234001"][-1]),
        "contact_id": str(demo_data.contacts["15551234001"]),
        "template_id": str(demo_data.templates["hello_world"]),
        # Not a route parameter: the second contact a merge names.
        "other_contact_id": str(demo_data.contacts["15551234004"]),
    }
    ids["note_id"] = await _created(
        await admin.post(f"/api/conversations/{maria}/notes", json={"body": "Call her back tomorrow"})
    )
    ids["canned_id"] = await _created(
        await admin.post(
            "/api/canned-responses", json={"shortCode": "thanks", "title": "Thanks", "body": "Thank you!"}
        )
    )
    ids["campaign_id"] = await _created(
        await admin.post(
            "/api/campaigns",
            json={
                "name": "Spring sale",
                "phoneNumberId": "1234567890",
                "templateId": ids["template_id"],
                "audience": {"source": "contacts"},
            },
        )
    )
    ids["key_id"] = await _created(
        await admin.post("/api/api-keys", json={"name": "Reports", "scopes": ["read"]})
    )
    ids["webhook_id"] = await _created(
        await admin.post(
            "/api/integrations/webhooks",
            json={
                "url": "https://example.com/hooks/wadesk",
                "events": ["template.updated"],
                "isActive": False,
            },
        )
    )
    ids["label_id"] = await _created(await admin.post("/api/labels", json={"label": "vip", "color": "teal"}))
    ids["media_id"] = await _created(
        await admin.http.post(
            "/api/media",
            files={"file": ("label.png", b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png")},
            headers=admin.headers,
        )
    )
    ids.update(await _insert_rows_without_an_api(app, demo_data, ids["webhook_id"]))
    return ids


def _id_params(op: Operation) -> list[str]:
    return [name for name in op.path_params if ID_PARAMETER.search(name)]


def _routes_with_ids(app: FastAPI) -> list[Operation]:
    return [op for op in api_operations(app) if _id_params(op)]


async def _call(account: Account, op: Operation, ids: dict[str, str]) -> httpx.Response:
    url = op.url(**ids)
    body = SAMPLE_BODIES.get((op.method, op.path))
    if op.path.endswith("/participants") and op.method == "POST":
        body = {"userId": account.user["id"]}
    if op.path.endswith("/merge"):
        body = {"sourceContactId": ids["other_contact_id"]}
    if op.path.endswith("/audience/csv"):
        return await account.http.post(
            url, content=b"phone\n+15550001234\n", headers={**account.headers, "content-type": "text/csv"}
        )
    if body is None and op.body_required:
        body = {}
    return await account.request(op.method, url, json=body)


async def test_every_route_with_an_id_answers_404_to_another_company_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, demo_data: DemoData, ids_of_company_a: dict[str, str]
) -> None:
    operations = _routes_with_ids(app)
    unmapped = sorted({f"{name} ({op.method} {op.path})" for op in operations for name in _id_params(op)
                       if name not in ids_of_company_a})  # fmt: skip
    assert not unmapped, "the isolation matrix has no id of company A for: " + ", ".join(unmapped)

    company_b = await register(client, "Company B")
    before = await _snapshot(app, demo_data.tenant_id)
    answers = {}
    for op in operations:
        response = await _call(company_b, op, ids_of_company_a)
        answers[f"{op.method} {op.path}"] = response
    wrong = {route: f"{r.status_code} {r.text[:160]}" for route, r in answers.items() if r.status_code != 404}
    assert not wrong, wrong
    for response in answers.values():
        assert_error(response, 404)
    assert await _snapshot(app, demo_data.tenant_id) == before


async def test_the_matrix_ids_are_real_for_their_own_company(
    app: FastAPI, demo: dict[str, Account], ids_of_company_a: dict[str, str]
) -> None:
    for op in _routes_with_ids(app):
        if op.method != "GET" or not ID_PARAMETER.search(op.path.rstrip("}").rsplit("{", 1)[-1]):
            continue
        response = await demo["admin"].get(op.url(**ids_of_company_a))
        assert response.status_code == 200, f"GET {op.path}: {response.status_code} {response.text[:200]}"


async def test_another_companys_lists_never_show_this_companys_rows(
    app: FastAPI, client: httpx.AsyncClient, demo_data: DemoData, ids_of_company_a: dict[str, str]
) -> None:
    company_b = await register(client, "Company B")
    snapshot = await _snapshot(app, demo_data.tenant_id)
    markers = {str(row["id"]) for rows in snapshot.values() for row in rows}
    markers |= {"Maria Garcia", "admin@demo.com", "agent@demo.com", "15551234001", "Demo Company"}

    lists = [
        op
        for op in api_operations(app)
        if op.method == "GET" and not op.path_params and op.path not in NOT_TENANT_ROUTES
    ]
    assert len(lists) >= 5
    for op in lists:
        response = await company_b.get(op.path)
        assert response.status_code < 500, f"GET {op.path}: {response.text[:200]}"
        leaked = [m for m in markers if m in response.text]
        assert not leaked, f"GET {op.path} shows company A's {leaked}"


async def test_filters_naming_another_companys_ids_find_nothing(
    client: httpx.AsyncClient, demo_data: DemoData, ids_of_company_a: dict[str, str]
) -> None:
    company_b = await register(client, "Company B")
    for path, params in [
        ("/api/conversations", {"assigneeId": str(demo_data.agent_id)}),
        ("/api/conversations", {"contactId": ids_of_company_a["contact_id"]}),
        ("/api/messages", {"conversationId": ids_of_company_a["conversation_id"]}),
        ("/api/messages", {"contactId": ids_of_company_a["contact_id"]}),
    ]:
        response = await company_b.get(path, params=params)
        assert response.status_code == 200, response.text
        assert response.json()["items"] == [], (path, params)
    assert_error(
        await company_b.get("/api/conversations", params={"phoneNumberId": "1234567890"}),
        404,
        "phone_number_not_found",
    )


async def test_another_company_cannot_send_through_this_companys_number_or_conversations(
    client: httpx.AsyncClient, demo_data: DemoData, ids_of_company_a: dict[str, str]
) -> None:
    company_b = await register(client, "Company B")
    through_number = await company_b.post(
        "/api/messages",
        json={
            "phoneNumberId": "1234567890",
            "to": "+15551234001",
            "type": "template",
            "template": {"name": "hello_world", "language": "en_US"},
        },
    )
    assert_error(through_number, 404, "phone_number_not_found")
    into_conversation = await company_b.post(
        "/api/messages",
        json={"conversationId": ids_of_company_a["conversation_id"], "type": "text", "text": "Hi from B"},
    )
    assert_error(into_conversation, 404)
    by_our_number_id = await company_b.post(
        "/api/messages",
        json={"phoneNumberId": str(demo_data.number_id), "to": "+15551234001", "type": "text", "text": "Hi"},
    )
    assert_error(by_our_number_id, 404, "phone_number_not_found")
