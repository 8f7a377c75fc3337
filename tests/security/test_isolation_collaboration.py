"""Tenant isolation of the contacts, templates, collaboration, API key and outbound webhook routes: every
route with an id in its path, called by another company with the victim's ids, answers 404 and changes
nothing. Routes are enumerated from the app, so a new id route of these domains fails here until covered."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

from conftest import Account, DemoData, register

PREFIXES = (
    "/api/contacts",
    "/api/templates",
    "/api/canned-responses",
    "/api/integrations",
    "/api/api-keys",
    "/api/conversations/{conversation_id}/",
)
# Valid bodies, so a 404 cannot hide behind a 422 for a malformed request.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/contacts/{contact_id}"): {"name": "Taken over"},
    ("POST", "/api/contacts/{contact_id}/merge"): {"sourceContactId": "{own_contact_id}"},
    ("POST", "/api/templates/{template_id}/preview"): {"parameters": ["a", "b", "c"]},
    ("POST", "/api/conversations/{conversation_id}/notes"): {"body": "planted"},
    ("PATCH", "/api/conversations/{conversation_id}/notes/{note_id}"): {"body": "rewritten"},
    ("PUT", "/api/conversations/{conversation_id}/labels"): {"labels": ["planted"]},
    ("POST", "/api/conversations/{conversation_id}/participants"): {"userId": "{own_user_id}"},
    ("POST", "/api/conversations/{conversation_id}/presence"): {"state": "typing"},
    ("PATCH", "/api/canned-responses/{canned_id}"): {"body": "rewritten"},
    ("PATCH", "/api/integrations/webhooks/{webhook_id}"): {"isActive": False},
    ("PATCH", "/api/api-keys/{key_id}"): {"name": "mine"},
}


def id_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every documented route of these domains with an id in its path."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if "{" not in path or not path.startswith(PREFIXES):
            continue
        for method in operations:
            found.append((method.upper(), path))
    return sorted(found)


async def snapshot(victim: Account, ids: dict[str, str]) -> dict[str, Any]:
    conversation = f"/api/conversations/{ids['conversation_id']}"
    webhook = f"/api/integrations/webhooks/{ids['webhook_id']}"
    urls = [
        f"/api/contacts/{ids['contact_id']}",
        f"/api/templates/{ids['template_id']}",
        conversation,
        f"{conversation}/notes",
        f"{conversation}/participants",
        f"/api/canned-responses/{ids['canned_id']}",
        webhook,
        f"{webhook}/deliveries",
        f"/api/api-keys/{ids['key_id']}",
    ]
    state = {}
    for url in urls:
        response = await victim.get(url)
        assert response.status_code == 200, (url, response.text)
        state[url] = response.json()
    return state


async def test_other_companies_get_404_and_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, demo: dict[str, Account], demo_data: DemoData
) -> None:
    victim = demo["admin"]
    conversation_id = str(demo_data.conversations["15551234001"])
    note = (await victim.post(f"/api/conversations/{conversation_id}/notes", json={"body": "private"})).json()
    await victim.post(
        f"/api/conversations/{conversation_id}/participants", json={"userId": victim.user["id"]}
    )
    canned = (
        await victim.post("/api/canned-responses", json={"shortCode": "hello", "body": "Hello!"})
    ).json()
    webhook = (
        await victim.post(
            "/api/integrations/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]}
        )
    ).json()
    delivery = (await victim.post(f"/api/integrations/webhooks/{webhook['id']}/test")).json()
    await app.state.runtime.jobs.broker.wait_all()  # its first attempt (refused: nothing listens on port 9)
    key = (await victim.post("/api/api-keys", json={"name": "ERP", "scopes": ["read"]})).json()
    ids = {
        "contact_id": str(demo_data.contacts["15551234001"]),
        "template_id": str(demo_data.templates["order_update"]),
        "conversation_id": conversation_id,
        "note_id": note["id"],
        "user_id": victim.user["id"],
        "canned_id": canned["id"],
        "webhook_id": webhook["id"],
        "delivery_id": delivery["id"],
        "key_id": key["id"],
    }
    before = await snapshot(victim, ids)

    attacker = await register(client, "Attacker Co")
    own_contact = (await attacker.post("/api/contacts", json={"phone": "+15551239876"})).json()
    placeholders = {**ids, "own_contact_id": own_contact["id"], "own_user_id": attacker.user["id"]}
    routes = id_routes(app)
    assert len(routes) >= 25, routes
    for method, path in routes:
        missing = set(re.findall(r"\{(\w+)\}", path)) - ids.keys()
        assert not missing, f"{method} {path}: no id for {missing}; add it to this test"
        url = path.format(**ids)
        body = BODIES.get((method, path))
        if isinstance(body, dict):
            body = {k: v.format(**placeholders) if isinstance(v, str) else v for k, v in body.items()}
        response = await attacker.request(method, url, json=body if method not in ("GET", "DELETE") else None)
        assert response.status_code == 404, f"{method} {url}: {response.status_code} {response.text[:300]}"

    after = await snapshot(victim, ids)
    assert after == before
