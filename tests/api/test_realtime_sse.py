"""GET /api/events: a Server-Sent Events stream of the signed-in user's company: each event with an id that
grows per company, a reconnecting client resumes with Last-Event-ID, heartbeats keep the stream open, and
nobody hears another company's events or events addressed to someone else."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pipeline_kit import (
    SseClient,
    connect_number,
    connect_payload_numbers,
    one,
    payload_bytes,
    payload_json,
    post_webhook,
    settle,
    simulated_app,
)

from conftest import Account, assert_error, register
from wadesk.config import Settings
from wadesk.messages.models import Message
from wadesk.realtime import router as realtime_router

TEXT_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with simulated_app(settings) as application:
        yield application


def stream_of(app: FastAPI, account: Account, **headers: str) -> SseClient:
    return SseClient(app, headers={"Authorization": f"Bearer {account.token}", **headers})


async def test_the_stream_opens_with_a_ready_event_and_stream_headers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Stream Headers Ltd")
    async with stream_of(app, admin) as stream:
        ready = await stream.next_event()
        assert stream.status == 200
        assert stream.response_headers["content-type"].startswith("text/event-stream")
        assert stream.response_headers["cache-control"] == "no-store"
        assert stream.response_headers.get("x-accel-buffering") == "no"
    assert ready.event == "ready"
    assert ready.json() == {"userId": admin.user["id"]}
    assert "retry: 3000" in stream.raw


async def test_a_stream_needs_a_valid_access_token(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/events"), 401)
    assert_error(await client.get("/api/events", headers={"Authorization": "Bearer nope"}), 401)


async def test_a_company_s_clients_receive_its_messages_and_another_company_s_client_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ours = await register(client, "Stream Ours Ltd")
    theirs = await register(client, "Stream Theirs Ltd")
    await connect_payload_numbers(ours)
    await connect_number(theirs, "5550001111", "5550002222", "15550001111")

    async with stream_of(app, ours) as mine, stream_of(app, theirs) as other:
        assert (await mine.next_event()).event == "ready"
        assert (await other.next_event()).event == "ready"
        assert (await post_webhook(client, payload_bytes("inbound_text.json"))).status_code == 200
        await settle(app)
        received = await mine.events_until("message.created")
        assert await other.silence(1.0) == []

    message = await one(app, Message, Message.wamid == TEXT_WAMID)
    created = received[-1]
    assert created.json()["id"] == str(message.id)
    assert created.json()["content"] == {"body": "Does it come in another color?"}
    assert created.id is not None
    ids = [int(e.id) for e in received if e.id is not None]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


async def test_a_reconnecting_client_gets_what_it_missed_with_last_event_id(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Stream Resume Ltd")
    await connect_payload_numbers(admin)
    async with stream_of(app, admin) as first:
        await first.next_event()
        assert (await post_webhook(client, payload_bytes("inbound_text.json"))).status_code == 200
        await settle(app)
        seen = await first.events_until("message.created")
    last_seen = seen[-1].id
    assert last_seen is not None

    # While the client is away, the customer writes again.
    later = payload_json("inbound_text.json")
    later["entry"][0]["changes"][0]["value"]["messages"][0].update(
        id="wamid.while-away", timestamp="1749416999"
    )
    assert (await post_webhook(client, later)).status_code == 200
    await settle(app)

    async with stream_of(app, admin, **{"Last-Event-ID": last_seen}) as resumed:
        assert (await resumed.next_event()).event == "ready"
        missed = await resumed.events_until("message.created")
    assert all(int(e.id or 0) > int(last_seen) for e in missed)
    message = await one(app, Message, Message.wamid == "wamid.while-away")
    assert missed[-1].json()["id"] == str(message.id)

    # Without Last-Event-ID a client starts from now: nothing is replayed.
    async with stream_of(app, admin) as fresh:
        await fresh.next_event()
        assert await fresh.silence(0.5) == []


async def test_heartbeats_keep_an_idle_stream_open(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert realtime_router.HEARTBEAT_SECONDS <= 30  # well under common proxy idle timeouts
    monkeypatch.setattr(realtime_router, "HEARTBEAT_SECONDS", 0.2)
    admin = await register(client, "Stream Heartbeat Ltd")
    async with stream_of(app, admin) as stream:
        await stream.next_event()
        # Two heartbeats on an idle stream, and nothing else; bounded, however slow the machine.
        for _ in range(50):
            assert await stream.silence(0.2) == []
            if stream.raw.count(": ping") >= 2:
                break
    assert stream.raw.count(": ping") >= 2


async def test_an_event_addressed_to_some_users_reaches_them_and_admins_only(
    app: FastAPI, client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    admin, agent = demo["admin"], demo["agent"]
    bus = app.state.runtime.bus
    async with stream_of(app, admin) as admin_stream, stream_of(app, agent) as agent_stream:
        await admin_stream.next_event()
        await agent_stream.next_event()
        await bus.publish(
            uuid.UUID(admin.tenant_id),
            "note.mentioned",
            {"text": "for the admin"},
            frozenset({uuid.UUID(admin.user["id"])}),
        )
        await bus.publish(uuid.UUID(admin.tenant_id), "note.shared", {"text": "for everyone"})
        admin_events = [await admin_stream.next_event(), await admin_stream.next_event()]
        agent_events = [await agent_stream.next_event()]
        assert await agent_stream.silence(0.3) == []
    assert [e.event for e in admin_events] == ["note.mentioned", "note.shared"]
    assert [e.event for e in agent_events] == ["note.shared"]
    assert json.loads(agent_events[0].data) == {"text": "for everyone"}
