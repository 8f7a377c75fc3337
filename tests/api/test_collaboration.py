"""Working together on conversations: private notes and @mentions, canned responses, labels with a filter,
participants, typing/viewing hints, company settings and round-robin auto-assignment."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
from fastapi import FastAPI
from pipeline_kit import capture_events, connect_number, post_webhook, rows, settle

from conftest import Account, assert_error, login, register
from wadesk.conversations.models import Conversation
from wadesk.whatsapp.simulator import InboundMessage, build_inbound_message_payload

MARIA = "15551234001"


async def conversation_of(account: Account, wa_id: str = MARIA) -> dict[str, Any]:
    items = (await account.get("/api/conversations", params={"search": wa_id})).json()["items"]
    assert len(items) == 1, items
    found: dict[str, Any] = items[0]
    return found


# --- notes and mentions ---------------------------------------------------------------------------------------


async def test_a_note_stays_private_and_mentions_notify_only_the_mentioned(
    app: FastAPI, demo: dict[str, Account]
) -> None:
    admin, agent = demo["admin"], demo["agent"]
    conversation = await conversation_of(agent)
    messages_before = (await agent.get("/api/messages", params={"conversationId": conversation["id"]})).json()
    async with capture_events(app, admin.tenant_id) as captured:
        response = await admin.post(
            f"/api/conversations/{conversation['id']}/notes",
            json={"body": "@agent can you check the courier? She asked twice."},
        )
        assert response.status_code == 201, response.text
    note = response.json()
    assert note["author"]["email"] == "admin@demo.com"
    assert note["mentions"] == [agent.user["id"]]
    # Not a message: nothing is sent, the thread is unchanged.
    messages_after = (await agent.get("/api/messages", params={"conversationId": conversation["id"]})).json()
    assert messages_after == messages_before
    assert [e.data["id"] for e in captured.of_type("note.created")] == [note["id"]]
    [notification] = captured.of_type("notification")
    assert notification.audience == frozenset({uuid.UUID(agent.user["id"])})
    assert notification.data["kind"] == "mention"
    assert notification.data["conversationId"] == conversation["id"]
    assert notification.data["by"]["name"] == admin.user["name"]
    notes = (await agent.get(f"/api/conversations/{conversation['id']}/notes")).json()
    assert [n["id"] for n in notes["items"]] == [note["id"]]
    participants = (await agent.get(f"/api/conversations/{conversation['id']}/participants")).json()
    assert [p["user"]["id"] for p in participants] == [agent.user["id"]]


async def test_a_follower_hears_of_new_notes_and_mentions_by_id_work(
    app: FastAPI, demo: dict[str, Account]
) -> None:
    admin, agent = demo["admin"], demo["agent"]
    conversation = await conversation_of(agent)
    await agent.post(
        f"/api/conversations/{conversation['id']}/participants", json={"userId": agent.user["id"]}
    )
    async with capture_events(app, admin.tenant_id) as captured:
        await admin.post(
            f"/api/conversations/{conversation['id']}/notes",
            json={"body": "Refund approved.", "mentions": [admin.user["id"]]},
        )
    kinds = {(e.data["kind"], e.data["userId"]) for e in captured.of_type("notification")}
    # The author is not notified of their own mention; the follower gets a note notification.
    assert kinds == {("note", agent.user["id"])}


async def test_mentioning_someone_outside_the_company_is_refused(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    other = await register(client, "Elsewhere Ltd")
    conversation = await conversation_of(demo["agent"])
    response = await demo["agent"].post(
        f"/api/conversations/{conversation['id']}/notes", json={"body": "hi", "mentions": [other.user["id"]]}
    )
    assert_error(response, 422, "invalid_mention")


async def test_only_the_author_or_an_admin_edits_or_deletes_a_note(demo: dict[str, Account]) -> None:
    admin, agent = demo["admin"], demo["agent"]
    conversation = await conversation_of(agent)
    base = f"/api/conversations/{conversation['id']}/notes"
    note = (await admin.post(base, json={"body": "first draft"})).json()
    assert_error(await agent.patch(f"{base}/{note['id']}", json={"body": "mine now"}), 403, "not_note_author")
    edited = await admin.patch(f"{base}/{note['id']}", json={"body": "final"})
    assert edited.json()["body"] == "final"
    own = (await agent.post(base, json={"body": "agent note"})).json()
    assert (await admin.delete(f"{base}/{own['id']}")).status_code == 204
    assert (await agent.delete(f"{base}/{note['id']}")).status_code == 403
    other_conversation = await conversation_of(agent, "15551234002")
    wrong_thread = f"/api/conversations/{other_conversation['id']}/notes/{note['id']}"
    assert_error(await admin.patch(wrong_thread, json={"body": "x"}), 404)
    assert_error(await admin.post(base, json={"body": ""}), 422)


async def test_notes_page_newest_first(demo: dict[str, Account]) -> None:
    conversation = await conversation_of(demo["agent"])
    base = f"/api/conversations/{conversation['id']}/notes"
    for i in range(3):
        await demo["agent"].post(base, json={"body": f"note {i}"})
    first = (await demo["agent"].get(base, params={"limit": 2})).json()
    assert [n["body"] for n in first["items"]] == ["note 2", "note 1"]
    rest = (await demo["agent"].get(base, params={"limit": 2, "cursor": first["nextCursor"]})).json()
    assert [n["body"] for n in rest["items"]] == ["note 0"]
    assert rest["nextCursor"] is None


# --- canned responses -----------------------------------------------------------------------------------------


async def test_canned_responses_expand_by_short_code_with_the_contacts_details(
    demo: dict[str, Account],
) -> None:
    admin, agent = demo["admin"], demo["agent"]
    response = await admin.post(
        "/api/canned-responses",
        json={
            "shortCode": "/Shipping",
            "title": "Shipping times",
            "body": "Hi {{contact.first_name}}, orders ship in 2 days. — {{agent.name}}",
        },
    )
    assert response.status_code == 201, response.text
    canned = response.json()
    assert canned["shortCode"] == "shipping"
    assert_error(await agent.post("/api/canned-responses", json={"shortCode": "shipping", "body": "x"}), 409)
    assert [
        c["shortCode"] for c in (await agent.get("/api/canned-responses", params={"search": "/ship"})).json()
    ] == ["shipping"]
    conversation = await conversation_of(agent)
    expanded = (
        await agent.post(
            "/api/canned-responses/expand",
            json={"text": "/shipping Thanks! /unknown", "conversationId": conversation["id"]},
        )
    ).json()
    assert expanded == {
        "text": f"Hi Maria, orders ship in 2 days. — {agent.user['name']} Thanks! /unknown",
        "used": ["shipping"],
    }
    assert (
        "a/shipping"
        in (await agent.post("/api/canned-responses/expand", json={"text": "a/shipping"})).json()["text"]
    )


async def test_canned_responses_are_changed_by_their_author_or_an_admin(demo: dict[str, Account]) -> None:
    admin, agent = demo["admin"], demo["agent"]
    by_admin = (await admin.post("/api/canned-responses", json={"shortCode": "hours", "body": "9-5"})).json()
    assert_error(await agent.patch(f"/api/canned-responses/{by_admin['id']}", json={"body": "24/7"}), 403)
    by_agent = (
        await agent.post("/api/canned-responses", json={"shortCode": "thanks", "body": "Thank you!"})
    ).json()
    renamed = await agent.patch(f"/api/canned-responses/{by_agent['id']}", json={"shortCode": "ty"})
    assert renamed.json()["shortCode"] == "ty"
    assert_error(
        await agent.patch(f"/api/canned-responses/{by_agent['id']}", json={"shortCode": "hours"}), 409
    )
    assert (await admin.delete(f"/api/canned-responses/{by_agent['id']}")).status_code == 204
    assert_error(await agent.get(f"/api/canned-responses/{by_agent['id']}"), 404)
    bad = await agent.post("/api/canned-responses", json={"shortCode": "no spaces", "body": "x"})
    assert "short codes" in assert_error(bad, 422)["message"]


# --- labels ---------------------------------------------------------------------------------------------------


async def test_labels_are_set_and_filter_the_inbox(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    maria = await conversation_of(agent)
    james = await conversation_of(agent, "15551234002")
    response = await agent.request(
        "PUT", f"/api/conversations/{maria['id']}/labels", json={"labels": ["VIP", "refund "]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["labels"] == ["vip", "refund"]
    await agent.request("PUT", f"/api/conversations/{james['id']}/labels", json={"labels": ["vip"]})
    vip = (await agent.get("/api/conversations", params={"label": "VIP"})).json()["items"]
    assert {c["id"] for c in vip} == {maria["id"], james["id"]}
    refund = (await agent.get("/api/conversations", params={"label": "refund"})).json()["items"]
    assert [c["id"] for c in refund] == [maria["id"]]
    await agent.request("PUT", f"/api/conversations/{maria['id']}/labels", json={"labels": ["vip"]})
    assert (await agent.get("/api/conversations", params={"label": "refund"})).json()["items"] == []
    assert (await agent.get(f"/api/conversations/{maria['id']}")).json()["labels"] == ["vip"]
    counts = {c["label"]: c["count"] for c in (await agent.get("/api/labels")).json()}
    assert counts == {"vip": 2, "refund": 0}  # a label no conversation carries stays in the catalogue
    too_many = {"labels": [f"l{i}" for i in range(21)]}
    assert_error(await agent.request("PUT", f"/api/conversations/{maria['id']}/labels", json=too_many), 422)


# --- participants and presence --------------------------------------------------------------------------------


async def test_participants_are_added_and_removed(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    admin, agent = demo["admin"], demo["agent"]
    conversation = await conversation_of(agent)
    base = f"/api/conversations/{conversation['id']}/participants"
    response = await agent.post(base, json={"userId": admin.user["id"]})
    assert response.status_code == 201, response.text
    assert response.json()["addedById"] == agent.user["id"]
    assert (await agent.post(base, json={"userId": admin.user["id"]})).status_code == 201  # idempotent
    assert [p["user"]["id"] for p in (await agent.get(base)).json()] == [admin.user["id"]]
    other = await register(client, "Stranger Co")
    assert_error(await agent.post(base, json={"userId": other.user["id"]}), 422, "invalid_participant")
    assert (await agent.delete(f"{base}/{admin.user['id']}")).status_code == 204
    assert (await agent.get(base)).json() == []
    assert_error(await agent.delete(f"{base}/{admin.user['id']}"), 404, "participant_not_found")


async def test_typing_and_viewing_hints_reach_the_whole_team(app: FastAPI, demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    conversation = await conversation_of(agent)
    async with capture_events(app, agent.tenant_id) as captured:
        for state in ("viewing", "typing", "idle"):
            response = await agent.post(
                f"/api/conversations/{conversation['id']}/presence", json={"state": state}
            )
            assert response.status_code == 204
    events = captured.of_type("conversation.presence")
    assert [e.data["state"] for e in events] == ["viewing", "typing", "idle"]
    assert all(e.audience is None for e in events)
    assert events[0].data["user"] == {"id": agent.user["id"], "name": agent.user["name"]}
    assert events[0].data["conversationId"] == conversation["id"]
    bad = await agent.post(f"/api/conversations/{conversation['id']}/presence", json={"state": "dancing"})
    assert_error(bad, 422)


async def test_another_companys_conversation_is_invisible_to_collaboration_routes(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    other = await register(client, "Nosy Co")
    conversation = await conversation_of(demo["agent"])
    note = (
        await demo["agent"].post(f"/api/conversations/{conversation['id']}/notes", json={"body": "x"})
    ).json()
    canned = (await demo["agent"].post("/api/canned-responses", json={"shortCode": "x", "body": "x"})).json()
    base = f"/api/conversations/{conversation['id']}"
    for method, url, body in [
        ("GET", f"{base}/notes", None),
        ("POST", f"{base}/notes", {"body": "peek"}),
        ("PATCH", f"{base}/notes/{note['id']}", {"body": "peek"}),
        ("DELETE", f"{base}/notes/{note['id']}", None),
        ("PUT", f"{base}/labels", {"labels": ["x"]}),
        ("GET", f"{base}/participants", None),
        ("POST", f"{base}/participants", {"userId": other.user["id"]}),
        ("DELETE", f"{base}/participants/{other.user['id']}", None),
        ("POST", f"{base}/presence", {"state": "typing"}),
        ("GET", f"/api/canned-responses/{canned['id']}", None),
        ("PATCH", f"/api/canned-responses/{canned['id']}", {"body": "y"}),
        ("DELETE", f"/api/canned-responses/{canned['id']}", None),
    ]:
        response = await other.request(method, url, json=body)
        assert_error(response, 404)
    expand = await other.post(
        "/api/canned-responses/expand", json={"text": "/x", "conversationId": conversation["id"]}
    )
    assert_error(expand, 404)
    assert (await other.post("/api/canned-responses/expand", json={"text": "/x"})).json()["text"] == "/x"
    assert (await other.get("/api/labels")).json() == []


# --- company settings -----------------------------------------------------------------------------------------


async def test_company_settings_are_read_and_changed_by_admins(demo: dict[str, Account]) -> None:
    admin, agent = demo["admin"], demo["agent"]
    tenant = (await admin.get("/api/tenant")).json()
    assert tenant["settings"]["auto_assign"] is False
    response = await admin.patch("/api/tenant", json={"autoAssign": True, "name": "Demo Company Ltd"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Demo Company Ltd"
    assert response.json()["settings"]["auto_assign"] is True
    assert_error(await agent.get("/api/tenant"), 403)
    assert_error(await agent.patch("/api/tenant", json={"autoAssign": False}), 403)
    assert_error(await admin.patch("/api/tenant", json={"plan": "free"}), 422)
    audit = (await admin.get("/api/audit", params={"action": "tenant.updated"})).json()["items"]
    assert audit[0]["details"]["auto_assign"] == {"before": False, "after": True}


# --- round-robin auto-assignment ------------------------------------------------------------------------------

PHONE_NUMBER_ID = "5550008001"
WABA_ID = "8880008001"


async def inbound(http: httpx.AsyncClient, sender: str) -> None:
    payload = build_inbound_message_payload(
        InboundMessage(phoneNumberId=PHONE_NUMBER_ID, sender=sender, text="Hello?"),
        waba_id=WABA_ID,
        display_phone_number="15550008001",
    )
    assert (await post_webhook(http, payload)).status_code == 200


async def test_new_conversations_go_round_robin_to_online_agents_skipping_those_away(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Round Robin Co")
    await connect_number(admin, PHONE_NUMBER_ID, WABA_ID, "+1 555 000 8001")
    agents: list[Account] = []
    for i in range(5):
        email = f"rr-agent-{i}-{uuid.uuid4().hex[:6]}@example.com"
        created = await admin.post(
            "/api/users", json={"email": email, "name": f"Agent {i}", "password": "correct horse battery"}
        )
        assert created.status_code == 201, created.text
        agents.append(await login(client, email, "correct horse battery"))
    away = agents[4]
    assert (
        await away.patch(f"/api/users/{away.user['id']}", json={"availability": "away"})
    ).status_code == 200
    assert (
        await admin.patch(f"/api/users/{admin.user['id']}", json={"availability": "away"})
    ).status_code == 200

    await inbound(client, "15557770000")
    await settle(app)
    assert (await admin.get("/api/conversations")).json()["items"][0]["assignee"] is None  # setting is off

    assert (await admin.patch("/api/tenant", json={"autoAssign": True})).status_code == 200
    for i in range(1, 101):
        await inbound(client, f"1555777{i:04d}")
    await settle(app, timeout=120)

    conversations = await rows(app, Conversation, Conversation.tenant_id == uuid.UUID(admin.tenant_id))
    assigned = Counter(str(c.assignee_id) for c in conversations if c.assignee_id is not None)
    online = {a.user["id"] for a in agents[:4]}
    assert set(assigned) == online
    assert sum(assigned.values()) == 100
    assert max(assigned.values()) - min(assigned.values()) <= 1

    # Back online, the agent takes turns again.
    await away.patch(f"/api/users/{away.user['id']}", json={"availability": "online"})
    for i in range(101, 106):
        await inbound(client, f"1555777{i:04d}")
    await settle(app)
    conversations = await rows(app, Conversation, Conversation.tenant_id == uuid.UUID(admin.tenant_id))
    assert any(str(c.assignee_id) == away.user["id"] for c in conversations)
