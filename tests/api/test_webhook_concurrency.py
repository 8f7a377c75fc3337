"""Meta resends and several workers run at once: a delivery posted many times is applied once and announced
once, and one customer's messages are applied in the order of Meta's timestamps, however they arrive."""

from __future__ import annotations

import asyncio
import copy
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from pipeline_kit import (
    capture_events,
    connect_payload_numbers,
    count,
    db,
    one,
    payload_bytes,
    payload_json,
    post_webhook,
    rows,
    settle,
    simulated_app,
)
from sqlalchemy import update

from conftest import register
from wadesk.config import Settings
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.messages.models import Message
from wadesk.tenants.models import Tenant
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus

TEXT_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
SHEENA = "16505551234"


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with simulated_app(settings) as application:
        yield application


def text_from_sheena(wamid: str, timestamp: int, body: str) -> dict[str, Any]:
    payload = copy.deepcopy(payload_json("inbound_text.json"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=wamid, timestamp=str(timestamp), text={"body": body})
    return payload


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


async def test_the_same_delivery_posted_three_times_at_once_yields_one_message_and_one_event(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Triplicate Ltd")
    await connect_payload_numbers(admin)
    raw = payload_bytes("inbound_text.json")

    async with capture_events(app, admin.tenant_id) as captured:
        responses = await asyncio.gather(*(post_webhook(client, raw) for _ in range(3)))
        await settle(app)

    assert [r.status_code for r in responses] == [200, 200, 200]
    # Each delivery is stored (Meta really sent it three times) and processed; one of them made the message.
    assert len({r.json()["eventId"] for r in responses}) == 3
    events = await rows(app, WebhookEvent)
    assert [(e.status, e.attempts) for e in events] == [(WebhookEventStatus.PROCESSED, 1)] * 3
    message = await one(app, Message, Message.wamid == TEXT_WAMID)
    assert await count(app, Contact) == 1
    conversation = await one(app, Conversation)
    assert conversation.unread_count == 1
    assert [e.data["id"] for e in captured.of_type("message.created")] == [str(message.id)]
    assert [e.data["id"] for e in captured.of_type("conversation.created")] == [str(conversation.id)]
    created = captured.of_type("message.created")[0]
    assert created.data["content"] == {"body": "Does it come in another color?"}
    assert created.data["direction"] == "inbound"


async def test_a_resent_delivery_after_processing_changes_nothing_and_announces_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Resent Ltd")
    await connect_payload_numbers(admin)
    raw = payload_bytes("inbound_text.json")
    assert (await post_webhook(client, raw)).status_code == 200
    await settle(app)

    async with capture_events(app, admin.tenant_id) as captured:
        assert (await post_webhook(client, raw)).status_code == 200
        await settle(app)

    assert captured.events == []
    assert await count(app, Message) == 1
    assert (await one(app, Conversation)).unread_count == 1


async def test_an_older_message_arriving_last_is_placed_by_meta_s_timestamp(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Late Arrival Ltd")
    await connect_payload_numbers(admin)
    assert (
        await post_webhook(client, text_from_sheena("wamid.second", 1749416500, "second"))
    ).status_code == 200
    await settle(app)
    assert (
        await post_webhook(client, text_from_sheena("wamid.first", 1749416400, "first"))
    ).status_code == 200
    await settle(app)

    conversation = await one(app, Conversation)
    assert conversation.last_message_preview == "second"
    assert conversation.last_message_at == at(1749416500)
    assert conversation.last_inbound_at == at(1749416500)
    assert conversation.unread_count == 2
    listed = (await admin.get("/api/messages", params={"conversationId": str(conversation.id)})).json()[
        "items"
    ]
    assert [m["content"]["body"] for m in listed] == ["second", "first"]  # newest first
    detail = (await admin.get(f"/api/conversations/{conversation.id}")).json()
    assert [m["content"]["body"] for m in detail["messages"]] == ["first", "second"]  # oldest first


async def test_many_messages_of_one_customer_at_once_are_applied_in_timestamp_order(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Burst Ltd")
    await connect_payload_numbers(admin)
    timestamps = [1749416000 + 7 * i for i in range(10)]
    deliveries = [text_from_sheena(f"wamid.burst-{t}", t, f"message at {t}") for t in timestamps]
    random.Random(4).shuffle(deliveries)

    responses = await asyncio.gather(*(post_webhook(client, d) for d in deliveries))
    assert {r.status_code for r in responses} == {200}
    await settle(app)

    assert await count(app, Contact) == 1
    conversation = await one(app, Conversation)
    assert conversation.unread_count == len(timestamps)
    assert conversation.last_message_at == at(max(timestamps))
    assert conversation.last_message_preview == f"message at {max(timestamps)}"
    assert conversation.customer_window_expires_at is not None
    assert conversation.last_inbound_at == at(max(timestamps))
    messages = await rows(app, Message, order_by=Message.created_at)
    assert [m.content["body"] for m in messages] == [f"message at {t}" for t in timestamps]
    assert {e.status for e in await rows(app, WebhookEvent)} == {WebhookEventStatus.PROCESSED}


async def test_a_customer_writing_again_reopens_the_resolved_conversation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Reopen Ltd")
    await connect_payload_numbers(admin)
    assert (await post_webhook(client, text_from_sheena("wamid.one", 1749416000, "one"))).status_code == 200
    await settle(app)
    conversation = await one(app, Conversation)
    assert (
        await admin.patch(f"/api/conversations/{conversation.id}", json={"status": "resolved"})
    ).status_code == 200

    assert (await post_webhook(client, text_from_sheena("wamid.two", 1749416100, "two"))).status_code == 200
    await settle(app)

    reopened = await one(app, Conversation)
    assert reopened.id == conversation.id
    assert reopened.status == ConversationStatus.OPEN
    assert reopened.resolved_at is None


async def test_a_company_that_keeps_resolved_conversations_closed_gets_a_new_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "New Thread Ltd")
    await connect_payload_numbers(admin)
    async with db(app) as session:
        await session.execute(
            update(Tenant)
            .where(Tenant.id == uuid.UUID(admin.tenant_id))
            .values(settings={"reopen_resolved_conversations": False})
        )
    assert (await post_webhook(client, text_from_sheena("wamid.one", 1749416000, "one"))).status_code == 200
    await settle(app)
    first = await one(app, Conversation)
    assert (
        await admin.patch(f"/api/conversations/{first.id}", json={"status": "resolved"})
    ).status_code == 200

    assert (await post_webhook(client, text_from_sheena("wamid.two", 1749416100, "two"))).status_code == 200
    await settle(app)

    conversations = await rows(app, Conversation, order_by=Conversation.created_at)
    assert [c.status for c in conversations] == [ConversationStatus.RESOLVED, ConversationStatus.OPEN]
    assert (await one(app, Message, Message.wamid == "wamid.two")).conversation_id == conversations[1].id


async def test_messages_of_different_customers_at_once_each_get_their_own_contact_and_conversation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Crowd Ltd")
    await connect_payload_numbers(admin)
    deliveries = []
    for i in range(6):
        payload = text_from_sheena(f"wamid.crowd-{i}", 1749416000 + i, f"hello {i}")
        value = payload["entry"][0]["changes"][0]["value"]
        value["contacts"][0].update(wa_id=f"1650555{i:04d}", profile={"name": f"Customer {i}"})
        value["messages"][0]["from"] = f"1650555{i:04d}"
        deliveries.append(payload)

    assert {r.status_code for r in await asyncio.gather(*(post_webhook(client, d) for d in deliveries))} == {
        200
    }
    await settle(app)

    contacts = await rows(app, Contact)
    assert sorted(c.profile_name or "" for c in contacts) == [f"Customer {i}" for i in range(6)]
    conversations = await rows(app, Conversation)
    assert len(conversations) == 6
    assert {c.unread_count for c in conversations} == {1}
