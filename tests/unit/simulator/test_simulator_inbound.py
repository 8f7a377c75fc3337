"""Simulated customers: inbound webhooks exactly as Meta builds them, signed, posted to the app."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import httpx
import pytest
from simulator_kit import APP_SECRET, CUSTOMER, PHONE_NUMBER_ID, TOKEN, WABA_ID, load_payload

from wadesk.whatsapp.signature import SIGNATURE_HEADER, verify_signature
from wadesk.whatsapp.simulator import (
    AmbientSender,
    InboundMessage,
    MediaRef,
    build_inbound_message_payload,
    create_simulator_app,
    get_simulator,
    send_inbound,
    simulate_inbound,
)

BSUID_KEYS = {"user_id", "from_user_id"}


def without_bsuid(payload: dict[str, Any]) -> dict[str, Any]:
    """The 2026 business-scoped ids are added to every webhook; older reference payloads predate them."""
    value = payload["entry"][0]["changes"][0]["value"]
    for contact in value.get("contacts", []):
        for key in BSUID_KEYS:
            contact.pop(key, None)
    for message in value.get("messages", []):
        for key in BSUID_KEYS:
            message.pop(key, None)
    return payload


def reference_message(name: str) -> dict[str, Any]:
    message = load_payload(name)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert isinstance(message, dict)
    return message


async def inject(harness, **fields: Any) -> dict[str, Any]:
    response = await harness.client.post(
        "/inbound", json={"phoneNumberId": PHONE_NUMBER_ID, "from": CUSTOMER, **fields}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert isinstance(answer, dict)
    return answer


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("inbound_text.json", {"type": "text", "text": "Does it come in another color?"}),
        ("inbound_image.json", {"type": "image", "caption": "Taj Mahal"}),
        ("inbound_video.json", {"type": "video", "caption": "caption"}),
        ("inbound_audio_voice.json", {"type": "audio"}),
        ("inbound_document.json", {"type": "document", "caption": "caption", "filename": "filename.pdf"}),
        ("inbound_sticker_animated.json", {"type": "sticker", "animated": True}),
        (
            "inbound_location.json",
            {
                "type": "location",
                "latitude": 37.44,
                "longitude": -122.16,
                "address": "101 Forest Ave",
                "locationName": "Philz Coffee",
            },
        ),
        ("inbound_contacts.json", {"type": "contacts"}),
        (
            "inbound_reaction.json",
            {
                "type": "reaction",
                "emoji": "👍",
                "reactToWamid": "wamid.HBgLMTU1NTEyMzQwMDEVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA",
            },
        ),
        (
            "inbound_interactive_button_reply.json",
            {"type": "button_reply", "buttonId": "cancel-button", "buttonTitle": "Cancel"},
        ),
        (
            "inbound_interactive_list_reply.json",
            {
                "type": "list_reply",
                "buttonId": "priority_express",
                "buttonTitle": "Priority Mail Express",
                "description": "Next Day to 2 Days",
            },
        ),
        ("inbound_button_template_quick_reply.json", {"type": "button", "buttonTitle": "Unsubscribe"}),
        ("inbound_unsupported.json", {"type": "unsupported"}),
    ],
)
async def test_each_type_is_posted_signed_and_meta_shaped(harness, name, fields):
    reference = load_payload(name)
    ref_value = reference["entry"][0]["changes"][0]["value"]
    ref_message = ref_value["messages"][0]

    answer = await inject(harness, name="Sheena Nelson", **fields)

    assert answer["status"] == 200
    [hook] = harness.receiver.received
    assert hook.signature_valid
    assert verify_signature(hook.raw, hook.headers[SIGNATURE_HEADER.lower()], [APP_SECRET])
    payload = hook.payload
    assert list(payload) == list(reference)
    assert payload["entry"][0]["id"] == WABA_ID
    assert list(payload["entry"][0]) == list(reference["entry"][0])
    value = hook.value
    assert list(value) == list(ref_value)
    assert value["metadata"] == {"display_phone_number": "15550000000", "phone_number_id": PHONE_NUMBER_ID}
    [contact] = value["contacts"]
    assert contact["profile"] == {"name": "Sheena Nelson"}
    assert contact["wa_id"] == CUSTOMER
    assert contact["user_id"].startswith("US.")
    [message] = value["messages"]
    assert message["id"] == answer["wamid"]
    assert message["id"].startswith("wamid.HBgL")
    assert message["from"] == CUSTOMER
    assert message["from_user_id"] == contact["user_id"]
    assert isinstance(message["timestamp"], str)
    assert message["timestamp"].isdigit()
    assert set(message) - BSUID_KEYS == set(ref_message) - {"context"} | (
        {"context"} if "context" in message else set()
    )
    kind = ref_message["type"]
    assert message["type"] == kind
    if kind in ("unsupported",):
        assert message["errors"] == ref_message["errors"]
    elif kind == "interactive":
        assert message["interactive"]["type"] == ref_message["interactive"]["type"]
        sub = ref_message["interactive"]["type"]
        assert message["interactive"][sub] == ref_message["interactive"][sub]
    elif kind == "contacts":
        assert message["contacts"] == ref_message["contacts"]
    else:
        assert set(message[kind]) <= set(ref_message[kind]) | {"url", "address", "name"}
        assert set(ref_message[kind]) - {"url"} <= set(message[kind])


async def test_media_messages_point_at_downloadable_media(harness):
    answer = await inject(harness, type="image", caption="look")

    image = harness.receiver.received[0].value["messages"][0]["image"]
    info = (await harness.client.get(f"/v23.0/{image['id']}", headers=harness.auth())).json()
    assert info["sha256"] == image["sha256"]
    assert info["mime_type"] == image["mime_type"]
    data = (await harness.client.get(image["url"], headers=harness.auth())).content
    assert base64.b64encode(hashlib.sha256(data).digest()).decode() == image["sha256"]
    assert data.startswith(b"\x89PNG")
    assert answer["wamid"]


@pytest.mark.parametrize(
    ("kind", "magic", "mime"),
    [
        ("audio", b"OggS", "audio/ogg; codecs=opus"),
        ("document", b"%PDF-", "application/pdf"),
        ("sticker", b"RIFF", "image/webp"),
        ("video", b"\x00\x00\x00", "video/mp4"),
    ],
)
async def test_sample_media_is_a_real_file_of_its_type(harness, kind, magic, mime):
    await inject(harness, type=kind)

    media = harness.receiver.received[0].value["messages"][0][kind]
    assert media["mime_type"] == mime
    data = (await harness.client.get(media["url"], headers=harness.auth())).content
    assert data.startswith(magic)


async def test_a_reaction_defaults_to_the_last_message_sent_to_that_customer(harness):
    sent = await harness.send(
        {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "Hi"}}
    )
    await harness.sim.drain(timeout=5)
    harness.receiver.received.clear()

    await inject(harness, type="reaction", emoji="❤️")

    reaction = harness.receiver.received[0].value["messages"][0]["reaction"]
    assert reaction == {"message_id": sent.json()["messages"][0]["id"], "emoji": "❤️"}


async def test_a_removed_reaction_omits_the_emoji(harness):
    await inject(
        harness, type="reaction", reactToWamid="wamid.HBgLMTU1NTEyMzQwMDEVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA"
    )

    assert harness.receiver.received[0].value["messages"][0]["reaction"] == {
        "message_id": "wamid.HBgLMTU1NTEyMzQwMDEVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA"
    }


async def test_a_button_reply_quotes_the_business_message(harness):
    sent = await harness.send(
        {
            "messaging_product": "whatsapp",
            "to": CUSTOMER,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Confirm?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]},
            },
        }
    )
    await harness.sim.drain(timeout=5)
    harness.receiver.received.clear()

    await inject(harness, type="button_reply", buttonId="yes", buttonTitle="Yes")

    message = harness.receiver.received[0].value["messages"][0]
    assert message["context"] == {"from": "15550000000", "id": sent.json()["messages"][0]["id"]}
    assert message["interactive"] == {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}


async def test_text_replies_and_forwards_carry_context(harness):
    first = await inject(harness, text="first")
    await inject(harness, text="about that", replyToWamid=first["wamid"])
    await inject(harness, text="fwd", forwarded=True)

    reply, forward = (h.value["messages"][0] for h in harness.receiver.received[1:])
    assert reply["context"] == {"from": CUSTOMER, "id": first["wamid"]}  # quoting their own message
    assert forward["context"] == {"forwarded": True}


async def test_the_apps_answer_is_reported(harness):
    harness.receiver.answers.append(500)

    answer = await inject(harness, text="hi")

    assert answer["status"] == 500
    assert len(harness.receiver.received) == 1  # injected messages are posted once


async def test_a_wrong_app_secret_is_visible_in_the_status(make_harness):
    harness = make_harness(app_secret="not-the-apps-secret")

    answer = await inject(harness, text="hi")

    assert answer["status"] == 401
    assert not harness.receiver.received[0].signature_valid


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"type": "text"}, 400),
        ({"type": "location", "latitude": 1.0}, 400),
        ({"type": "reaction", "emoji": "👍"}, 400),
        ({"type": "hologram", "text": "x"}, 422),
        ({"text": "x", "colour": "blue"}, 422),
        ({"phoneNumberId": "404404", "text": "x"}, 400),
    ],
)
async def test_incomplete_injections_are_refused(harness, fields, status):
    response = await harness.client.post(
        "/inbound", json={"phoneNumberId": PHONE_NUMBER_ID, "from": CUSTOMER, **fields}
    )

    assert response.status_code == status
    assert not harness.receiver.received


async def test_the_profile_name_is_remembered(harness):
    await inject(harness, text="hi", name="Ana Souza")
    await inject(harness, text="again")

    names = [h.value["contacts"][0]["profile"]["name"] for h in harness.receiver.received]
    assert names == ["Ana Souza", "Ana Souza"]


# --- the same, from Python ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("inbound_text.json", {"type": "text", "text": "Does it come in another color?"}),
        (
            "inbound_reaction.json",
            {
                "type": "reaction",
                "emoji": "👍",
                "react_to_wamid": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA",
            },
        ),
        (
            "inbound_interactive_button_reply.json",
            {
                "type": "button_reply",
                "button_id": "cancel-button",
                "button_title": "Cancel",
                "reply_to_wamid": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA",
            },
        ),
        (
            "inbound_interactive_list_reply.json",
            {
                "type": "list_reply",
                "button_id": "priority_express",
                "button_title": "Priority Mail Express",
                "description": "Next Day to 2 Days",
                "reply_to_wamid": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGMzEyNzhENTZDMzNGODlDRDgA",
            },
        ),
        (
            "inbound_button_template_quick_reply.json",
            {
                "type": "button",
                "button_title": "Unsubscribe",
                "reply_to_wamid": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA",
            },
        ),
        ("inbound_unsupported.json", {"type": "unsupported"}),
    ],
)
def test_built_payloads_equal_metas_examples(name, fields):
    reference = load_payload(name)
    value = reference["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    inbound = InboundMessage(
        phone_number_id=value["metadata"]["phone_number_id"],
        sender=message["from"],
        name=value["contacts"][0]["profile"]["name"],
        **fields,
    )

    built = build_inbound_message_payload(
        inbound,
        waba_id=reference["entry"][0]["id"],
        display_phone_number=value["metadata"]["display_phone_number"],
        wamid=message["id"],
        timestamp=int(message["timestamp"]),
    )

    assert without_bsuid(built) == reference


def test_built_image_payload_equals_metas_example():
    reference = load_payload("inbound_image.json")
    value = reference["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    image = message["image"]

    built = build_inbound_message_payload(
        InboundMessage(
            phone_number_id=value["metadata"]["phone_number_id"],
            sender=message["from"],
            name="Sheena Nelson",
            type="image",
            caption=image["caption"],
        ),
        waba_id=reference["entry"][0]["id"],
        display_phone_number=value["metadata"]["display_phone_number"],
        media=MediaRef(
            id=image["id"], mime_type=image["mime_type"], sha256=image["sha256"], url=image["url"]
        ),
        wamid=message["id"],
        timestamp=int(message["timestamp"]),
    )

    assert without_bsuid(built) == reference


def test_built_location_payload_equals_metas_example():
    reference = load_payload("inbound_location.json")
    value = reference["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    location = message["location"]

    built = build_inbound_message_payload(
        InboundMessage.model_validate(
            {
                "phoneNumberId": value["metadata"]["phone_number_id"],
                "from": message["from"],
                "name": "Sheena Nelson",
                "type": "location",
                "latitude": location["latitude"],
                "longitude": location["longitude"],
                "address": location["address"],
                "locationName": location["name"],
            }
        ),
        waba_id=reference["entry"][0]["id"],
        display_phone_number=value["metadata"]["display_phone_number"],
        wamid=message["id"],
        timestamp=int(message["timestamp"]),
    )

    del reference["entry"][0]["changes"][0]["value"]["messages"][0]["location"]["url"]
    assert without_bsuid(built) == reference


def test_a_given_business_scoped_user_id_is_used():
    built = build_inbound_message_payload(
        InboundMessage(
            phone_number_id="1", sender="15551234001", text="hi", from_user_id="US.13491208655302741918"
        ),
        waba_id="2",
        display_phone_number="+1 555-000-0000",
    )

    value = built["entry"][0]["changes"][0]["value"]
    assert value["contacts"][0]["user_id"] == "US.13491208655302741918"
    assert value["messages"][0]["from_user_id"] == "US.13491208655302741918"
    assert value["metadata"]["display_phone_number"] == "15550000000"


async def test_send_inbound_posts_a_signed_payload(receiver):
    payload = build_inbound_message_payload(
        InboundMessage(phone_number_id=PHONE_NUMBER_ID, sender=CUSTOMER, text="olá 👋"),
        waba_id=WABA_ID,
        display_phone_number="+1 555-000-0000",
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as client:
        wamid, status = await send_inbound(client, "http://app.test/api/webhook", APP_SECRET, payload)

    assert status == 200
    [hook] = receiver.received
    assert hook.signature_valid
    assert hook.value["messages"][0]["id"] == wamid
    assert hook.value["messages"][0]["text"] == {"body": "olá 👋"}
    assert b"\\u00e1" in hook.raw  # non-ASCII is escaped, as Meta sends it


async def test_simulate_inbound_with_explicit_ids(receiver):
    wamid = await simulate_inbound(
        "http://app.test/api/webhook",
        APP_SECRET,
        phone_number_id=PHONE_NUMBER_ID,
        sender=CUSTOMER,
        text="hi",
        waba_id=WABA_ID,
        display_phone_number="+1 555-000-0000",
        transport=httpx.ASGITransport(app=receiver.app),
    )

    [hook] = receiver.received
    assert hook.signature_valid
    assert hook.payload["entry"][0]["id"] == WABA_ID
    assert hook.value["messages"][0]["id"] == wamid


async def test_simulate_inbound_asks_the_running_simulator(receiver, make_config):
    simulator_app = create_simulator_app(make_config())
    receiver.app.mount("/simulator", simulator_app)  # the app with its simulator, as in the demo
    transport = httpx.ASGITransport(app=receiver.app)

    wamid = await simulate_inbound(
        "http://app.test/api/webhook",
        APP_SECRET,
        phone_number_id=PHONE_NUMBER_ID,
        sender=CUSTOMER,
        type="image",
        caption="receipt",
        transport=transport,
    )

    [hook] = receiver.received
    assert hook.payload["entry"][0]["id"] == WABA_ID
    message = hook.value["messages"][0]
    assert message["id"] == wamid
    assert message["image"]["caption"] == "receipt"
    async with httpx.AsyncClient(transport=transport) as client:
        download = await client.get(message["image"]["url"], headers={"Authorization": f"Bearer {TOKEN}"})
    assert download.status_code == 200
    assert base64.b64encode(hashlib.sha256(download.content).digest()).decode() == message["image"]["sha256"]
    await get_simulator(simulator_app).aclose()


async def test_simulate_inbound_voice_note_keeps_metas_audio_type(receiver, make_config):
    simulator_app = create_simulator_app(make_config())
    receiver.app.mount("/simulator", simulator_app)

    await simulate_inbound(
        "http://app.test/api/webhook",
        APP_SECRET,
        phone_number_id=PHONE_NUMBER_ID,
        sender=CUSTOMER,
        type="audio",
        transport=httpx.ASGITransport(app=receiver.app),
    )

    audio = receiver.received[0].value["messages"][0]["audio"]
    assert audio["mime_type"] == "audio/ogg; codecs=opus"
    assert audio["voice"] is True
    await get_simulator(simulator_app).aclose()


async def test_simulate_inbound_without_ids_or_simulator_fails_clearly(receiver):
    with pytest.raises(ValueError, match="unknown phone number"):
        await simulate_inbound(
            "http://app.test/api/webhook",
            APP_SECRET,
            phone_number_id=PHONE_NUMBER_ID,
            sender=CUSTOMER,
            text="hi",
            transport=httpx.ASGITransport(app=receiver.app),
        )
    assert not receiver.received


# --- ambient traffic ---------------------------------------------------------------------------------------------


async def test_ambient_traffic_sends_texts_until_stopped(make_harness):
    senders = [AmbientSender("15551234002", "Bruno"), AmbientSender("15551234003", "Chiara")]
    harness = make_harness(ambient_interval=0.01, ambient_senders=senders)
    assert not harness.sim.ambient_running

    await harness.sim.start()
    async with asyncio.timeout(5):
        while len(harness.receiver.received) < 3:
            await asyncio.sleep(0.01)
    await harness.sim.stop_ambient()
    count = len(harness.receiver.received)
    await asyncio.sleep(0.05)

    assert not harness.sim.ambient_running
    assert len(harness.receiver.received) == count
    for hook in harness.receiver.received:
        assert hook.signature_valid
        [message] = hook.value["messages"]
        assert message["type"] == "text"
        assert message["text"]["body"]
        contact = hook.value["contacts"][0]
        assert (contact["wa_id"], contact["profile"]["name"]) in {(s.wa_id, s.name) for s in senders}


async def test_ambient_traffic_is_off_by_default(harness):
    await harness.sim.start()

    assert not harness.sim.ambient_running
    with pytest.raises(ValueError, match="ambient"):
        harness.sim.start_ambient()
