"""POST /api/messages against the built-in Cloud API simulator: a message is queued, sent within its number's
pace, and its status follows Meta's webhooks to read; Meta's refusals end as `failed` with the catalogue's
explanation, rate limits are retried, a revoked token flags the number, a failed message can really be sent
again, read receipts reach Meta, and an Idempotency-Key sends once."""

from __future__ import annotations

import asyncio
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
    capture_events,
    count,
    db,
    encode,
    one,
    payload_json,
    rows,
    seed_outbound,
    settle,
    simulated_app,
    simulator_of,
    sync_numbers,
)
from sqlalchemy import update
from tenacity import wait_fixed

from conftest import Account, assert_error, register
from wadesk.config import Settings
from wadesk.contacts.models import Contact
from wadesk.db.base import utcnow
from wadesk.messages import tasks as message_tasks
from wadesk.messages.models import Message, MessageStatus
from wadesk.ops.demo_seed import DEMO_ACCESS_TOKEN, DEMO_PHONE_NUMBER_ID
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.webhooks.models import WebhookEvent
from wadesk.webhooks.tasks import process_webhook_event
from wadesk.whatsapp.graph import SendResult
from wadesk.whatsapp.simulator import SimulatedPhoneNumber, StatusDelays

IN_WINDOW = "+15551234001"  # the demo customer who wrote minutes ago
OUT_OF_WINDOW = "+15551234003"


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with simulated_app(settings) as application:
        yield application


@pytest_asyncio.fixture(loop_scope="session")
async def admin(app: FastAPI, demo: dict[str, Account]) -> Account:
    await sync_numbers(app)
    return demo["admin"]


@pytest.fixture(autouse=True)
def quick_send_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Same attempts, shorter pauses between them: the test is about what is retried, not for how long.
    monkeypatch.setattr(message_tasks, "SEND_RETRY_WAIT", wait_fixed(0.05))


