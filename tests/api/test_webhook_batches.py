"""On PostgreSQL one processing job takes the deliveries waiting beside its own into the same transaction.
A batch applies them in the order they arrived, announces each change once, and never lets one bad delivery
hold back the others: a batch that fails is applied again one delivery at a time. On SQLite a job takes its
own delivery only."""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pipeline_kit import (
    MAIN_NUMBER,
    capture_events,
    connect_payload_numbers,
    db,
    encode,
    one,
    payload_json,
    rows,
    seed_outbound,
    settle,
)
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from test_statement_counts import counting_statements

from conftest import register
from wadesk.config import Settings
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation
from wadesk.db.base import utcnow
from wadesk.messages.models import Message, MessageStatus
from wadesk.webhooks import processing
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus
from wadesk.webhooks.processing import Outcome
from wadesk.webhooks.repository import waiting
from wadesk.webhooks.tasks import process_webhook_event
from wadesk.whatsapp import webhook as wa

SHEENA = "16505551234"


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    # The sweeper stays away: the deliveries stored below wait for the jobs these tests run by hand.
    from pipeline_kit import simulated_app

    async with simulated_app(settings, sweep_webhook_stale_seconds=3600) as application:
        yield application


def batches(app: FastAPI) -> bool:
    return bool(app.state.runtime.settings.database_url.startswith("postgresql"))


