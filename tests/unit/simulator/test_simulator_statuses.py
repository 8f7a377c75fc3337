"""Status webhooks after a send: signed, Meta-shaped, in order unless told to misbehave."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from simulator_kit import APP_SECRET, CUSTOMER, PHONE_NUMBER_ID, TOKEN, WABA_ID, load_payload

from wadesk.whatsapp.signature import SIGNATURE_HEADER, verify_signature
from wadesk.whatsapp.simulator import StatusDelays


def text_message(to: str = "+" + CUSTOMER, **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "Hello"}, **extra}


async def send(harness, body: dict[str, Any]) -> str:
    """Send a message; its wamid (its statuses are still on their way)."""
    response = await harness.send(body)
    assert response.status_code == 200, response.text
    wamid = response.json()["messages"][0]["id"]
    assert isinstance(wamid, str)
    return wamid


async def send_and_settle(harness, body: dict[str, Any]) -> str:
    """Send a message and wait for every status webhook it causes; its wamid."""
    wamid = await send(harness, body)
    await harness.sim.drain(timeout=5)
    return wamid


async def test_statuses_arrive_signed_in_order(harness):
    wamid = await send_and_settle(harness, text_message())

    hooks = harness.receiver.received
    assert [h.value["statuses"][0]["status"] for h in hooks] == ["sent", "delivered", "read"]
    for hook in hooks:
        assert hook.signature_valid
        assert verify_signature(hook.raw, hook.headers[SIGNATURE_HEADER.lower()], [APP_SECRET])
        assert not verify_signature(hook.raw, hook.headers[SIGNATURE_HEADER.lower()], ["another-secret"])
        assert hook.headers["content-type"] == "application/json"
        assert hook.payload["object"] == "whatsapp_business_account"
        assert hook.payload["entry"][0]["id"] == WABA_ID
        assert hook.value["metadata"] == {
            "display_phone_number": "15550000000",
            "phone_number_id": PHONE_NUMBER_ID,
        }
        [status] = hook.value["statuses"]
        assert status["id"] == wamid
        assert status["recipient_id"] == CUSTOMER
        assert isinstance(status["timestamp"], str)
        assert status["timestamp"].isdigit()
    assert harness.sim.stats.webhooks_delivered == 3


async def test_status_shape_matches_metas_v23_examples(harness):
    reference = load_payload("status_sent_with_conversation_pricing.json")
    ref_value = reference["entry"][0]["changes"][0]["value"]
    ref_status = ref_value["statuses"][0]

    await send_and_settle(harness, text_message())

    sent = harness.receiver.received[0]
    assert list(sent.payload) == list(reference)
    assert list(sent.payload["entry"][0]) == list(reference["entry"][0])
    assert list(sent.payload["entry"][0]["changes"][0]) == list(reference["entry"][0]["changes"][0])
    assert list(sent.value) == list(ref_value)
    status = sent.value["statuses"][0]
    assert set(ref_status) <= set(status)
    assert set(status["conversation"]) == set(ref_status["conversation"])
    assert set(status["pricing"]) == set(ref_status["pricing"])
    assert status["pricing"]["category"] == "service"
    delivered, read = (h.value["statuses"][0] for h in harness.receiver.received[1:])
    assert "expiration_timestamp" not in delivered["conversation"]
    assert "pricing" in delivered
    assert "pricing" not in read


async def test_v24_and_later_statuses_have_no_conversation(harness):
    response = await harness.client.post(
        f"/v25.0/{PHONE_NUMBER_ID}/messages", json=text_message(), headers=harness.auth()
    )
    assert response.status_code == 200
    await harness.sim.drain(timeout=5)

    statuses = harness.receiver.statuses()
    assert len(statuses) == 3
    assert all("conversation" not in s for s in statuses)
    assert "pricing" in statuses[0]


async def test_template_statuses_are_priced_by_category(harness):
    body = {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }

    await send_and_settle(harness, body)

    sent = harness.receiver.statuses()[0]
    assert sent["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "utility",
    }
    assert sent["conversation"]["origin"] == {"type": "utility"}


async def test_biz_opaque_callback_data_is_echoed(harness):
    reference = load_payload("status_sent_with_biz_opaque_callback_data.json")
    ref_status = reference["entry"][0]["changes"][0]["value"]["statuses"][0]

    await send_and_settle(harness, text_message(biz_opaque_callback_data="campaign:7:rcpt:42"))

    statuses = harness.receiver.statuses()
    assert [s["biz_opaque_callback_data"] for s in statuses] == ["campaign:7:rcpt:42"] * 3
    sent_keys = [k for k in statuses[0] if k in ref_status]
    assert sent_keys == [k for k in ref_status if k in statuses[0]]


@pytest.mark.parametrize(
    ("to", "reference_name"),
    [("+15550000404", "status_failed_131026.json"), ("15550000470", "status_failed_131047.json")],
)
async def test_reserved_recipients_fail_with_metas_failed_status(harness, to, reference_name):
    reference = load_payload(reference_name)
    ref_value = reference["entry"][0]["changes"][0]["value"]

    wamid = await send_and_settle(harness, text_message(to=to))

    [hook] = harness.receiver.received
    assert hook.signature_valid
    assert list(hook.value) == list(ref_value)  # no contacts on a failed status
    [status] = hook.value["statuses"]
    assert status["id"] == wamid
    assert status["status"] == "failed"
    assert status["recipient_id"] == to.lstrip("+")
    assert status["errors"] == ref_value["statuses"][0]["errors"]
    assert list(status) == list(ref_value["statuses"][0])


async def test_reactions_only_get_sent(harness):
    body = {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "reaction",
        "reaction": {"message_id": "wamid.HBgLMTU1NTEyMzQwMDEVAgASGBQzQTAA", "emoji": "👍"},
    }

    await send_and_settle(harness, body)

    assert [s["status"] for s in harness.receiver.statuses()] == ["sent"]


async def test_duplicate_ratio_one_delivers_every_status_twice(make_harness):
    harness = make_harness(duplicate_ratio=1.0)

    wamid = await send_and_settle(harness, text_message())

    hooks = harness.receiver.received
    assert [h.value["statuses"][0]["status"] for h in hooks] == [
        "sent",
        "sent",
        "delivered",
        "delivered",
        "read",
        "read",
    ]
    assert hooks[0].raw == hooks[1].raw  # a redelivery is byte-for-byte the same body
    assert all(h.signature_valid for h in hooks)
    assert {s["id"] for s in harness.receiver.statuses()} == {wamid}


async def test_out_of_order_ratio_one_swaps_two_deliveries_but_not_their_timestamps(make_harness, clock):
    harness = make_harness(
        out_of_order_ratio=1.0, status_delays=StatusDelays(sent=0.0, delivered=0.01, read=0.02)
    )

    await send_and_settle(harness, text_message())

    statuses = harness.receiver.statuses()
    order = [s["status"] for s in statuses]
    assert sorted(order) == ["delivered", "read", "sent"]
    assert order != ["sent", "delivered", "read"]
    by_status = {s["status"]: int(s["timestamp"]) for s in statuses}
    assert by_status["sent"] <= by_status["delivered"] <= by_status["read"]


async def test_out_of_order_deliveries_are_repeatable_with_a_seed(make_harness, receiver):
    orders = []
    for _ in range(2):
        receiver.received.clear()
        harness = make_harness(out_of_order_ratio=0.5, seed=1234)
        for _ in range(6):
            await harness.send(text_message())
        await harness.sim.drain(timeout=5)
        orders.append(
            [
                [s["status"] for s in receiver.statuses(wamid)]
                for wamid in dict.fromkeys(s["id"] for s in receiver.statuses())
            ]
        )
    assert orders[0] == orders[1]


async def test_no_read_status_when_read_delay_is_none(make_harness):
    harness = make_harness(status_delays=StatusDelays(sent=0.0, delivered=0.0, read=None))

    await send_and_settle(harness, text_message())

    statuses = harness.receiver.statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered"]
    assert "pricing" in statuses[1]


async def test_non_200_answers_are_retried(harness):
    harness.receiver.answers.extend([500, 503])

    await send_and_settle(harness, text_message())

    sent_attempts = [h for h in harness.receiver.received if h.value["statuses"][0]["status"] == "sent"]
    assert len(sent_attempts) == 3
    assert sent_attempts[0].raw == sent_attempts[2].raw
    assert harness.sim.stats.webhooks_delivered == 3
    assert harness.sim.stats.webhooks_failed == 0


async def test_a_webhook_given_up_on_is_counted_as_failed(make_harness):
    harness = make_harness(
        webhook_max_attempts=2, status_delays=StatusDelays(sent=0.0, delivered=None, read=None)
    )
    harness.receiver.answers.extend([500, 500])

    await send_and_settle(harness, text_message())

    assert len(harness.receiver.received) == 2
    assert harness.sim.stats.webhooks_failed == 1


async def test_status_contacts_carry_the_profile_name_once_the_customer_wrote_in(harness):
    inbound = await harness.client.post(
        "/inbound",
        json={"phoneNumberId": PHONE_NUMBER_ID, "from": CUSTOMER, "name": "Ana Souza", "text": "hi"},
    )
    assert inbound.status_code == 200
    harness.receiver.received.clear()

    await send_and_settle(harness, text_message())

    hook = harness.receiver.received[0]
    [contact] = hook.value["contacts"]
    assert contact["profile"] == {"name": "Ana Souza"}
    assert contact["wa_id"] == CUSTOMER
    assert contact["user_id"] == hook.value["statuses"][0]["recipient_user_id"]


async def test_stats_endpoint_counts_calls_per_second(harness, clock):
    started = clock.now
    for _ in range(3):
        await harness.send(text_message())
    clock.advance(1)
    await harness.send(text_message(to="+15550000429"))

    stats = (await harness.client.get("/_sim/stats")).json()

    number = stats["phoneNumbers"][PHONE_NUMBER_ID]
    assert number["totalCalls"] == 4
    assert number["maxCallsInAnySecond"] == 3
    assert sorted(number["callsPerSecond"].values()) == [1, 3]
    # The sending period a rate is measured over.
    assert (number["firstCallAt"], number["lastCallAt"]) == (started, started + 1)
    assert stats["totalSends"] == 3
    assert stats["responsesByCode"] == {"success": 3, "130429": 1}
    assert harness.sim.stats.calls_per_second(PHONE_NUMBER_ID) == {int(clock.now) - 1: 3, int(clock.now): 1}


async def test_wrong_token_requests_are_still_counted(harness):
    await harness.send(text_message(), token=TOKEN + "x")

    assert harness.sim.stats.total_calls(PHONE_NUMBER_ID) == 1
    assert harness.sim.stats.responses_by_code == {"190": 1}


async def test_with_a_batch_window_a_numbers_due_statuses_arrive_together(make_harness):
    harness = make_harness(
        status_batch_seconds=0.2, status_delays=StatusDelays(sent=0.0, delivered=None, read=None)
    )
    customers = [f"1555012{n:04d}" for n in range(5)]
    wamids = [await send(harness, text_message(to="+" + customer)) for customer in customers]
    await harness.sim.drain(timeout=5)

    [hook] = harness.receiver.received  # one signed webhook for the five sends
    assert hook.signature_valid
    assert [s["id"] for s in hook.value["statuses"]] == wamids
    assert {s["recipient_id"] for s in hook.value["statuses"]} == set(customers)
    assert {s["status"] for s in hook.value["statuses"]} == {"sent"}
    assert harness.sim.stats.status_webhooks["sent"] == 5
    assert harness.sim.stats.webhooks_delivered == 1


async def test_a_batch_holds_at_most_metas_thousand_updates(make_harness, monkeypatch):
    from wadesk.whatsapp.simulator import engine

    monkeypatch.setattr(engine, "MAX_STATUSES_PER_WEBHOOK", 2)
    harness = make_harness(
        status_batch_seconds=5.0, status_delays=StatusDelays(sent=0.0, delivered=None, read=None)
    )
    for n in range(3):
        await send(harness, text_message(to=f"+1555013{n:04d}"))
    await asyncio.sleep(0.1)

    # The full batch went at once; the third status waits for its window.
    assert [len(h.value["statuses"]) for h in harness.receiver.received] == [2]
    await harness.sim.drain(timeout=10)
    assert [len(h.value["statuses"]) for h in harness.receiver.received] == [2, 1]


async def test_no_more_webhooks_are_in_flight_than_the_concurrency_allows(make_harness, receiver):
    receiver.delay = 0.02  # a slow endpoint: statuses pile up behind it
    harness = make_harness(
        webhook_concurrency=2, status_delays=StatusDelays(sent=0.0, delivered=None, read=None)
    )
    for n in range(6):
        await send(harness, text_message(to=f"+1555014{n:04d}"))
    await harness.sim.drain(timeout=10)

    assert len(receiver.statuses()) == 6
    assert receiver.most_in_flight == 2
