"""`POST /{version}/{phone-number-id}/messages`: Meta's validation, answers and throughput limit."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from simulator_kit import CUSTOMER, PHONE_NUMBER_ID, TOKEN, VERSION, load_payload

from wadesk.whatsapp.simulator import SimulatedPhoneNumber

WAMID = re.compile(r"^wamid\.[A-Za-z0-9+/=_-]{20,}$")

SEND_REQUEST_FILES = [
    "send_request_text_preview_url.json",
    "send_request_text_reply_context.json",
    "send_request_image_by_id.json",
    "send_request_video_by_id.json",
    "send_request_audio_by_id.json",
    "send_request_document_by_link.json",
    "send_request_sticker_by_id.json",
    "send_request_location.json",
    "send_request_contacts.json",
    "send_request_interactive_reply_buttons.json",
    "send_request_interactive_list.json",
    "send_request_interactive_cta_url.json",
    "send_request_reaction.json",
]


def reference_request(name: str, to: str = "+" + CUSTOMER) -> dict[str, Any]:
    """A reference send body with its placeholders filled in the way a client would fill them."""
    text = json.dumps(load_payload(name))
    text = text.replace("{{Recipient-Phone-Number}}", to).replace("+16505551234", to)
    text = text.replace("<http(s)://document-url>", "https://files.example/report.pdf")
    body = json.loads(text)
    assert isinstance(body, dict)
    return body


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error["fbtrace_id"], str)
    assert error["type"] == "OAuthException"
    assert isinstance(error, dict)
    return error


def text_message(to: str = "+" + CUSTOMER, body: str = "Hello") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
    }


@pytest.mark.parametrize("name", SEND_REQUEST_FILES)
async def test_every_outbound_type_is_accepted_with_a_wamid(harness, name):
    body = reference_request(name)

    response = await harness.send(body)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": body["to"], "wa_id": CUSTOMER}]
    assert len(answer["messages"]) == 1
    assert WAMID.match(answer["messages"][0]["id"])
    assert "message_status" not in answer["messages"][0]


async def test_success_answer_has_metas_exact_keys(harness):
    reference = load_payload("send_response_success.json")

    answer = (await harness.send(text_message())).json()

    assert list(answer) == list(reference)
    assert [list(c) for c in answer["contacts"]] == [list(c) for c in reference["contacts"]]
    assert [list(m) for m in answer["messages"]] == [list(m) for m in reference["messages"]]


async def test_template_send_is_accepted_with_message_status(harness):
    reference = load_payload("send_response_success_template_paced.json")
    body = {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }

    response = await harness.send(body)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["contacts"] == [{"input": CUSTOMER, "wa_id": CUSTOMER}]
    assert list(answer["messages"][0]) == list(reference["messages"][0])
    assert answer["messages"][0]["message_status"] == "accepted"


@pytest.mark.parametrize("name", ["send_request_mark_read.json", "send_request_typing_indicator.json"])
async def test_mark_as_read_and_typing_indicator_answer_success(harness, name):
    response = await harness.send(load_payload(name))

    assert response.status_code == 200
    assert response.json() == load_payload("send_response_mark_read_or_typing.json")
    assert harness.sim.stats.total_mark_read == 1
    assert harness.sim.stats.total_sends == 0


async def test_recipient_formats_are_normalised(harness):
    for to in ("+1 (555) 123-4001", "15551234001", "+15551234001"):
        answer = (await harness.send(text_message(to=to))).json()
        assert answer["contacts"] == [{"input": to, "wa_id": CUSTOMER}]


async def test_reserved_rate_limited_recipient_gets_a_synchronous_130429(harness):
    reference = load_payload("send_error_130429_rate_limit.json")["error"]

    for to in ("+15550000429", "15550000429"):
        response = await harness.send(text_message(to=to))
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == 130429
        assert error["message"] == reference["message"]
        assert error["error_data"] == reference["error_data"]
        assert error["error_subcode"] == reference["error_subcode"]
        assert set(error) == set(reference)


@pytest.mark.parametrize("to", ["+15550000404", "15550000470"])
async def test_reserved_failing_recipients_are_accepted(harness, to):
    response = await harness.send(text_message(to=to))

    assert response.status_code == 200
    assert WAMID.match(response.json()["messages"][0]["id"])


async def test_unknown_phone_number_id_is_error_100(harness):
    response = await harness.send(text_message(), phone_number_id="5555")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == 100
    assert error["error_subcode"] == 33
    assert "'5555' does not exist" in error["message"]
    assert error["error_data"]["messaging_product"] == "whatsapp"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"to": CUSTOMER, "type": "text", "text": {"body": "x"}}, "messaging_product"),
        ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, "to"),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {}}, "text['body']"),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "carrier_pigeon"}, "Param type"),
        (
            {"messaging_product": "whatsapp", "to": "not a number", "type": "text", "text": {"body": "x"}},
            "to",
        ),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {}}, "id or link"),
        (
            {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "x" * 4097}},
            "4096",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": CUSTOMER,
                "type": "location",
                "location": {"latitude": 1},
            },
            "longitude",
        ),
        (
            {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "reaction", "reaction": {"emoji": "x"}},
            "message_id",
        ),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "contacts", "contacts": []}, "contacts"),
        ({"messaging_product": "whatsapp", "status": "read"}, "message_id"),
    ],
)
async def test_malformed_bodies_are_error_100(harness, body, fragment):
    response = await harness.send(body)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == 100
    assert fragment in error["message"] + error["error_data"]["details"]
    assert harness.sim.stats.total_sends == 0


async def test_invalid_json_is_error_100(harness):
    response = await harness.client.post(
        f"/{VERSION}/{PHONE_NUMBER_ID}/messages", content=b"{not json", headers=harness.auth()
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == 100
    assert harness.sim.stats.responses_by_code["100"] == 1


@pytest.mark.parametrize(
    "interactive",
    [
        {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": []}},
        {
            "type": "button",
            "body": {"text": "Pick"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]},
        },
        {
            "type": "list",
            "body": {"text": "Pick"},
            "action": {"button": "Open", "sections": [{"title": "s", "rows": []}]},
        },
        {
            "type": "cta_url",
            "body": {"text": "Go"},
            "action": {"name": "cta_url", "parameters": {"url": "https://x.example"}},
        },
        {"type": "buttons", "body": {"text": "Pick"}},
    ],
)
async def test_invalid_interactive_messages_are_rejected(harness, interactive):
    body = {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "interactive",
        "interactive": interactive,
    }

    response = await harness.send(body)

    assert response.status_code == 400
    assert error_of(response)["code"] == 100


async def test_wrong_token_is_error_190(harness):
    response = await harness.send(text_message(), token="someone-elses-token")

    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == 190
    assert "error_data" not in error


async def test_missing_token_is_refused(harness):
    response = await harness.client.post(f"/{VERSION}/{PHONE_NUMBER_ID}/messages", json=text_message())

    assert response.status_code == 400
    assert error_of(response)["code"] == 2500


async def test_expired_token_is_error_190_subcode_463(harness):
    harness.sim.expire_access_token(TOKEN)

    response = await harness.send(text_message())

    assert response.status_code == 401
    error = error_of(response)
    assert (error["code"], error["error_subcode"]) == (190, 463)


async def test_numbers_without_a_configured_token_accept_any_bearer(harness):
    harness.sim.register_phone_number(
        SimulatedPhoneNumber(phone_number_id="111", waba_id="222", display_phone_number="+1 555-000-1111")
    )

    response = await harness.send(text_message(), token="anything", phone_number_id="111")

    assert response.status_code == 200


async def test_unknown_graph_path_is_metas_unknown_path_error(harness):
    response = await harness.client.get(f"/{VERSION}/{PHONE_NUMBER_ID}/no_such_edge/at_all")

    assert response.status_code == 400
    assert error_of(response)["code"] == 2500


async def test_a_burst_over_the_rate_gets_exactly_the_excess_refused(make_harness, clock):
    harness = make_harness()
    harness.sim.register_phone_number(
        SimulatedPhoneNumber(
            phone_number_id=PHONE_NUMBER_ID,
            waba_id="9876543210",
            display_phone_number="+1 555-000-0000",
            access_token=TOKEN,
            messages_per_second=10,
        )
    )

    codes = []
    for _ in range(25):
        response = await harness.send(text_message())
        codes.append(response.json()["error"]["code"] if response.status_code != 200 else 200)

    assert codes.count(200) == 10
    assert codes.count(130429) == 15
    assert codes[:10] == [200] * 10
    assert harness.sim.stats.responses_by_code == {"success": 10, "130429": 15}
    assert harness.sim.stats.total_sends == 10

    clock.advance(0.999)
    assert (await harness.send(text_message())).status_code == 400
    clock.advance(0.001)  # the first ten are now a full second old
    assert (await harness.send(text_message())).status_code == 200


async def test_the_throughput_window_slides(make_harness, clock):
    harness = make_harness()
    harness.sim.register_phone_number(
        SimulatedPhoneNumber(
            phone_number_id=PHONE_NUMBER_ID,
            waba_id="9876543210",
            display_phone_number="+1 555-000-0000",
            access_token=TOKEN,
            messages_per_second=4,
        )
    )
    accepted = 0
    for _ in range(40):  # 8 requests per second, for 5 seconds
        if (await harness.send(text_message())).status_code == 200:
            accepted += 1
        clock.advance(0.125)

    assert accepted == 20
    assert harness.sim.stats.max_calls_in_window(PHONE_NUMBER_ID) == 8


async def test_mark_read_does_not_use_throughput(make_harness):
    harness = make_harness()
    harness.sim.register_phone_number(
        SimulatedPhoneNumber(
            phone_number_id=PHONE_NUMBER_ID,
            waba_id="9876543210",
            display_phone_number="+1 555-000-0000",
            access_token=TOKEN,
            messages_per_second=1,
        )
    )
    read = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.HBgLMTU1NTEyMzQwMDEVAgASGBQzQTAA",
    }

    assert (await harness.send(read)).status_code == 200
    assert (await harness.send(text_message())).status_code == 200
    assert (await harness.send(read)).status_code == 200
    assert (await harness.send(text_message())).status_code == 400


async def test_sent_messages_are_recorded(harness):
    body = text_message()
    body["biz_opaque_callback_data"] = "campaign:1:rcpt:2"

    wamid = (await harness.send(body)).json()["messages"][0]["id"]

    [sent] = harness.sim.sent_messages
    assert (sent.wamid, sent.wa_id, sent.type, sent.biz_opaque_callback_data) == (
        wamid,
        CUSTOMER,
        "text",
        "campaign:1:rcpt:2",
    )
    listed = (await harness.client.get("/_sim/messages")).json()["data"]
    assert [m["wamid"] for m in listed] == [wamid]