def text_from(sender: str, wamid: str, timestamp: int, body: str) -> dict[str, Any]:
    payload = copy.deepcopy(payload_json("inbound_text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(wa_id=sender)
    value["messages"][0].update(id=wamid, timestamp=str(timestamp), text={"body": body})
    value["messages"][0]["from"] = sender
    return payload


async def store(app: FastAPI, *bodies: dict[str, Any] | bytes) -> list[uuid.UUID]:
    """Deliveries stored as the webhook route stores them, one second apart, with no job queued."""
    first = utcnow() - timedelta(minutes=5)
    events = []
    async with db(app) as session:
        for index, body in enumerate(bodies):
            raw = body if isinstance(body, bytes) else encode(body)
            event = WebhookEvent(
                raw_body=raw,
                headers={},
                body_sha256=hashlib.sha256(raw).hexdigest(),
                received_at=first + timedelta(seconds=index),
            )
            session.add(event)
            events.append(event)
    return [e.id for e in events]


async def statuses(app: FastAPI, ids: list[uuid.UUID]) -> list[str]:
    found = {e.id: e.status for e in await rows(app, WebhookEvent, WebhookEvent.id.in_(ids))}
    return [found[i] for i in ids]


async def test_one_job_applies_the_waiting_deliveries_in_arrival_order_and_announces_each_change_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Batch Ltd")
    await connect_payload_numbers(admin)
    ids = await store(
        app,
        *(text_from(SHEENA, f"wamid.batch-{i}", 1749416000 + i, f"message {i}") for i in range(5)),
        text_from("16505550000", "wamid.batch-other", 1749416100, "from someone else"),
    )

    async with capture_events(app, admin.tenant_id) as captured:
        results = [await process_webhook_event(str(i)) for i in ids]
        await settle(app)

    # The jobs of the deliveries a batch took along find them done.
    assert results == ["processed"] + (["skipped"] * 5 if batches(app) else ["processed"] * 5)
    assert await statuses(app, ids) == ["processed"] * 6
    sheena = await one(app, Conversation, Conversation.last_message_preview == "message 4")
    assert sheena.unread_count == 5
    messages = await rows(app, Message, Message.conversation_id == sheena.id, order_by=Message.created_at)
    assert [m.body_text for m in messages] == [f"message {i}" for i in range(5)]
    other = await one(app, Message, Message.wamid == "wamid.batch-other")
    assert [e.data["id"] for e in captured.of_type("message.created")] == [str(m.id) for m in messages] + [
        str(other.id)
    ]
    created = captured.about("conversation.created", sheena.id)
    assert len(created) == 1
    if batches(app):
        # The conversation is announced once, in its state after the whole batch.
        assert created[0].data["unreadCount"] == 5
        assert captured.about("conversation.updated", sheena.id) == []
    else:
        assert [e.data["unreadCount"] for e in captured.about("conversation.updated", sheena.id)] == [
            2,
            3,
            4,
            5,
        ]


async def test_a_delivery_that_fails_in_a_batch_fails_alone(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await register(client, "Bad Apple Ltd")
    await connect_payload_numbers(admin)
    original = processing._HANDLERS[wa.InboundMessage]

    async def breaks_on_one(session: AsyncSession, update: Any, outcome: Outcome) -> None:
        if update.wamid == "wamid.apple-bad":
            raise RuntimeError("this delivery breaks")
        await original(session, update, outcome)

    monkeypatch.setitem(processing._HANDLERS, wa.InboundMessage, breaks_on_one)
    ids = await store(
        app,
        text_from(SHEENA, "wamid.apple-0", 1749417000, "first"),
        text_from(SHEENA, "wamid.apple-bad", 1749417001, "broken"),
        b'{"object": "whatsapp_business_account", "entry": "not a list"}',
        text_from(SHEENA, "wamid.apple-2", 1749417002, "third"),
    )

    results = []
    for event_id in ids:
        try:
            results.append(await process_webhook_event(str(event_id)))
        except RuntimeError as exc:
            results.append(str(exc))

    # A batch met them first, or each job its own delivery; either way the others went through.
    if batches(app):
        assert results == ["processed", "skipped", "skipped", "skipped"]
    else:
        assert results == ["processed", "this delivery breaks", "failed", "processed"]
    assert await statuses(app, ids) == ["processed", "failed", "failed", "processed"]
    failed = await one(app, WebhookEvent, WebhookEvent.id == ids[1])
    assert failed.error == "RuntimeError: this delivery breaks"
    assert failed.attempts == 1
    assert str(failed.tenant_id) == admin.tenant_id  # its company's admins see it and can replay it
    unparseable = await one(app, WebhookEvent, WebhookEvent.id == ids[2])
    assert (unparseable.error or "").startswith("unparseable")
    bodies = [m.body_text for m in await rows(app, Message, order_by=Message.created_at)]
    assert bodies == ["first", "third"]


def status_of(wamid: str, status: str, timestamp: int, *, callback: str | None = None) -> dict[str, Any]:
    payload = copy.deepcopy(payload_json("status_sent_with_conversation_pricing.json"))
    item = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    item.update(id=wamid, status=status, timestamp=str(timestamp))
    if callback is not None:
        item["biz_opaque_callback_data"] = callback
    return payload


async def test_status_deliveries_are_applied_together_each_message_ending_at_its_highest_status(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Status Batch Ltd")
    await connect_payload_numbers(admin)
    first = await seed_outbound(app, admin.tenant_id, MAIN_NUMBER, SHEENA, "wamid.sb-1")
    second = await seed_outbound(app, admin.tenant_id, MAIN_NUMBER, SHEENA, "wamid.sb-2")
    # A status that overtook its send's commit: the message has no wamid yet, our id is in the callback data.
    overtaken = await seed_outbound(
        app, admin.tenant_id, MAIN_NUMBER, SHEENA, None, status=MessageStatus.SENDING
    )
    mixed = text_from(SHEENA, "wamid.sb-inbound", 1750040000, "and a reply")
    mixed["entry"][0]["changes"][0]["value"]["statuses"] = status_of("wamid.sb-2", "delivered", 1750040001)[
        "entry"
    ][0]["changes"][0]["value"]["statuses"]
    ids = await store(
        app,
        status_of("wamid.sb-1", "read", 1750040010),
        status_of("wamid.sb-2", "delivered", 1750040002),
        status_of("wamid.sb-1", "delivered", 1750040005),
        text_from(SHEENA, "wamid.sb-text", 1750040003, "not a status"),
        status_of("wamid.sb-3", "sent", 1750040004, callback=str(overtaken)),
        mixed,
    )

    results = [await process_webhook_event(str(i)) for i in ids]
    await settle(app)

    if batches(app):
        # The statuses went together; the inbound message and the delivery carrying both went on their own.
        assert results == ["processed", "skipped", "skipped", "processed", "skipped", "processed"]
    else:
        assert results == ["processed"] * 6
    assert await statuses(app, ids) == ["processed"] * 6
    found = {m.id: m for m in await rows(app, Message, Message.id.in_([first, second, overtaken]))}
    assert found[first].status == MessageStatus.READ
    assert found[first].delivered_at is not None
    assert found[first].read_at is not None
    assert found[second].status == MessageStatus.DELIVERED
    assert (found[overtaken].status, found[overtaken].wamid) == (MessageStatus.SENT, "wamid.sb-3")
    assert await one(app, Message, Message.wamid == "wamid.sb-inbound")


async def test_a_new_customer_who_opts_out_and_writes_in_one_batch_is_one_contact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Opt Out Batch Ltd")
    await connect_payload_numbers(admin)
    newcomer = "16505559876"
    stop = copy.deepcopy(payload_json("user_preferences_marketing_resume.json"))
    value = stop["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = newcomer
    value["user_preferences"][0].update(wa_id=newcomer, value="stop", detail="User requested to stop")
    ids = await store(app, stop, text_from(newcomer, "wamid.optout-then-text", 1750050000, "still here"))

    results = [await process_webhook_event(str(i)) for i in ids]
    await settle(app)

    assert results == (["processed", "skipped"] if batches(app) else ["processed", "processed"])
    contacts = await rows(app, Contact, Contact.wa_id == newcomer)
    assert len(contacts) == 1
    assert contacts[0].opted_out
    message = await one(app, Message, Message.wamid == "wamid.optout-then-text")
    assert message.contact_id == contacts[0].id


async def test_a_job_s_probe_finds_its_delivery_waiting_only_while_received_and_held_by_no_transaction(
    app: FastAPI,
) -> None:
    if not batches(app):
        pytest.skip("jobs probe their delivery on PostgreSQL only (SQLite serialises them instead)")
    engine = app.state.runtime.engine
    (key,) = await store(app, text_from(SHEENA, "wamid.probed", 1749417000, "probed"))
    assert await waiting(engine, key)

    async with db(app) as session:
        await session.get(WebhookEvent, key, with_for_update=True)
        assert not await waiting(engine, key)  # another job's batch holds it
        assert await waiting(engine, uuid.uuid4()) is False  # unknown
    assert await waiting(engine, key)

    async with db(app) as session:
        await session.execute(
            update(WebhookEvent).where(WebhookEvent.id == key).values(status=WebhookEventStatus.PROCESSED)
        )
    assert not await waiting(engine, key)


async def test_a_batch_from_known_customers_costs_one_insert_per_message_beyond_its_fixed_statements(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    if not batches(app):
        pytest.skip("SQLite applies one delivery per transaction")
    admin = await register(client, "Flush Ltd")
    await connect_payload_numbers(admin)
    customers = ["16505550101", "16505550102"]
    first = await store(app, *(text_from(c, f"wamid.known-{c}", 1749418000, "hello") for c in customers))
    assert await process_webhook_event(str(first[0])) == "processed"

    async def statements_for(count: int, tag: str, sent_from: int) -> int:
        ids = await store(
            app,
            *(text_from(customers[k % 2], f"wamid.{tag}-{k}", sent_from + k, f"m{k}") for k in range(count)),
        )
        with counting_statements(app) as statements:
            assert await process_webhook_event(str(ids[0])) == "processed"
        assert await statuses(app, ids) == ["processed"] * count
        return len(statements)

    # Each message is one INSERT; its contact's and conversation's changes are written with the others'.
    four = await statements_for(4, "four", sent_from=1749418100)
    eight = await statements_for(8, "eight", sent_from=1749418200)
    assert eight - four == 4
