"""Outbound webhooks against a real HTTP receiver on a local port: deliveries are signed (the signature
verifies), retried on errors and timeouts with their attempts logged, replayed byte for byte, and refused
for private addresses in production."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pipeline_kit import db, post_webhook, rows, settle
from sqlalchemy import update

from conftest import Account, Backend, assert_error, make_settings, register
from wadesk.app import create_app
from wadesk.config import Settings
from wadesk.db.base import utcnow
from wadesk.integrations.models import OutboundDelivery, OutboundWebhook
from wadesk.integrations.service import OutboundSender, queue_due_deliveries, retry_delay
from wadesk.integrations.signing import SIGNATURE_HEADER, verify_signature
from wadesk.whatsapp.simulator import InboundMessage, build_inbound_message_payload


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """A webhook endpoint: records every request; answers per `plan` (status, delay seconds), then 200."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    plan: list[tuple[int, float]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/wadesk"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, delay = self.plan.pop(0) if self.plan else (200, 0.0)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Received(headers, body))
        if delay:
            await asyncio.sleep(delay)
        reply = b"received" if status < 300 else b"receiver exploded"
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": reply})


@pytest_asyncio.fixture(loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(endpoint, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    endpoint.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield endpoint
    finally:
        server.should_exit = True
        await task


async def subscribe(admin: Account, url: str, events: list[str]) -> dict[str, Any]:
    response = await admin.post("/api/integrations/webhooks", json={"url": url, "events": events})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(admin: Account, webhook_id: str) -> list[dict[str, Any]]:
    response = await admin.get(f"/api/integrations/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def make_due(app: FastAPI, *, created_hours_ago: float = 0) -> None:
    """Skip the backoff wait: every pending delivery is due now (optionally created long ago)."""
    values: dict[str, Any] = {"next_attempt_at": utcnow() - timedelta(seconds=1)}
    if created_hours_ago:
        values["created_at"] = utcnow() - timedelta(hours=created_hours_ago)
    async with db(app) as session:
        await session.execute(
            update(OutboundDelivery)
            .where(OutboundDelivery.status == "pending")
            .values(**values)
            .execution_options(skip_tenant_scope=True)
        )
    await queue_due_deliveries(app.state.runtime)
    await settle(app)


# --- delivery and signature -----------------------------------------------------------------------------------


async def test_a_delivery_is_signed_and_the_signature_verifies(
    app: FastAPI, demo: dict[str, Account], receiver: Receiver
) -> None:
    admin = demo["admin"]
    webhook = await subscribe(admin, receiver.url, ["contact.created"])
    assert webhook["secret"].startswith("whsec_")
    assert "secret" not in (await admin.get(f"/api/integrations/webhooks/{webhook['id']}")).json()
    contact = (
        await admin.post("/api/contacts", json={"phone": "+15551230500", "name": "Webhook Test"})
    ).json()
    await settle(app)

    [request] = receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-wadesk-event"] == "contact.created"
    assert verify_signature(webhook["secret"], request.body, request.headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature("whsec_wrong", request.body, request.headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature(
        webhook["secret"], request.body + b" ", request.headers[SIGNATURE_HEADER.lower()]
    )
    event = request.json
    assert event["type"] == "contact.created"
    assert event["id"] == request.headers["x-wadesk-event-id"]
    assert event["tenantId"] == admin.tenant_id
    assert event["data"]["id"] == contact["id"]
    assert event["data"]["phone"] == "+15551230500"

    [delivery] = await deliveries(admin, webhook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["lastStatusCode"]) == ("succeeded", 1, 200)
    detail = (
        await admin.get(f"/api/integrations/webhooks/{webhook['id']}/deliveries/{delivery['id']}")
    ).json()
    assert detail["body"] == event
    [attempt] = detail["attemptLog"]
    assert attempt["statusCode"] == 200
    assert attempt["responseSnippet"] == "received"
    assert attempt["latencyMs"] >= 0


async def test_only_subscribed_events_are_delivered_and_internal_ones_never(
    app: FastAPI, demo: dict[str, Account], receiver: Receiver
) -> None:
    admin = demo["admin"]
    await subscribe(admin, receiver.url, ["*"])
    conversation = (await admin.get("/api/conversations", params={"search": "15551234001"})).json()["items"][
        0
    ]
    await admin.post(f"/api/conversations/{conversation['id']}/notes", json={"body": "internal"})
    await admin.post(f"/api/conversations/{conversation['id']}/presence", json={"state": "typing"})
    await admin.patch(f"/api/conversations/{conversation['id']}", json={"status": "pending"})
    await settle(app)
    assert [r.json["type"] for r in receiver.requests] == ["conversation.updated"]


async def test_events_from_whatsapp_webhooks_are_delivered_too(
    app: FastAPI, demo: dict[str, Account], receiver: Receiver
) -> None:
    await subscribe(demo["admin"], receiver.url, ["message.created"])
    payload = build_inbound_message_payload(
        InboundMessage(phoneNumberId="1234567890", sender="15551234001", text="Where is my order?"),
        waba_id="9876543210",
        display_phone_number="15550000000",
    )
    assert (await post_webhook(demo["admin"].http, payload)).status_code == 200
    await settle(app)
    [request] = receiver.requests
    assert request.json["data"]["content"]["body"] == "Where is my order?"


# --- retries --------------------------------------------------------------------------------------------------


async def test_a_failed_delivery_is_retried_with_backoff_and_every_attempt_logged(
    app: FastAPI, demo: dict[str, Account], receiver: Receiver
) -> None:
    admin = demo["admin"]
    webhook = await subscribe(admin, receiver.url, ["contact.created"])
    receiver.plan = [(500, 0.0)]
    before = utcnow()
    await admin.post("/api/contacts", json={"phone": "+15551230501"})
    await settle(app)
    [delivery] = await deliveries(admin, webhook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["lastStatusCode"]) == ("pending", 1, 500)
    next_at = datetime.fromisoformat(delivery["nextAttemptAt"])
    assert timedelta(seconds=20) < next_at - before < timedelta(seconds=40)

    await make_due(app)
    [delivery] = await deliveries(admin, webhook["id"])
    assert (delivery["status"], delivery["attempts"]) == ("succeeded", 2)
    detail = (
        await admin.get(f"/api/integrations/webhooks/{webhook['id']}/deliveries/{delivery['id']}")
    ).json()
    assert [(a["number"], a["statusCode"]) for a in detail["attemptLog"]] == [(1, 500), (2, 200)]
    assert detail["attemptLog"][0]["responseSnippet"] == "receiver exploded"
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["x-wadesk-event-id"] == second.headers["x-wadesk-event-id"]


async def test_a_timeout_is_retried(app: FastAPI, demo: dict[str, Account], receiver: Receiver) -> None:
    app.state.runtime.extras["outbound_sender"] = OutboundSender(timeout=0.3)
    admin = demo["admin"]
    webhook = await subscribe(admin, receiver.url, ["contact.created"])
    receiver.plan = [(200, 2.0)]
    await admin.post("/api/contacts", json={"phone": "+15551230502"})
    await settle(app)
    [delivery] = await deliveries(admin, webhook["id"])
    assert delivery["status"] == "pending"
    assert delivery["lastStatusCode"] is None
    assert "timed out" in delivery["lastError"]
    await make_due(app)
    [delivery] = await deliveries(admin, webhook["id"])
    assert (delivery["status"], delivery["attempts"]) == ("succeeded", 2)


async def test_retries_stop_after_24_hours(
    app: FastAPI, demo: dict[str, Account], receiver: Receiver
) -> None:
    admin = demo["admin"]
    webhook = await subscribe(admin, receiver.url, ["contact.created"])
    receiver.plan = [(503, 0.0), (503, 0.0)]
    await admin.post("/api/contacts", json={"phone": "+15551230503"})
    await settle(app)
    await make_due(app, created_hours_ago=23.99)
    [delivery] = await deliveries(admin, webhook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["nextAttemptAt"]) == ("failed", 2, None)
    await make_due(app)
    assert len(receiver.requests) == 2
    failed = await admin.get(
        f"/api/integrations/webhooks/{webhook['id']}/deliveries", params={"status": "failed"}
    )
    assert len(failed.json()["items"]) == 1


def test_the_backoff_doubles_from_30_seconds_to_an_hour() -> None:
    for attempt, base in [(1, 30), (2, 60), (3, 120), (6, 960), (8, 3600), (30, 3600)]:
        delay = retry_delay(attempt).total_seconds()
        assert base * 0.8 <= delay <= base * 1.2, (attempt, delay)


# --- replay, test ping, management ----------------------------------------------------------------------------


async def test_a_replayed_delivery_is_identical(
    app: FastAPI, demo: dict[str, Account], receiver: Receiver
) -> None:
    admin = demo["admin"]
    webhook = await subscribe(admin, receiver.url, ["contact.created"])
    await admin.post("/api/contacts", json={"phone": "+15551230504"})
    await settle(app)
    [original] = await deliveries(admin, webhook["id"])
    response = await admin.post(
        f"/api/integrations/webhooks/{webhook['id']}/deliveries/{original['id']}/replay"
    )
    assert response.status_code == 202, response.text
    replay = response.json()
    assert replay["replayOfId"] == original["id"]
    assert replay["eventId"] == original["eventId"]
    await settle(app)
    first, second = receiver.requests
    assert second.body == first.body
    assert second.headers["x-wadesk-event-id"] == first.headers["x-wadesk-event-id"]
    assert second.headers["x-wadesk-delivery-id"] == replay["id"]
    assert verify_signature(webhook["secret"], second.body, second.headers[SIGNATURE_HEADER.lower()])


async def test_a_test_ping_and_secret_rotation(
    app: FastAPI, demo: dict[str, Account], receiver: Receiver
) -> None:
    admin = demo["admin"]
    webhook = await subscribe(admin, receiver.url, ["contact.created"])
    rotated = (await admin.post(f"/api/integrations/webhooks/{webhook['id']}/rotate-secret")).json()["secret"]
    assert rotated != webhook["secret"]
    assert (await admin.post(f"/api/integrations/webhooks/{webhook['id']}/test")).status_code == 202
    await settle(app)
    [ping] = receiver.requests
    assert ping.json["type"] == "webhook.test"
    signature = ping.headers[SIGNATURE_HEADER.lower()]
    assert verify_signature(rotated, ping.body, signature)
    assert not verify_signature(webhook["secret"], ping.body, signature)
    actions = [
        a["action"] for a in (await admin.get("/api/audit", params={"action": "webhook."})).json()["items"]
    ]
    assert actions == ["webhook.secret_rotated", "webhook.created"]


async def test_a_disabled_or_deleted_webhook_receives_nothing(
    app: FastAPI, demo: dict[str, Account], receiver: Receiver
) -> None:
    admin = demo["admin"]
    webhook = await subscribe(admin, receiver.url, ["contact.created"])
    patched = await admin.patch(f"/api/integrations/webhooks/{webhook['id']}", json={"isActive": False})
    assert patched.json()["isActive"] is False
    await admin.post("/api/contacts", json={"phone": "+15551230505"})
    await settle(app)
    assert receiver.requests == []
    assert (await admin.delete(f"/api/integrations/webhooks/{webhook['id']}")).status_code == 204
    assert (await admin.get("/api/integrations/webhooks")).json() == []


async def test_subscriptions_are_validated_and_admin_only(
    demo: dict[str, Account], receiver: Receiver
) -> None:
    admin, agent = demo["admin"], demo["agent"]
    bad_event = await admin.post(
        "/api/integrations/webhooks", json={"url": receiver.url, "events": ["note.created"]}
    )
    assert "unknown event" in assert_error(bad_event, 422)["message"]
    bad_url = await admin.post("/api/integrations/webhooks", json={"url": "ftp://x.example", "events": ["*"]})
    assert_error(bad_url, 422, "invalid_webhook_url")
    creds = await admin.post(
        "/api/integrations/webhooks", json={"url": "https://u:p@x.example/h", "events": ["*"]}
    )
    assert_error(creds, 422, "invalid_webhook_url")
    assert_error(await agent.get("/api/integrations/webhooks"), 403)
    assert_error(
        await agent.post("/api/integrations/webhooks", json={"url": receiver.url, "events": ["*"]}), 403
    )
    assert "message.created" in (await admin.get("/api/integrations/webhooks/events")).json()


async def test_another_companys_webhooks_and_deliveries_are_invisible(
    app: FastAPI, client: httpx.AsyncClient, demo: dict[str, Account], receiver: Receiver
) -> None:
    admin = demo["admin"]
    webhook = await subscribe(admin, receiver.url, ["contact.created"])
    await admin.post("/api/contacts", json={"phone": "+15551230506"})
    await settle(app)
    [delivery] = await deliveries(admin, webhook["id"])
    other = await register(client, "Other Hooks Co")
    base = f"/api/integrations/webhooks/{webhook['id']}"
    for method, url in [
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/rotate-secret"),
        ("POST", f"{base}/test"),
        ("GET", f"{base}/deliveries"),
        ("GET", f"{base}/deliveries/{delivery['id']}"),
        ("POST", f"{base}/deliveries/{delivery['id']}/replay"),
    ]:
        assert_error(await other.request(method, url, json={} if method == "PATCH" else None), 404)
    own = await subscribe(other, receiver.url, ["contact.created"])
    cross = await other.get(f"/api/integrations/webhooks/{own['id']}/deliveries/{delivery['id']}")
    assert_error(cross, 404)
    assert len(await rows(app, OutboundDelivery)) == 1


# --- SSRF -----------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def production_client(
    settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    backend = Backend("current", settings.resolved_database_url)
    production = make_settings(backend, tmp_path / "prod", env="production")
    application = create_app(production)
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=120):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50003))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            yield application, http


async def test_private_addresses_are_refused_in_production(
    production_client: tuple[FastAPI, httpx.AsyncClient], receiver: Receiver
) -> None:
    app, http = production_client
    admin = await register(http, "Production Co")
    for url in [
        receiver.url,
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ]:
        response = await admin.post("/api/integrations/webhooks", json={"url": url, "events": ["*"]})
        error = assert_error(response, 422)
        assert error["code"] in {"webhook_url_refused", "webhook_host_unresolvable"}, (url, error)
    public = await admin.post(
        "/api/integrations/webhooks", json={"url": "https://93.184.215.14/hook", "events": ["*"]}
    )
    assert public.status_code == 201, public.text

    # An address that turns private after the subscription (DNS change) is refused at delivery time too.
    webhook = public.json()
    async with db(app) as session:
        await session.execute(
            update(OutboundWebhook)
            .where(OutboundWebhook.id == uuid.UUID(webhook["id"]))
            .values(url=receiver.url)
            .execution_options(skip_tenant_scope=True)
        )
    await admin.post(f"/api/integrations/webhooks/{webhook['id']}/test")
    await settle(app)
    [delivery] = (await admin.get(f"/api/integrations/webhooks/{webhook['id']}/deliveries")).json()["items"]
    assert delivery["status"] == "failed"
    assert "private, loopback or link-local" in delivery["lastError"]
    assert receiver.requests == []


async def test_local_addresses_are_allowed_outside_production(
    demo: dict[str, Account], receiver: Receiver
) -> None:
    for url in (receiver.url, "http://localhost:9/hook", "http://10.1.2.3/hook"):
        response = await demo["admin"].post("/api/integrations/webhooks", json={"url": url, "events": ["*"]})
        assert response.status_code == 201, response.text