async def send(
    account: Account, to: str, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    payload = {"phoneNumberId": DEMO_PHONE_NUMBER_ID, "to": to, **body}
    return await account.post("/api/messages", json=payload, headers=headers or {})


def hello_world() -> dict[str, Any]:
    return {"type": "template", "template": {"name": "hello_world", "language": "en_US"}}


async def message_out(account: Account, message_id: str) -> dict[str, Any]:
    response = await account.get(f"/api/messages/{message_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_text_in_the_window_is_sent_then_delivered_then_read(app: FastAPI, admin: Account) -> None:
    simulator = simulator_of(app)
    async with capture_events(app, admin.tenant_id) as captured:
        response = await send(admin, IN_WINDOW, type="text", text="Your order ships today")
        assert response.status_code == 202, response.text
        queued = response.json()
        assert queued["status"] == "queued"
        assert queued["wamid"] is None
        await settle(app)

    message = await message_out(admin, queued["id"])
    assert message["status"] == "read"
    assert message["wamid"].startswith("wamid.")
    assert all(message[key] for key in ("sentAt", "deliveredAt", "readAt"))
    assert message["error"] is None
    (sent,) = [m for m in simulator.sent_messages if m.wamid == message["wamid"]]
    assert sent.wa_id == "15551234001"
    assert sent.type == "text"
    assert sent.content == {"body": "Your order ships today", "preview_url": False}
    assert sent.biz_opaque_callback_data == queued["id"]
    # Agents saw it appear, then each status change.
    statuses = [e.data["status"] for e in captured.about("message.updated", queued["id"])]
    assert statuses[-1] == "read"
    assert [e.data["status"] for e in captured.about("message.created", queued["id"])] == ["queued"]


async def test_a_template_outside_the_window_is_sent(app: FastAPI, admin: Account) -> None:
    response = await send(admin, OUT_OF_WINDOW, **hello_world())
    assert response.status_code == 202, response.text
    await settle(app)
    message = await message_out(admin, response.json()["id"])
    assert message["status"] == "read"
    (sent,) = [m for m in simulator_of(app).sent_messages if m.wamid == message["wamid"]]
    assert sent.type == "template"
    assert sent.content["name"] == "hello_world"
    assert "rendered" not in sent.content  # our own keys stay with us


async def test_free_form_text_outside_the_window_is_refused_before_anything_is_stored(
    app: FastAPI, admin: Account
) -> None:
    before = await count(app, Message)
    error = assert_error(
        await send(admin, OUT_OF_WINDOW, type="text", text="hi"), 422, "customer_window_closed"
    )
    assert "template" in error["message"]
    assert await count(app, Message) == before


async def test_an_opted_out_contact_is_refused(app: FastAPI, admin: Account) -> None:
    async with db(app) as session:
        await session.execute(update(Contact).where(Contact.wa_id == "15551234001").values(opted_out=True))
    assert_error(await send(admin, IN_WINDOW, type="text", text="hi"), 422, "contact_opted_out")


@pytest.mark.parametrize(
    ("recipient", "code", "title"),
    [("+15550000404", 131026, "Message undeliverable"), ("+15550000470", 131047, "Re-engagement message")],
)
async def test_meta_accepts_then_fails_a_reserved_recipient_and_the_failure_is_explained(
    app: FastAPI, admin: Account, recipient: str, code: int, title: str
) -> None:
    response = await send(admin, recipient, **hello_world())
    assert response.status_code == 202, response.text
    await settle(app)
    message = await message_out(admin, response.json()["id"])
    assert message["status"] == "failed"
    assert message["wamid"]  # Meta accepted it first
    assert message["failedAt"]
    assert message["error"]["code"] == code
    assert message["error"]["title"] == title
    assert message["error"]["explanation"]


async def test_meta_s_answer_arriving_after_a_failed_status_keeps_the_failure(
    app: FastAPI, admin: Account
) -> None:
    # The failed status webhook was applied while the send job still waited for Meta's answer.
    message_id = await seed_outbound(
        app, admin.tenant_id, DEMO_PHONE_NUMBER_ID, "15550001111", None, status=MessageStatus.SENDING
    )
    async with db(app, admin.tenant_id) as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(status=MessageStatus.FAILED, error_code=131026, error_title="Message undeliverable")
        )

    accepted = SendResult(wamid="wamid.late-answer", wa_id=None, input=None, message_status=None)
    await message_tasks._record_successes(
        app.state.runtime, uuid.UUID(admin.tenant_id), [(message_id, accepted)]
    )

    message = await one(app, Message, Message.id == message_id)
    assert (message.status, message.wamid) == (MessageStatus.FAILED, "wamid.late-answer")
    assert (message.error_code, message.error_title) == (131026, "Message undeliverable")
    assert message.sent_at is not None


async def test_a_rate_limited_send_is_retried_and_fails_only_after_the_last_attempt(
    app: FastAPI, admin: Account
) -> None:
    simulator = simulator_of(app)
    response = await send(admin, "+15550000429", **hello_world())
    assert response.status_code == 202, response.text
    await settle(app)
    message = await message_out(admin, response.json()["id"])
    assert message["status"] == "failed"
    assert message["wamid"] is None
    assert message["error"]["code"] == 130429
    assert message["error"]["explanation"]
    assert simulator.stats.responses_by_code["130429"] == message_tasks.MAX_SEND_ATTEMPTS
    stored = await one(app, Message, Message.id == uuid.UUID(message["id"]))
    assert stored.attempts == 1  # one claim; the retries are inside it


async def test_a_burst_over_meta_s_throughput_is_retried_until_sent(
    app: FastAPI, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator = simulator_of(app)
    monkeypatch.setattr(message_tasks, "SEND_RETRY_WAIT", wait_fixed(0.4))
    # Meta allows this number 2 messages a second; our own pacing is switched off, so the burst hits 130429.
    async with db(app) as session:
        await session.execute(
            update(PhoneNumber)
            .where(PhoneNumber.phone_number_id == DEMO_PHONE_NUMBER_ID)
            .values(messages_per_second=2)
        )
    await sync_numbers(app)

    class NoPacing:
        async def wait_for_slot(self, key: str, per_second: int) -> float:
            return 0.0

    monkeypatch.setattr(app.state.runtime, "pacer", NoPacing())
    responses = await asyncio.gather(*(send(admin, OUT_OF_WINDOW, **hello_world()) for _ in range(4)))
    assert {r.status_code for r in responses} == {202}
    await settle(app)

    statuses = [(await message_out(admin, r.json()["id"]))["status"] for r in responses]
    assert statuses == ["read"] * 4
    assert simulator.stats.responses_by_code["130429"] >= 2
    assert simulator.stats.responses_by_code["success"] >= 4


async def test_the_number_s_pace_keeps_meta_s_throughput_limit(app: FastAPI, admin: Account) -> None:
    simulator = simulator_of(app)
    async with db(app) as session:
        await session.execute(
            update(PhoneNumber)
            .where(PhoneNumber.phone_number_id == DEMO_PHONE_NUMBER_ID)
            .values(messages_per_second=5)
        )
    await sync_numbers(app)
    # Meta's `sent` statuses come once the burst is over: the pace is measured, not this process's load.
    simulator.config.status_delays = StatusDelays(sent=4.0, delivered=None, read=None)
    responses = await asyncio.gather(*(send(admin, OUT_OF_WINDOW, **hello_world()) for _ in range(10)))
    assert {r.status_code for r in responses} == {202}
    await settle(app)

    assert simulator.stats.responses_by_code.get("130429", 0) == 0
    assert simulator.stats.max_calls_in_window(DEMO_PHONE_NUMBER_ID) <= 5
    calls = sorted(simulator.stats.calls_per_second(DEMO_PHONE_NUMBER_ID).items())
    assert sum(n for _, n in calls) == 10
    assert [(await message_out(admin, r.json()["id"]))["status"] for r in responses] == ["sent"] * 10


async def test_a_revoked_token_fails_the_send_and_flags_the_number_until_an_admin_replaces_it(
    app: FastAPI, admin: Account
) -> None:
    simulator = simulator_of(app)
    simulator.expire_access_token(DEMO_ACCESS_TOKEN)
    async with capture_events(app, admin.tenant_id) as captured:
        response = await send(admin, OUT_OF_WINDOW, **hello_world())
        await settle(app)

    message = await message_out(admin, response.json()["id"])
    assert message["status"] == "failed"
    assert message["error"]["code"] == 190
    assert message["error"]["explanation"]
    number = (await admin.get("/api/phone-numbers")).json()[0]
    assert number["status"] == "needs_credentials"
    assert [e.data["status"] for e in captured.of_type("phone_number.updated")] == ["needs_credentials"]
    assert simulator.stats.responses_by_code["190"] == 1  # an auth error is not retried
    assert_error(await send(admin, OUT_OF_WINDOW, **hello_world()), 422, "phone_number_needs_credentials")

    # The admin enters the new token (Meta knows it); retrying the message now sends it, under a new wamid.
    new_token = "renewed-demo-access-token"
    patched = await admin.patch(f"/api/phone-numbers/{number['id']}", json={"accessToken": new_token})
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "connected"
    registered = simulator.phone_number(DEMO_PHONE_NUMBER_ID)
    assert registered is not None
    simulator.register_phone_number(
        SimulatedPhoneNumber(
            phone_number_id=DEMO_PHONE_NUMBER_ID,
            waba_id=registered.waba_id,
            display_phone_number=registered.display_phone_number,
            access_token=new_token,
        )
    )
    retried = await admin.post(f"/api/messages/{message['id']}/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "queued"
    assert retried.json()["error"] is None
    await settle(app)
    resent = await message_out(admin, message["id"])
    assert resent["status"] == "read"
    assert resent["wamid"]


async def test_retrying_a_failed_message_really_sends_it_again_under_a_new_wamid(
    app: FastAPI, admin: Account
) -> None:
    simulator = simulator_of(app)
    response = await send(admin, "+15550000404", **hello_world())
    await settle(app)
    first = await message_out(admin, response.json()["id"])
    assert first["status"] == "failed"

    retried = await admin.post(f"/api/messages/{first['id']}/retry")
    assert retried.status_code == 202, retried.text
    await settle(app)

    second = await message_out(admin, first["id"])
    assert second["wamid"] != first["wamid"]
    attempts = [m for m in simulator.sent_messages if m.biz_opaque_callback_data == first["id"]]
    assert [m.wamid for m in attempts] == [first["wamid"], second["wamid"]]
    # The reserved recipient fails again: a new failure of the new attempt.
    assert second["status"] == "failed"
    assert second["error"]["code"] == 131026
    assert (await one(app, Message, Message.id == uuid.UUID(first["id"]))).attempts == 2


async def test_only_failed_outbound_messages_can_be_retried(app: FastAPI, admin: Account) -> None:
    response = await send(admin, IN_WINDOW, type="text", text="fine")
    await settle(app)
    assert_error(await admin.post(f"/api/messages/{response.json()['id']}/retry"), 422, "not_retryable")
    assert_error(await admin.post(f"/api/messages/{uuid.uuid4()}/retry"), 404)


async def test_marking_an_inbound_message_read_sends_the_read_receipt(
    app: FastAPI, admin: Account, client: httpx.AsyncClient
) -> None:
    simulator = simulator_of(app)
    inbound = await client.post(
        "/simulator/inbound",
        json={"phoneNumberId": DEMO_PHONE_NUMBER_ID, "from": "15551234002", "text": "Is anyone there?"},
    )
    assert inbound.status_code == 200, inbound.text
    wamid = inbound.json()["wamid"]
    await settle(app)
    message = await one(app, Message, Message.wamid == wamid)
    conversation = (await admin.get(f"/api/conversations/{message.conversation_id}")).json()
    assert conversation["unreadCount"] >= 1

    response = await admin.patch(f"/api/messages/{message.id}", json={"status": "read"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "read"
    await settle(app)

    assert simulator.stats.total_mark_read == 1
    conversation = (await admin.get(f"/api/conversations/{message.conversation_id}")).json()
    assert conversation["unreadCount"] == 0
    assert_error(await admin.patch(f"/api/messages/{message.id}", json={"status": "delivered"}), 422)


async def test_an_idempotency_key_sends_once_and_refuses_another_body(app: FastAPI, admin: Account) -> None:
    simulator = simulator_of(app)
    key = {"Idempotency-Key": f"order-{uuid.uuid4().hex}"}
    first = await send(admin, IN_WINDOW, type="text", text="Once only", headers=key)
    again = await send(admin, IN_WINDOW, type="text", text="Once only", headers=key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert_error(
        await send(admin, IN_WINDOW, type="text", text="Something else", headers=key),
        422,
        "idempotency_key_reused",
    )
    await settle(app)
    assert len([m for m in simulator.sent_messages if m.biz_opaque_callback_data == first.json()["id"]]) == 1


async def test_an_inbound_photo_is_downloaded_into_storage_and_served(
    app: FastAPI, admin: Account, client: httpx.AsyncClient
) -> None:
    inbound = await client.post(
        "/simulator/inbound",
        json={
            "phoneNumberId": DEMO_PHONE_NUMBER_ID,
            "from": "15551234001",
            "type": "image",
            "caption": "the crack",
        },
    )
    assert inbound.status_code == 200, inbound.text
    await settle(app)
    message = await one(app, Message, Message.wamid == inbound.json()["wamid"])
    assert message.content["media"]["stored"] is True
    media = await admin.get(f"/api/messages/{message.id}/media")
    assert media.status_code == 200
    assert media.headers["content-type"].startswith(message.content["media"]["mimeType"])
    assert len(media.content) == message.content["media"]["size"]


async def test_a_failed_media_download_keeps_the_message_and_can_be_retried(
    app: FastAPI, admin: Account, client: httpx.AsyncClient
) -> None:
    simulator = simulator_of(app)
    inbound = await client.post(
        "/simulator/inbound",
        json={
            "phoneNumberId": DEMO_PHONE_NUMBER_ID,
            "from": "15551234001",
            "type": "document",
            "filename": "a.pdf",
        },
    )
    await settle(app)
    message = await one(app, Message, Message.wamid == inbound.json()["wamid"])
    assert message.content["media"]["stored"] is True
    # Pretend the first download had failed (Meta's URL expired): the message is there, the file is not.
    async with db(app) as session:
        stored = await session.get(Message, message.id)
        assert stored is not None
        stored.content = {**stored.content, "media": {"stored": False, "error": "URL expired"}}
    assert_error(await admin.get(f"/api/messages/{message.id}/media"), 404, "media_not_found")
    assert (await admin.get(f"/api/messages/{message.id}")).status_code == 200

    retried = await admin.post(f"/api/messages/{message.id}/media/retry")
    assert retried.status_code == 202, retried.text
    await settle(app)
    assert (await admin.get(f"/api/messages/{message.id}/media")).status_code == 200
    assert simulator.stats.snapshot()["totalSends"] == 0


async def test_messages_and_numbers_of_another_company_are_not_found(
    app: FastAPI, admin: Account, client: httpx.AsyncClient
) -> None:
    response = await send(admin, IN_WINDOW, type="text", text="private")
    await settle(app)
    other = await register(client, "Nosy Ltd")
    message_id = response.json()["id"]
    for method, path in (
        ("GET", f"/api/messages/{message_id}"),
        ("POST", f"/api/messages/{message_id}/retry"),
        ("GET", f"/api/messages/{message_id}/media"),
        ("POST", f"/api/messages/{message_id}/media/retry"),
    ):
        assert_error(await other.request(method, path), 404)
    assert_error(await send(other, IN_WINDOW, **hello_world()), 404, "phone_number_not_found")
    assert await rows(app, Message, Message.tenant_id == uuid.UUID(other.tenant_id)) == []


async def _abandoned_send(app: FastAPI, tenant_id: str, text: str) -> uuid.UUID:
    """A message a worker claimed and died with: `sending`, its claim older than a claim lasts."""
    message_id = await seed_outbound(
        app, tenant_id, DEMO_PHONE_NUMBER_ID, IN_WINDOW[1:], None, status=MessageStatus.SENDING, text=text
    )
    async with db(app, tenant_id) as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(updated_at=utcnow() - message_tasks.CLAIM_EXPIRES_AFTER - timedelta(seconds=1))
        )
    return message_id


def _sent_status_naming(message_id: uuid.UUID, wamid: str) -> bytes:
    payload = payload_json("status_sent_with_biz_opaque_callback_data.json")
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = DEMO_PHONE_NUMBER_ID
    value["contacts"][0]["wa_id"] = IN_WINDOW[1:]
    value["statuses"][0].update(
        id=wamid, recipient_id=IN_WINDOW[1:], biz_opaque_callback_data=str(message_id)
    )
    return encode(payload)


async def test_a_send_taken_over_from_a_dead_worker_is_not_repeated_when_meta_s_status_of_it_waits(
    app: FastAPI, admin: Account
) -> None:
    reached_meta = await _abandoned_send(app, admin.tenant_id, "Reached Meta before the crash")
    raw = _sent_status_naming(reached_meta, "wamid.before-the-crash")
    async with db(app) as session:
        event = WebhookEvent(raw_body=raw, headers={}, body_sha256=hashlib.sha256(raw).hexdigest())
        session.add(event)
    never_sent = await _abandoned_send(app, admin.tenant_id, "Lost with the worker")

    assert await message_tasks.send_message(str(reached_meta), admin.tenant_id) == "skipped"
    assert await process_webhook_event(str(event.id)) == "processed"
    # The takeover of a message no status names sends it.
    await message_tasks.send_message(str(never_sent), admin.tenant_id)
    await settle(app)

    bodies = [m.content.get("body") for m in simulator_of(app).sent_messages if isinstance(m.content, dict)]
    assert "Reached Meta before the crash" not in bodies
    assert bodies.count("Lost with the worker") == 1
    recorded = await one(app, Message, Message.id == reached_meta)
    assert (recorded.wamid, recorded.status) == ("wamid.before-the-crash", MessageStatus.SENT)
    assert (await one(app, Message, Message.id == never_sent)).status != MessageStatus.SENDING


async def test_a_campaign_hand_over_is_sent_by_one_job_each_message_to_its_own_outcome(
    app: FastAPI, admin: Account
) -> None:
    accepted = await seed_outbound(
        app, admin.tenant_id, DEMO_PHONE_NUMBER_ID, IN_WINDOW[1:], None, status=MessageStatus.QUEUED,
        text="First of the hand-over",
    )  # fmt: skip
    refused = await seed_outbound(
        app, admin.tenant_id, DEMO_PHONE_NUMBER_ID, IN_WINDOW[1:], None, status=MessageStatus.QUEUED, text=""
    )
    held_elsewhere = await seed_outbound(
        app, admin.tenant_id, DEMO_PHONE_NUMBER_ID, IN_WINDOW[1:], None, status=MessageStatus.SENDING,
        text="Claimed by another worker",
    )  # fmt: skip
    ids = [str(accepted), str(refused), str(held_elsewhere)]

    assert await message_tasks.send_messages(ids, admin.tenant_id) == "sent 1 of 3"
    await settle(app)

    bodies = [m.content.get("body") for m in simulator_of(app).sent_messages if isinstance(m.content, dict)]
    assert bodies.count("First of the hand-over") == 1
    assert "Claimed by another worker" not in bodies
    sent = await one(app, Message, Message.id == accepted)
    assert sent.wamid is not None
    assert sent.status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)
    failed = await one(app, Message, Message.id == refused)
    assert (failed.status, failed.error_code) == (MessageStatus.FAILED, 100)
    assert (await one(app, Message, Message.id == held_elsewhere)).status == MessageStatus.SENDING
    # Run again (the queue delivers at least once): nothing is sent twice.
    assert await message_tasks.send_messages(ids, admin.tenant_id) == "sent 0 of 3"
    await settle(app)
    bodies = [m.content.get("body") for m in simulator_of(app).sent_messages if isinstance(m.content, dict)]
    assert bodies.count("First of the hand-over") == 1
