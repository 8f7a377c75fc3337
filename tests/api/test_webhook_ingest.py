"""POST /api/webhook stores a verified delivery before answering, refuses what it cannot verify, and lets a
company's admins list and replay their events; GET answers Meta's subscription handshake. A company with its
own Meta app has its own address, verify token and app secrets."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pipeline_kit import (
    MAIN_NUMBER,
    connect_number,
    connect_payload_numbers,
    count,
    db,
    one,
    payload_bytes,
    post_webhook,
    rows,
    settle,
    signed_headers,
    simulated_app,
)
from sqlalchemy import text, update

from conftest import TEST_APP_SECRET, TEST_VERIFY_TOKEN, Account, assert_error, register
from wadesk.config import Settings
from wadesk.db.base import utcnow
from wadesk.db.session import database_unreachable
from wadesk.messages.models import Message
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.tenants.models import Tenant
from wadesk.webhooks import processing, repository
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus
from wadesk.whatsapp import webhook as wa
from wadesk.whatsapp.signature import SIGNATURE_HEADER, sign

TEXT_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
THREE_MB = 3 * 1024 * 1024


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with simulated_app(settings) as application:
        yield application


async def slug_of(account: Account) -> str:
    me = (await account.get("/api/auth/me")).json()
    return str(me["tenant"]["slug"])


# --- verification of the signature -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({SIGNATURE_HEADER: sign("some-other-app-secret", payload_bytes("inbound_text.json"))}, id="wrong-secret"),
        pytest.param(
            {"X-Hub-Signature": "sha1=" + hmac.new(TEST_APP_SECRET.encode(), payload_bytes("inbound_text.json"), hashlib.sha1).hexdigest()},
            id="sha1-only",
        ),
        pytest.param({SIGNATURE_HEADER: "sha256=not-hex"}, id="malformed"),
        pytest.param({SIGNATURE_HEADER: "sha256=" + "0" * 64}, id="forged"),
    ],
)  # fmt: skip
async def test_an_unverifiable_delivery_is_refused_with_401_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/webhook",
        content=payload_bytes("inbound_text.json"),
        headers={"Content-Type": "application/json", **headers},
    )
    assert_error(response, 401, "invalid_signature")
    assert await count(app, WebhookEvent) == 0


async def test_the_signature_covers_the_exact_raw_bytes(app: FastAPI, client: httpx.AsyncClient) -> None:
    raw = payload_bytes("inbound_text.json")
    # Same JSON, re-serialised: the signature of the original bytes no longer matches.
    reformatted = raw.replace(b"\n", b"")
    response = await client.post("/api/webhook", content=reformatted, headers=signed_headers(raw))
    assert_error(response, 401, "invalid_signature")
    assert await count(app, WebhookEvent) == 0


async def test_a_verified_delivery_is_stored_raw_before_the_200(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    raw = payload_bytes("inbound_text.json")
    response = await post_webhook(client, raw)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    event = await one(app, WebhookEvent, WebhookEvent.id == uuid.UUID(body["eventId"]))
    assert event.raw_body == raw
    assert event.body_sha256 == hashlib.sha256(raw).hexdigest()
    assert event.headers[SIGNATURE_HEADER.lower()] == sign(TEST_APP_SECRET, raw)
    await settle(app)


async def test_a_connection_the_database_dropped_is_not_handed_out_again(
    app: FastAPI, settings: Settings
) -> None:
    if not settings.resolved_database_url.startswith("postgresql"):
        pytest.skip("deliveries go to the driver itself on PostgreSQL only")
    engine = app.state.runtime.engine

    def delivery() -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "tenant_id": None,
            "raw_body": b"{}",
            "headers": {},
            "body_sha256": hashlib.sha256(b"{}").hexdigest(),
            "status": WebhookEventStatus.RECEIVED,
            "received_at": utcnow(),
        }

    await asyncio.gather(
        *(repository.store(engine, delivery()) for _ in range(3))
    )  # three pooled connections
    async with engine.connect() as admin:
        await admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    refusals = []
    for _ in range(engine.pool.size() + 1):
        try:
            await repository.store(engine, delivery())
            break
        except Exception as exc:
            refusals.append(exc)
    # Each connection the database dropped refuses one delivery as an unreachable database (a 503 that Meta
    # retries), never as an error of the delivery (a 500).
    assert all(database_unreachable(exc) for exc in refusals), refusals
    for _ in range(5):
        await repository.store(engine, delivery())
    assert await count(app, WebhookEvent) >= 8


async def test_a_previous_app_secret_is_accepted_during_a_rotation(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    rotated = settings.model_copy(
        update={"meta_app_secret": "the-new-app-secret-0123", "meta_previous_app_secrets": TEST_APP_SECRET}
    )
    async with simulated_app(rotated) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            old = await post_webhook(http, payload_bytes("inbound_text.json"), secret=TEST_APP_SECRET)
            new = await post_webhook(
                http, payload_bytes("inbound_text.json"), secret="the-new-app-secret-0123"
            )
            stale = await post_webhook(
                http, payload_bytes("inbound_text.json"), secret="an-older-secret-0123"
            )
        assert (old.status_code, new.status_code, stale.status_code) == (200, 200, 401)
        await settle(application)


async def test_a_verified_but_unparseable_delivery_is_stored_acknowledged_and_marked_failed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cases = [
        b"this is not json",
        b'{"object": "page", "entry": []}',
        b'{"object": "whatsapp_business_account"}',
    ]
    ids = []
    for raw in cases:
        response = await post_webhook(client, raw)
        assert response.status_code == 200, response.text
        ids.append(uuid.UUID(response.json()["eventId"]))
    await settle(app)
    for event_id, raw in zip(ids, cases, strict=True):
        event = await one(app, WebhookEvent, WebhookEvent.id == event_id)
        assert event.raw_body == raw
        assert event.status == WebhookEventStatus.FAILED
        assert event.error is not None
        assert event.error.startswith("unparseable: ")
        assert event.attempts == 1
    errors = [e.error or "" for e in await rows(app, WebhookEvent, order_by=WebhookEvent.received_at)]
    assert "not JSON" in errors[0]
    assert "'page'" in errors[1]


async def test_a_body_over_meta_s_3_mb_is_refused_with_413_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    raw = b'{"object":"whatsapp_business_account","entry":[],"pad":"' + b"x" * THREE_MB + b'"}'
    response = await client.post("/api/webhook", content=raw, headers=signed_headers(raw))
    assert_error(response, 413)
    assert await count(app, WebhookEvent) == 0


async def test_a_streamed_body_over_3_mb_without_a_length_is_refused_with_413(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    chunk = b"x" * (512 * 1024)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(7):
            yield chunk

    response = await client.post(
        "/api/webhook", content=body(), headers={SIGNATURE_HEADER: "sha256=" + "0" * 64}
    )
    assert response.status_code == 413
    assert await count(app, WebhookEvent) == 0


# --- the subscription handshake ------------------------------------------------------------------------------


async def test_the_handshake_answers_the_challenge_as_plain_text(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/webhook",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": TEST_VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, id="wrong-token"),
        pytest.param({"hub.mode": "unsubscribe", "hub.verify_token": TEST_VERIFY_TOKEN, "hub.challenge": "1"}, id="wrong-mode"),
        pytest.param({"hub.mode": "subscribe", "hub.challenge": "1"}, id="no-token"),
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": TEST_VERIFY_TOKEN}, id="no-challenge"),
    ],
)  # fmt: skip
async def test_a_handshake_that_does_not_match_is_refused_with_403(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_error(await client.get("/api/webhook", params=params), 403, "verification_failed")


# --- a company's own Meta app ---------------------------------------------------------------------------------


async def own_app_company(app: FastAPI, client: httpx.AsyncClient, name: str) -> tuple[Account, str, str]:
    """A company that brings its own Meta app: a verify token, and a number with its own app secret."""
    admin = await register(client, name)
    secret = f"own-app-secret-{uuid.uuid4().hex[:12]}"
    token = f"own-verify-token-{uuid.uuid4().hex[:12]}"
    await connect_number(admin, MAIN_NUMBER, "102290129340398", "15550783881", appSecret=secret)
    async with db(app) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == uuid.UUID(admin.tenant_id)).values(meta_verify_token=token)
        )
    return admin, secret, token


async def test_a_company_s_own_address_answers_the_handshake_with_its_verify_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin, _, token = await own_app_company(app, client, "Own App Ltd")
    slug = await slug_of(admin)
    ok = await client.get(
        f"/api/webhook/{slug}",
        params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"},
    )
    assert (ok.status_code, ok.text) == (200, "42")
    assert ok.headers["content-type"].startswith("text/plain")
    platform_token = await client.get(
        f"/api/webhook/{slug}",
        params={"hub.mode": "subscribe", "hub.verify_token": TEST_VERIFY_TOKEN, "hub.challenge": "42"},
    )
    assert_error(platform_token, 403, "verification_failed")
    unknown = await client.get(
        "/api/webhook/no-such-company", params={"hub.mode": "subscribe", "hub.verify_token": token}
    )
    assert_error(unknown, 404)


async def test_a_company_s_own_address_verifies_with_its_number_s_app_secret(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin, secret, _ = await own_app_company(app, client, "Own Secret Ltd")
    slug = await slug_of(admin)
    raw = payload_bytes("inbound_text.json")

    platform_signed = await post_webhook(client, raw, path=f"/api/webhook/{slug}")
    assert_error(platform_signed, 401, "invalid_signature")
    assert await count(app, WebhookEvent) == 0
    assert_error(await post_webhook(client, raw, secret=secret, path="/api/webhook/no-such-company"), 404)

    response = await post_webhook(client, raw, secret=secret, path=f"/api/webhook/{slug}")
    assert response.status_code == 200, response.text
    await settle(app)
    event = await one(app, WebhookEvent)
    assert event.tenant_id == uuid.UUID(admin.tenant_id)
    assert event.status == WebhookEventStatus.PROCESSED
    message = await one(app, Message, Message.wamid == TEXT_WAMID)
    assert message.tenant_id == uuid.UUID(admin.tenant_id)


async def test_a_company_s_own_app_cannot_write_into_another_company(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner, secret, _ = await own_app_company(app, client, "Own Scope Ltd")
    victim = await register(client, "Victim Ltd")
    await connect_number(victim, "1122334455667", "1234567890987654321", "972123456789")
    # Signed with the first company's secret, naming the second company's number.
    response = await post_webhook(
        client,
        payload_bytes("inbound_text_forwarded.json"),
        secret=secret,
        path=f"/api/webhook/{await slug_of(owner)}",
    )
    assert response.status_code == 200
    await settle(app)
    event = await one(app, WebhookEvent)
    assert event.status == WebhookEventStatus.PROCESSED
    assert event.tenant_id == uuid.UUID(owner.tenant_id)
    assert event.notes is not None
    assert "belongs to another company" in event.notes
    assert await rows(app, Message, Message.tenant_id == uuid.UUID(victim.tenant_id)) == []


async def test_an_unparseable_delivery_on_a_company_s_address_is_listed_for_its_admins(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin, secret, _ = await own_app_company(app, client, "Own Errors Ltd")
    response = await post_webhook(
        client, b"{broken", secret=secret, path=f"/api/webhook/{await slug_of(admin)}"
    )
    assert response.status_code == 200
    await settle(app)
    (listed,) = (await admin.get("/api/webhook/events", params={"status": "failed"})).json()["items"]
    assert listed["id"] == response.json()["eventId"]
    assert listed["error"].startswith("unparseable: ")
    assert listed["body"] == "{broken"


# --- listing and replaying ----------------------------------------------------------------------------------


async def test_admins_list_their_events_newest_first_with_status_filter_and_cursor(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Listing Ltd")
    await connect_payload_numbers(admin)
    names = ["inbound_text.json", "inbound_location.json", "inbound_image.json"]
    ids = []
    for name in names:
        ids.append((await post_webhook(client, payload_bytes(name))).json()["eventId"])
        await settle(app)

    first = (await admin.get("/api/webhook/events", params={"limit": 2})).json()
    second = (
        await admin.get("/api/webhook/events", params={"limit": 2, "cursor": first["nextCursor"]})
    ).json()
    assert [e["id"] for e in first["items"] + second["items"]] == ids[::-1]
    assert second["nextCursor"] is None
    item = first["items"][0]
    assert set(item) >= {
        "id",
        "status",
        "error",
        "notes",
        "attempts",
        "receivedAt",
        "processedAt",
        "bodySha256",
        "body",
    }
    assert item["status"] == "processed"
    assert item["attempts"] == 1
    assert (await admin.get("/api/webhook/events", params={"status": "received"})).json()["items"] == []
    assert_error(await admin.get("/api/webhook/events", params={"status": "lost"}), 422)


async def test_only_admins_of_the_company_see_and_replay_its_events(
    app: FastAPI, client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    await connect_payload_numbers(demo["admin"])
    event_id = (await post_webhook(client, payload_bytes("inbound_text.json"))).json()["eventId"]
    await settle(app)
    other = await register(client, "Other Admins Ltd")

    assert_error(await demo["agent"].get("/api/webhook/events"), 403)
    assert_error(await demo["agent"].post(f"/api/webhook/events/{event_id}/replay"), 403)
    assert (await other.get("/api/webhook/events")).json()["items"] == []
    assert_error(await other.post(f"/api/webhook/events/{event_id}/replay"), 404)
    assert_error(await client.get("/api/webhook/events"), 401)
    assert_error(await demo["admin"].post(f"/api/webhook/events/{uuid.uuid4()}/replay"), 404)


async def test_a_failed_event_keeps_its_reason_and_a_replay_after_the_fix_processes_it(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await register(client, "Replay Ltd")
    await connect_payload_numbers(admin)

    async def broken_handler(*_: Any) -> None:
        raise RuntimeError("the inbox store is read-only")

    monkeypatch.setitem(processing._HANDLERS, wa.InboundMessage, broken_handler)
    event_id = (await post_webhook(client, payload_bytes("inbound_text.json"))).json()["eventId"]
    await settle(app)

    (failed,) = (await admin.get("/api/webhook/events", params={"status": "failed"})).json()["items"]
    assert failed["id"] == event_id
    assert failed["error"] == "RuntimeError: the inbox store is read-only"
    assert failed["attempts"] == 1
    assert await rows(app, Message, Message.wamid == TEXT_WAMID) == []

    monkeypatch.undo()  # the fix is deployed
    replayed = await admin.post(f"/api/webhook/events/{event_id}/replay")
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "received"
    assert replayed.json()["error"] is None
    await settle(app)

    (done,) = (await admin.get("/api/webhook/events")).json()["items"]
    assert (done["status"], done["error"], done["attempts"]) == ("processed", None, 2)
    message = await one(app, Message, Message.wamid == TEXT_WAMID)
    assert message.tenant_id == uuid.UUID(admin.tenant_id)


async def test_a_delivery_whose_processing_loses_the_database_stays_received_for_the_sweeper(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await register(client, "Database Restart Ltd")
    await connect_payload_numbers(admin)

    async def database_gone(*_: Any) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setitem(processing._HANDLERS, wa.InboundMessage, database_gone)
    event_id = (await post_webhook(client, payload_bytes("inbound_text.json"))).json()["eventId"]
    await app.state.runtime.jobs.broker.wait_all()

    # Not the delivery's fault: neither failed nor counted as an attempt, and queued again it is processed.
    event = await one(app, WebhookEvent, WebhookEvent.id == uuid.UUID(event_id))
    assert (event.status, event.error, event.attempts) == (WebhookEventStatus.RECEIVED, None, 0)
    monkeypatch.undo()  # the database is back
    await app.state.runtime.jobs.send_now("process_webhook_event", event_id=event_id)
    await settle(app)
    event = await one(app, WebhookEvent, WebhookEvent.id == uuid.UUID(event_id))
    assert (event.status, event.attempts) == (WebhookEventStatus.PROCESSED, 1)
    assert len(await rows(app, Message, Message.wamid == TEXT_WAMID)) == 1


async def test_replaying_a_processed_event_changes_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await register(client, "Replay Twice Ltd")
    await connect_payload_numbers(admin)
    event_id = (await post_webhook(client, payload_bytes("inbound_text.json"))).json()["eventId"]
    await settle(app)
    before = await one(app, Message, Message.wamid == TEXT_WAMID)

    for _ in range(2):
        assert (await admin.post(f"/api/webhook/events/{event_id}/replay")).status_code == 200
    await settle(app)

    after = await one(app, Message, Message.wamid == TEXT_WAMID)
    assert after.id == before.id
    number = await one(app, PhoneNumber, PhoneNumber.phone_number_id == MAIN_NUMBER)
    assert await count(app, Message, Message.phone_number_id == number.id) == 1
    event = await one(app, WebhookEvent, WebhookEvent.id == uuid.UUID(event_id))
    assert event.status == WebhookEventStatus.PROCESSED


async def test_health_reports_unprocessed_events_and_the_oldest_one_s_age(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Stored but not queued (as when the queue was unreachable): health shows the backlog.
    async with db(app) as session:
        session.add(
            WebhookEvent(raw_body=b"{}", headers={}, body_sha256="0" * 64, status=WebhookEventStatus.RECEIVED)
        )
    await asyncio.sleep(0.05)
    database = (await client.get("/api/health")).json()["checks"]["database"]
    assert database["unprocessedWebhookEvents"] == 1
    assert database["oldestUnprocessedAgeSeconds"] > 0
