"""Messages: sending (queued, checked against the customer window, templates, opt-outs and replays), listing
with filters, and marking inbound messages read.

The demo tenant's 10 messages (ops/demo_seed.py), by contact:
  +15551234001  template out read 50h · in read 40m · out delivered 35m · in received 4m (window open)
  +15551234002  in read 52h · out read 51h
  +15551234003  in read 74h · out read 73h
  +15551234004  in received 30h
  +15551234005  template out delivered 96h
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import update

from conftest import Account, DemoData, assert_error
from wadesk.contacts.models import Contact
from wadesk.db.session import unit_of_work
from wadesk.messages.models import Message

SEED_EXAMPLE = {
    "phoneNumberId": "1234567890",
    "to": "+15551234001",
    "type": "text",
    "text": "Hello from API!",
}


def _template(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "phoneNumberId": "1234567890",
        "to": "+15551234004",
        "type": "template",
        "template": {"name": name, "language": "en_US", **fields},
    }


async def _messages(account: Account, **params: Any) -> list[dict[str, Any]]:
    response = await account.get("/api/messages", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def _conversation_count(account: Account) -> int:
    return len((await account.get("/api/conversations")).json()["items"])


async def _set_contact(app: FastAPI, demo_data: DemoData, wa_id: str, **values: Any) -> None:
    async with unit_of_work(app.state.runtime.sessionmaker, demo_data.tenant_id) as session:
        await session.execute(update(Contact).where(Contact.id == demo_data.contacts[wa_id]).values(**values))


# --- sending ----------------------------------------------------------------------------------------------


async def test_the_seed_documents_send_example_is_queued(
    demo: dict[str, Account], demo_data: DemoData
) -> None:
    admin = demo["admin"]
    response = await admin.post("/api/messages", json=SEED_EXAMPLE)
    assert response.status_code == 202, response.text
    message = response.json()
    assert message["status"] == "queued"
    assert message["direction"] == "outbound"
    assert message["type"] == "text"
    assert message["content"]["body"] == "Hello from API!"
    assert message["conversationId"] == str(demo_data.conversations["15551234001"])
    assert message["contactId"] == str(demo_data.contacts["15551234001"])
    assert message["phoneNumberId"] == str(demo_data.number_id)
    assert message["senderUserId"] == admin.user["id"]
    assert message["wamid"] is None
    assert message["error"] is None

    fetched = await admin.get(f"/api/messages/{message['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["id"] == message["id"]
    conversation = (await admin.get(f"/api/conversations/{message['conversationId']}")).json()
    assert conversation["lastMessagePreview"] == "Hello from API!"
    assert conversation["messages"][-1]["id"] == message["id"]


async def test_a_text_can_be_sent_in_object_form_into_a_conversation(
    demo: dict[str, Account], demo_data: DemoData
) -> None:
    response = await demo["agent"].post(
        "/api/messages",
        json={
            "conversationId": str(demo_data.conversations["15551234001"]),
            "type": "text",
            "text": {"body": "See https://example.com/track", "previewUrl": True},
        },
    )
    assert response.status_code == 202, response.text
    assert response.json()["content"] == {"body": "See https://example.com/track", "preview_url": True}


async def test_a_reply_and_a_reaction_point_at_the_customers_message(
    demo: dict[str, Account], demo_data: DemoData
) -> None:
    customer_message = demo_data.messages["15551234001"][-1]
    reply = await demo["agent"].post(
        "/api/messages", json={**SEED_EXAMPLE, "replyToMessageId": str(customer_message)}
    )
    assert reply.status_code == 202, reply.text
    assert reply.json()["replyToMessageId"] == str(customer_message)
    assert reply.json()["replyToWamid"].startswith("wamid.DEMO")

    reaction = await demo["agent"].post(
        "/api/messages",
        json={
            "phoneNumberId": "1234567890",
            "to": "+15551234001",
            "type": "reaction",
            "reaction": {"messageId": str(customer_message), "emoji": "👍"},
        },
    )
    assert reaction.status_code == 202, reaction.text
    assert reaction.json()["content"]["emoji"] == "👍"


async def test_a_free_form_message_outside_the_customer_window_is_refused(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    before = len(await _messages(admin))
    for to in ("+15551234004", "+15551234005", "+15559990000"):
        response = await admin.post("/api/messages", json={**SEED_EXAMPLE, "to": to})
        assert_error(response, 422, "customer_window_closed")
    assert len(await _messages(admin)) == before
    assert await _conversation_count(admin) == 5


async def test_templates_may_be_sent_outside_the_window_with_the_right_parameters(
    demo: dict[str, Account], demo_data: DemoData
) -> None:
    admin = demo["admin"]
    hello = await admin.post("/api/messages", json=_template("hello_world"))
    assert hello.status_code == 202, hello.text
    assert hello.json()["type"] == "template"
    assert hello.json()["status"] == "queued"
    assert hello.json()["conversationId"] == str(demo_data.conversations["15551234004"])
    assert hello.json()["content"]["rendered"].startswith("Hello World")

    order = await admin.post(
        "/api/messages", json=_template("order_update", parameters=["Lucas", "#9001", "on its way"])
    )
    assert order.status_code == 202, order.text
    assert "Hi Lucas, your order #9001 is now on its way." in order.json()["content"]["rendered"]

    reminder = await admin.post(
        "/api/messages",
        json=_template(
            "appointment_reminder",
            components=[
                {"type": "header", "parameters": [{"type": "text", "text": "Monday"}]},
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": t} for t in ("Lucas", "Dr. Patel", "9:00")],
                },
            ],
        ),
    )
    assert reminder.status_code == 202, reminder.text

    # A template to someone who never wrote opens a conversation.
    first_contact = await admin.post("/api/messages", json={**_template("hello_world"), "to": "+15559990001"})
    assert first_contact.status_code == 202, first_contact.text
    assert await _conversation_count(admin) == 6


async def test_a_template_with_wrong_parameters_or_unknown_name_is_refused(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    before = len(await _messages(admin))
    for body, code in [
        (_template("order_update", parameters=["Lucas", "#9001"]), "template_parameters_invalid"),
        (_template("order_update"), "template_parameters_invalid"),
        (_template("hello_world", parameters=["unexpected"]), "template_parameters_invalid"),
        (
            _template("appointment_reminder", parameters=["Lucas", "Dr. Patel", "9:00"]),
            "template_parameters_invalid",
        ),
        (_template("no_such_template"), "template_not_found"),
        (
            {**_template("hello_world"), "template": {"name": "hello_world", "language": "fr"}},
            "template_not_found",
        ),
    ]:
        assert_error(await admin.post("/api/messages", json=body), 422, code)
    assert len(await _messages(admin)) == before


async def test_contacts_who_opted_out_or_are_blocked_get_nothing(
    app: FastAPI, demo: dict[str, Account], demo_data: DemoData
) -> None:
    admin = demo["admin"]
    await _set_contact(app, demo_data, "15551234001", opted_out=True)
    assert_error(await admin.post("/api/messages", json=SEED_EXAMPLE), 422, "contact_opted_out")
    template_to_maria = {**_template("hello_world"), "to": "+15551234001"}
    assert_error(await admin.post("/api/messages", json=template_to_maria), 422, "contact_opted_out")

    await _set_contact(app, demo_data, "15551234001", opted_out=False, blocked=True)
    assert_error(await admin.post("/api/messages", json=SEED_EXAMPLE), 422, "contact_blocked")
    assert_error(await admin.post("/api/messages", json=template_to_maria), 422, "contact_blocked")


async def test_an_idempotency_key_replay_returns_the_first_message(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    key = {"Idempotency-Key": f"send-{uuid.uuid4()}"}
    first = await admin.post("/api/messages", json=SEED_EXAMPLE, headers=key)
    replay = await admin.post("/api/messages", json=SEED_EXAMPLE, headers=key)
    assert first.status_code == 202, first.text
    assert replay.status_code == 202, replay.text
    assert replay.json()["id"] == first.json()["id"]
    assert replay.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    sent = await _messages(admin, direction="outbound")
    assert [m["id"] for m in sent].count(first.json()["id"]) == 1
    assert len([m for m in sent if m["content"].get("body") == "Hello from API!"]) == 1

    different = await admin.post(
        "/api/messages", json={**SEED_EXAMPLE, "text": "Something else"}, headers=key
    )
    assert_error(different, 422, "idempotency_key_reused")


async def test_concurrent_requests_with_one_idempotency_key_store_one_message(
    demo: dict[str, Account],
) -> None:
    admin = demo["admin"]
    key = {"Idempotency-Key": f"send-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(admin.post("/api/messages", json=SEED_EXAMPLE, headers=key) for _ in range(3))
    )
    assert [r.status_code for r in responses] == [202, 202, 202], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    stored = [m for m in await _messages(admin) if m["content"].get("body") == "Hello from API!"]
    assert len(stored) == 1


async def test_malformed_sends_are_refused(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    for body, status, code in [
        ({"phoneNumberId": "1234567890", "to": "+15551234001", "type": "text"}, 422, "validation_error"),
        ({**SEED_EXAMPLE, "type": "image"}, 422, "validation_error"),
        ({**SEED_EXAMPLE, "template": {"name": "hello_world", "language": "en_US"}}, 422, "validation_error"),
        ({"type": "text", "text": "Hi"}, 422, "validation_error"),
        ({**SEED_EXAMPLE, "type": "fax"}, 422, "validation_error"),
        ({**SEED_EXAMPLE, "text": "x" * 4097}, 422, "validation_error"),
        ({**SEED_EXAMPLE, "to": "not a number"}, 422, "invalid_phone_number"),
        ({**SEED_EXAMPLE, "phoneNumberId": "999999"}, 404, "phone_number_not_found"),
        ({**SEED_EXAMPLE, "conversationId": str(uuid.uuid4())}, 404, "not_found"),
        ({**SEED_EXAMPLE, "replyToMessageId": str(uuid.uuid4())}, 422, "message_ref_not_found"),
    ]:
        response = await admin.post("/api/messages", json=body)
        assert response.status_code == status, (body, response.text)
        assert_error(response, status, code)


# --- reading ----------------------------------------------------------------------------------------------


async def test_the_list_filters_by_conversation_contact_direction_status_and_type(
    demo: dict[str, Account], demo_data: DemoData
) -> None:
    agent = demo["agent"]
    everything = await _messages(agent)
    assert len(everything) == 10
    created = [datetime.fromisoformat(m["createdAt"]) for m in everything]
    assert created == sorted(created, reverse=True)

    maria = await _messages(agent, conversationId=str(demo_data.conversations["15551234001"]))
    assert [m["id"] for m in maria] == [str(i) for i in reversed(demo_data.messages["15551234001"])]
    james = await _messages(agent, contactId=str(demo_data.contacts["15551234002"]))
    assert {m["id"] for m in james} == {str(i) for i in demo_data.messages["15551234002"]}

    def count(**params: Any) -> Any:
        return _messages(agent, **params)

    assert len(await count(direction="inbound")) == 5
    assert {m["direction"] for m in await count(direction="outbound")} == {"outbound"}
    assert len(await count(direction="outbound")) == 5
    assert len(await count(status="received")) == 2
    assert len(await count(status="read")) == 6
    assert len(await count(status="delivered")) == 2
    assert len(await count(type="template")) == 2
    assert len(await count(type="text")) == 8
    assert len(await count(direction="inbound", status="received")) == 2
    assert await count(conversationId=str(uuid.uuid4())) == []
    assert_error(await agent.get("/api/messages", params={"direction": "sideways"}), 422, "validation_error")
    assert_error(await agent.get("/api/messages", params={"status": "lost"}), 422, "validation_error")


async def test_the_list_filters_by_time(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    now = datetime.now(UTC)
    last_hour = await _messages(agent, since=(now - timedelta(hours=1)).isoformat())
    assert len(last_hour) == 3
    older = await _messages(agent, until=(now - timedelta(hours=72)).isoformat())
    assert len(older) == 3
    between = await _messages(
        agent,
        since=(now - timedelta(hours=60)).isoformat(),
        until=(now - timedelta(hours=45)).isoformat(),
    )
    assert len(between) == 3
    # Times without a zone are UTC.
    naive = (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert len(await _messages(agent, since=naive)) == 3
    assert_error(await agent.get("/api/messages", params={"since": "yesterday"}), 422, "validation_error")


async def test_the_cursor_walks_every_message_exactly_once(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (await agent.get("/api/messages", params=params)).json()
        seen += [m["id"] for m in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == [m["id"] for m in await _messages(agent)]
    assert len(set(seen)) == 10
    assert_error(await agent.get("/api/messages", params={"cursor": "garbage!"}), 400, "invalid_cursor")


async def test_a_failed_message_carries_its_error(
    app: FastAPI, demo: dict[str, Account], demo_data: DemoData
) -> None:
    message_id = demo_data.messages["15551234005"][0]
    async with unit_of_work(app.state.runtime.sessionmaker, demo_data.tenant_id) as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(
                status="failed",
                error_code=131026,
                error_title="Message undeliverable",
                error_details="Unable to deliver message.",
            )
        )
    body = (await demo["agent"].get(f"/api/messages/{message_id}")).json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == 131026
    assert body["error"]["title"] == "Message undeliverable"
    assert body["error"]["details"] == "Unable to deliver message."
    assert (await demo["agent"].get(f"/api/messages/{demo_data.messages['15551234002'][0]}")).json()[
        "error"
    ] is None
    assert_error(await demo["agent"].get(f"/api/messages/{uuid.uuid4()}"), 404, "not_found")


# --- marking read -----------------------------------------------------------------------------------------


async def test_marking_an_inbound_message_read(demo: dict[str, Account], demo_data: DemoData) -> None:
    agent = demo["agent"]
    message_id = demo_data.messages["15551234004"][0]
    response = await agent.patch(f"/api/messages/{message_id}", json={"status": "read"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "read"
    assert response.json()["readAt"] is not None
    conversation = (await agent.get(f"/api/conversations/{demo_data.conversations['15551234004']}")).json()
    assert conversation["unreadCount"] == 0

    again = await agent.patch(f"/api/messages/{message_id}", json={"status": "read"})
    assert again.status_code == 200
    assert again.json()["status"] == "read"


async def test_no_other_status_change_is_accepted(demo: dict[str, Account], demo_data: DemoData) -> None:
    agent = demo["agent"]
    inbound = demo_data.messages["15551234001"][-1]
    outbound = demo_data.messages["15551234001"][-2]
    for status in ("delivered", "sent", "failed", "received", "queued", "unread"):
        response = await agent.patch(f"/api/messages/{inbound}", json={"status": status})
        assert_error(response, 422, "invalid_status_change")
    assert_error(
        await agent.patch(f"/api/messages/{outbound}", json={"status": "read"}), 422, "invalid_status_change"
    )
    assert_error(await agent.patch(f"/api/messages/{inbound}", json={}), 422, "validation_error")
    assert_error(
        await agent.patch(f"/api/messages/{inbound}", json={"status": "read", "content": {"body": "edited"}}),
        422,
        "validation_error",
    )
    assert_error(await agent.patch(f"/api/messages/{uuid.uuid4()}", json={"status": "read"}), 404)

    unchanged = (await agent.get(f"/api/messages/{inbound}")).json()
    assert unchanged["status"] == "received"
    assert (await agent.get(f"/api/messages/{outbound}")).json()["status"] == "delivered"
