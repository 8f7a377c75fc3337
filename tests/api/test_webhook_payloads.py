"""Every webhook delivery of Meta's sample payloads, posted signed to POST /api/webhook, is processed without a
failed event and leaves the rows it describes: contacts, conversations, messages, statuses and errors,
reactions, reply context, template and phone number updates, marketing preferences."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pipeline_kit import (
    connect_payload_numbers,
    db,
    encode,
    one,
    payload_bytes,
    payload_json,
    post_webhook,
    rows,
    seed_outbound,
    settle,
    simulated_app,
    webhook_payload_names,
)

from conftest import Account, register
from wadesk.config import Settings
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.phone_numbers.models import PhoneNumber, PhoneNumberStatus
from wadesk.templates.models import Template
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus

SHEENA = "16505551234"
TEST_NAME = "972987654321"
TEST_BSUID = "US.13491208655302741918"
MAIN = "106540352242922"  # the sample payloads' business number (WABA 102290129340398)
OTHER = "1122334455667"  # the second business number of the samples
OUTBOUND_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
FAILED_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA"


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with simulated_app(settings) as application:
        yield application


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


async def inbound(app: FastAPI, wamid: str) -> Message:
    return await one(app, Message, Message.wamid == wamid, Message.direction == Direction.INBOUND)


async def message_by_id(app: FastAPI, message_id: uuid.UUID) -> Message:
    return await one(app, Message, Message.id == message_id)


async def conversation_of(app: FastAPI, message: Message) -> Conversation:
    return await one(app, Conversation, Conversation.id == message.conversation_id)


async def contact_of(app: FastAPI, message: Message) -> Contact:
    return await one(app, Contact, Contact.id == message.contact_id)


async def assert_inbound(
    app: FastAPI,
    wamid: str,
    *,
    type: str,
    timestamp: int,
    wa_id: str,
    profile_name: str | None,
    preview: str,
    bsuid: str | None = None,
) -> Message:
    """The message is stored inbound and unread, its contact and open conversation are up to date, and the
    customer window runs 24 hours from Meta's timestamp."""
    message = await inbound(app, wamid)
    assert message.type == type
    assert message.status == MessageStatus.RECEIVED
    assert message.created_at == at(timestamp)
    assert message.meta_timestamp == at(timestamp)
    contact = await contact_of(app, message)
    assert contact.wa_id == wa_id
    assert contact.bsuid == bsuid
    assert contact.profile_name == profile_name
    assert contact.last_seen_at == at(timestamp)
    conversation = await conversation_of(app, message)
    assert conversation.status == "open"
    assert conversation.unread_count == 1
    assert conversation.last_message_preview == preview
    assert conversation.last_message_at == at(timestamp)
    assert conversation.last_inbound_at == at(timestamp)
    assert conversation.customer_window_expires_at == at(timestamp) + timedelta(hours=24)
    return message


# --- per payload: what to prepare, then what must be true ---------------------------------------------------

Step = Callable[[FastAPI, Account, dict[str, Any]], Awaitable[None]]


async def nothing(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    return None


async def expect_text(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        type="text",
        timestamp=1749416383,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="Does it come in another color?",
    )
    assert message.content == {"body": "Does it come in another color?"}
    assert message.body_text == "Does it come in another color?"
    # The wire form agents read.
    response = await admin.get(f"/api/messages/{message.id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["direction"] == "inbound"
    assert body["status"] == "received"
    assert body["content"] == {"body": "Does it come in another color?"}
    assert body["error"] is None


async def expect_text_forwarded(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.xyzxyz",
        type="text",
        timestamp=1697044815,
        wa_id=TEST_NAME,
        bsuid=TEST_BSUID,
        profile_name="Test Name",
        preview="forwarded text",
    )
    assert message.content["body"] == "forwarded text"
    assert message.content["meta"]["context"] == {"forwarded": True}
    assert message.reply_to_wamid is None


async def expect_referral(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQ0N0VFMDA2MTQ0RkJFNkNDNAA=",
        type="text",
        timestamp=1750275992,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="Can I get more info about this?",
    )
    referral = message.content["meta"]["referral"]
    assert referral["source_type"] == "ad"
    assert referral["source_id"] == "120226305854810726"
    assert referral["headline"] == "Chat with us"
    assert referral["ctwa_clid"].startswith("Aff-n8ZTODiE79d22KtAwQ")


async def seed_quoted_message(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["quoted"] = await seed_outbound(
        app, admin.tenant_id, OTHER, TEST_NAME, "wamid.xyzxyz==", created_at=at(1697044700)
    )


async def expect_reply_context(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.xyzxyz",
        type="text",
        timestamp=1697044746,
        wa_id=TEST_NAME,
        bsuid=TEST_BSUID,
        profile_name="Test Name",
        preview="replied text",
    )
    assert message.reply_to_wamid == "wamid.xyzxyz=="
    assert message.reply_to_message_id == seeded["quoted"]
    # The reply joins the conversation of the message it quotes.
    quoted = await message_by_id(app, seeded["quoted"])
    assert message.conversation_id == quoted.conversation_id
    body = (await admin.get(f"/api/messages/{message.id}")).json()
    assert body["replyToMessageId"] == str(seeded["quoted"])
    assert body["replyToWamid"] == "wamid.xyzxyz=="


async def expect_image(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        type="image",
        timestamp=1744344496,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="📷 Photo: Taj Mahal",
    )
    assert message.content["id"] == "1003383421387256"
    assert message.content["caption"] == "Taj Mahal"
    assert message.content["mime_type"] == "image/jpeg"
    assert message.body_text == "Taj Mahal"
    # The sample's media id is unknown to the Graph API here: the download fails, the message stays, with
    # the failure recorded for a retry.
    assert message.content["media"]["stored"] is False
    assert message.content["media"]["error"]


async def expect_video(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.xyzxyz",
        type="video",
        timestamp=1697044362,
        wa_id=TEST_NAME,
        bsuid=TEST_BSUID,
        profile_name="Test Name",
        preview="🎥 Video: caption",
    )
    assert message.content["id"] == "765756756"
    assert message.content["mime_type"] == "video/mp4"
    assert message.content["meta"]["context"] == {"forwarded": True}
    assert "stored" in message.content["media"]


async def expect_audio(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.xyzxyz",
        type="audio",
        timestamp=1697043473,
        wa_id=TEST_NAME,
        bsuid=TEST_BSUID,
        profile_name="Test Name",
        preview="🎤 Audio",
    )
    assert message.content["voice"] is True
    assert message.content["mime_type"] == "audio/ogg; codecs=opus"
    assert message.content["id"] == "1234567890987654321"


async def expect_document(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.xyzxyz",
        type="document",
        timestamp=1697043666,
        wa_id=TEST_NAME,
        bsuid=TEST_BSUID,
        profile_name="Test Name",
        preview="📄 Document: caption",
    )
    assert message.content["filename"] == "filename.pdf"
    assert message.content["mime_type"] == "application/pdf"
    assert message.body_text == "caption"


async def expect_sticker(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        type="sticker",
        timestamp=1744344496,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="Sticker",
    )
    assert message.content["animated"] is True
    assert message.content["mime_type"] == "image/webp"


async def expect_location(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTU2MjZEMDBGRkE3MENEMDE0RQA=",
        type="location",
        timestamp=1744344496,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="📍 Location: Philz Coffee 101 Forest Ave, Palo Alto, CA 94301",
    )
    assert message.content["latitude"] == pytest.approx(37.44221496582)
    assert message.content["longitude"] == pytest.approx(-122.16165924072)
    assert message.content["name"] == "Philz Coffee"


async def expect_contacts(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        type="contacts",
        timestamp=1744344496,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="👤 Contact: Lucía Gómez",
    )
    (card,) = message.content["contacts"]
    assert card["name"]["formatted_name"] == "Lucía Gómez"
    assert card["phones"][0]["wa_id"] == "19835552319"
    # The shared card is content, not a new contact of the company.
    assert [c.wa_id for c in await rows(app, Contact, Contact.wa_id == "19835552319")] == []


async def expect_button_reply(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTZBQzg0MzQ4QjRCM0NGNkVGOAA=",
        type="interactive",
        timestamp=1750025136,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="Cancel",
    )
    assert message.content["type"] == "button_reply"
    assert message.content["button_reply"] == {"id": "cancel-button", "title": "Cancel"}
    assert message.body_text == "Cancel"
    assert message.reply_to_wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"


async def expect_list_reply(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUJDQ0NDM0FEODY4ODkzOTc5RgA=",
        type="interactive",
        timestamp=1749854575,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="Priority Mail Express",
    )
    assert message.content["list_reply"]["id"] == "priority_express"
    assert message.content["list_reply"]["title"] == "Priority Mail Express"
    assert message.content["list_reply"]["description"] == "Next Day to 2 Days"


async def expect_template_button(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUU0M0MxQzQzMUJCMTMwNUZFOQA=",
        type="button",
        timestamp=1750091045,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="Unsubscribe",
    )
    assert message.content == {
        "payload": "Unsubscribe",
        "text": "Unsubscribe",
        "meta": {
            "context": {
                "from": "15550783881",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA",
            }
        },
    }
    assert message.reply_to_wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA"


async def expect_interactive_with_errors(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.wegrchytvwcggt=",
        type="unsupported",
        timestamp=1700505494,
        wa_id=TEST_NAME,
        bsuid=TEST_BSUID,
        profile_name="Test Name",
        preview="Unsupported message",
    )
    assert message.content["original_type"] == "interactive"
    event = await the_event(app)
    # Meta's value-level error is recorded on the event, which is still processed: it is Meta's error.
    assert event.notes is not None
    assert "131000" in event.notes


async def expect_unsupported(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await assert_inbound(
        app,
        "wamid.HBgLMTQyMDU1NTA3NDkVAgASGBI5N0MwRjg0RTVBNUI1RDA2OTkA",
        type="unsupported",
        timestamp=1750090702,
        wa_id=SHEENA,
        profile_name="Sheena Nelson",
        preview="Unsupported message",
    )
    assert message.content["original_type"] == "unsupported"
    assert message.content["meta"]["errors"][0]["code"] == 131051


async def seed_system_contact(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["earlier"] = await seed_outbound(
        app, admin.tenant_id, MAIN, SHEENA, "wamid.earlier-to-sheena", created_at=at(1750269000)
    )


async def expect_user_changed_number(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await inbound(app, "wamid.HBgLMTk4MzU1NTE5NzQVAgASGAoxMTgyMDg2MjY3AA==")
    assert message.type == "system"
    assert message.content["type"] == "user_changed_number"
    earlier = await message_by_id(app, seeded["earlier"])
    # Same customer, same conversation; the contact now has the new number.
    assert message.contact_id == earlier.contact_id
    assert message.conversation_id == earlier.conversation_id
    contact = await contact_of(app, message)
    assert contact.wa_id == "12195555358"
    conversation = await conversation_of(app, message)
    assert conversation.last_message_preview == (
        "System message: User Sheena Nelson changed from 16505551234 to 12195555358"
    )


async def seed_reaction_target(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["target"] = await seed_outbound(
        app, admin.tenant_id, MAIN, SHEENA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA"
    )


async def expect_reaction(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    target = await message_by_id(app, seeded["target"])
    assert target.reactions == [{"from": "customer", "emoji": "👍"}]
    reaction = await inbound(app, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
    assert reaction.type == "reaction"
    conversation = await conversation_of(app, reaction)
    assert conversation.id == target.conversation_id
    # A reaction is not a new message to answer.
    assert conversation.unread_count == 0
    body = (await admin.get(f"/api/messages/{target.id}")).json()
    assert body["reactions"] == [{"from": "customer", "emoji": "👍"}]


async def seed_reacted_target(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["target"] = await seed_outbound(app, admin.tenant_id, OTHER, TEST_NAME, "wamid.yzxyzx=")
    async with db(app, admin.tenant_id) as session:
        message = await session.get(Message, seeded["target"])
        assert message is not None
        message.reactions = [{"from": "customer", "emoji": "❤️"}, {"from": admin.user["id"], "emoji": "🙏"}]


async def expect_reaction_removed(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    target = await message_by_id(app, seeded["target"])
    # The customer's reaction is cleared; the agent's stays.
    assert target.reactions == [{"from": admin.user["id"], "emoji": "🙏"}]


async def seed_batch_target(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["outbound"] = await seed_outbound(
        app, admin.tenant_id, MAIN, SHEENA, OUTBOUND_WAMID, created_at=at(1749416000)
    )


async def expect_batch(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    text = await inbound(app, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
    location = await inbound(app, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTU2MjZEMDBGRkE3MENEMDE0RQA=")
    assert text.type == "text"
    assert location.type == "location"
    assert text.conversation_id == location.conversation_id
    conversation = await conversation_of(app, location)
    assert conversation.unread_count == 2
    assert conversation.last_message_at == at(1749416390)
    assert conversation.last_message_preview.startswith("📍 Location: Philz Coffee")
    # "read" came before "delivered" in the delivery: the message stays read, and both times are kept.
    outbound = await message_by_id(app, seeded["outbound"])
    assert outbound.status == MessageStatus.READ
    assert outbound.read_at == at(1750030080)
    assert outbound.delivered_at == at(1750030075)
    assert outbound.pricing == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "marketing",
    }


async def seed_status_target(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["outbound"] = await seed_outbound(app, admin.tenant_id, MAIN, SHEENA, OUTBOUND_WAMID)


async def seed_sending_target(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["outbound"] = await seed_outbound(
        app, admin.tenant_id, MAIN, SHEENA, OUTBOUND_WAMID, status=MessageStatus.SENDING
    )


async def seed_other_number_target(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["outbound"] = await seed_outbound(
        app, admin.tenant_id, OTHER, TEST_NAME, "wamid.xyzxyz", status=MessageStatus.SENDING
    )


async def seed_failing_target(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["outbound"] = await seed_outbound(app, admin.tenant_id, MAIN, SHEENA, FAILED_WAMID)


async def expect_delivered_bsuid(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await message_by_id(app, seeded["outbound"])
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at == at(1750030073)
    assert message.pricing is not None
    assert message.pricing["category"] == "marketing"
    # The recipient's business-scoped id and username are learnt from the status's contact.
    contact = await contact_of(app, message)
    assert contact.bsuid == TEST_BSUID
    assert contact.username == "@pablomorales"


async def expect_sent(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await message_by_id(app, seeded["outbound"])
    assert message.status == MessageStatus.SENT
    assert message.sent_at == at(1750030073)
    assert message.pricing is not None
    assert message.pricing["pricing_model"] == "PMP"


async def expect_sent_with_callback(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await message_by_id(app, seeded["outbound"])
    assert message.status == MessageStatus.SENT
    assert message.sent_at == at(1698266945)
    assert message.pricing == {"billable": True, "pricing_model": "CBP", "category": "service"}


async def expect_read(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    message = await message_by_id(app, seeded["outbound"])
    assert message.status == MessageStatus.READ
    assert message.read_at == at(1689380458)


def expect_failed(code: int, title: str, details: str) -> Step:
    async def check(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
        message = await message_by_id(app, seeded["outbound"])
        assert message.status == MessageStatus.FAILED
        assert message.failed_at == at(1751142888)
        assert (message.error_code, message.error_title, message.error_details) == (code, title, details)
        error = (await admin.get(f"/api/messages/{message.id}")).json()["error"]
        assert error["code"] == code
        assert error["title"] == title
        assert error["details"] == details
        assert error["explanation"]  # the catalogue's words for agents

    return check


async def seed_other_read_target(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    seeded["outbound"] = await seed_outbound(app, admin.tenant_id, OTHER, TEST_NAME, "wamid.xyzxyz")


def seed_template(template_id: str, name: str, language: str, category: str, status: str) -> Step:
    async def seed(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
        async with db(app, admin.tenant_id) as session:
            template = Template(
                waba_id="102290129340398",
                meta_template_id=template_id,
                name=name,
                language=language,
                category=category,
                status=status,
                components=[{"type": "BODY", "text": "Hello {{1}}"}],
            )
            session.add(template)
            await session.flush()
            seeded["template"] = template.id

    return seed


def expect_template(**expected: Any) -> Step:
    async def check(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
        template = await one(app, Template, Template.id == seeded["template"])
        assert {key: getattr(template, key) for key in expected} == expected

    return check


async def expect_throughput_upgrade(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    number = await one(app, PhoneNumber, PhoneNumber.phone_number_id == MAIN)
    assert number.messages_per_second == 1000
    assert number.messaging_limit_tier == "TIER_UNLIMITED"
    # Only the number with that display number changed.
    other = await one(app, PhoneNumber, PhoneNumber.phone_number_id == OTHER)
    assert other.messages_per_second == 80


async def expect_reinstated(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    # DISABLED_UPDATE with ban state REINSTATE: the account is back, nothing gets disabled.
    number = await one(app, PhoneNumber, PhoneNumber.phone_number_id == MAIN)
    assert number.status == PhoneNumberStatus.CONNECTED
    event = await the_event(app)
    assert event.notes is not None
    assert "DISABLED_UPDATE (REINSTATE)" in event.notes


async def expect_restriction_recorded(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    number = await one(app, PhoneNumber, PhoneNumber.phone_number_id == MAIN)
    assert number.status == PhoneNumberStatus.CONNECTED
    event = await the_event(app)
    assert event.notes is not None
    assert "ACCOUNT_RESTRICTION" in event.notes


async def seed_opted_out_contact(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    async with db(app, admin.tenant_id) as session:
        contact = Contact(wa_id=SHEENA, opted_out=True)
        session.add(contact)
        await session.flush()
        seeded["contact"] = contact.id


async def expect_marketing_resumed(app: FastAPI, admin: Account, seeded: dict[str, Any]) -> None:
    contact = await one(app, Contact, Contact.id == seeded["contact"])
    assert contact.opted_out is False
    assert contact.attributes["messaging_preferences"] == {"marketing_messages": "resume"}


async def the_event(app: FastAPI) -> WebhookEvent:
    return await one(app, WebhookEvent)


PLAN: dict[str, tuple[Step, Step]] = {
    "account_update_disabled.json": (nothing, expect_reinstated),
    "account_update_restriction.json": (nothing, expect_restriction_recorded),
    "batch_multiple_messages_and_statuses.json": (seed_batch_target, expect_batch),
    "inbound_audio_voice.json": (nothing, expect_audio),
    "inbound_button_template_quick_reply.json": (nothing, expect_template_button),
    "inbound_contacts.json": (nothing, expect_contacts),
    "inbound_document.json": (nothing, expect_document),
    "inbound_image.json": (nothing, expect_image),
    "inbound_interactive_button_reply.json": (nothing, expect_button_reply),
    "inbound_interactive_list_reply.json": (nothing, expect_list_reply),
    "inbound_interactive_with_value_errors_131000.json": (nothing, expect_interactive_with_errors),
    "inbound_location.json": (nothing, expect_location),
    "inbound_reaction.json": (seed_reaction_target, expect_reaction),
    "inbound_reaction_removed_empty_emoji.json": (seed_reacted_target, expect_reaction_removed),
    "inbound_sticker_animated.json": (nothing, expect_sticker),
    "inbound_system_user_changed_number.json": (seed_system_contact, expect_user_changed_number),
    "inbound_text.json": (nothing, expect_text),
    "inbound_text_forwarded.json": (nothing, expect_text_forwarded),
    "inbound_text_referral_ctwa_ad.json": (nothing, expect_referral),
    "inbound_text_reply_context.json": (seed_quoted_message, expect_reply_context),
    "inbound_unsupported.json": (nothing, expect_unsupported),
    "inbound_video.json": (nothing, expect_video),
    "phone_number_quality_update_throughput_upgrade.json": (nothing, expect_throughput_upgrade),
    "status_delivered_bsuid_pricing.json": (seed_status_target, expect_delivered_bsuid),
    "status_failed_131026.json": (
        seed_failing_target,
        expect_failed(131026, "Message undeliverable", "Message Undeliverable."),
    ),
    "status_failed_131047.json": (
        seed_failing_target,
        expect_failed(
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to "
            "this number.",
        ),
    ),
    "status_read.json": (seed_other_read_target, expect_read),
    "status_sent_with_biz_opaque_callback_data.json": (seed_other_number_target, expect_sent_with_callback),
    "status_sent_with_conversation_pricing.json": (seed_sending_target, expect_sent),
    "template_category_update_completed.json": (
        seed_template("278077987957091", "welcome_template", "en_US", "UTILITY", "APPROVED"),
        expect_template(category="MARKETING", status="APPROVED"),
    ),
    "template_quality_update.json": (
        seed_template("806312974732579", "welcome_template", "en_US", "MARKETING", "APPROVED"),
        expect_template(quality_score="YELLOW", status="APPROVED"),
    ),
    "template_status_approved.json": (
        seed_template("1689556908129832", "order_confirmation", "en_US", "UTILITY", "PENDING"),
        expect_template(status="APPROVED", rejected_reason=None),
    ),
    "template_status_rejected_invalid_format.json": (
        seed_template("1689556908129835", "abandoned_cart", "en", "MARKETING", "PENDING"),
        expect_template(status="REJECTED", rejected_reason="INVALID_FORMAT"),
    ),
    "user_preferences_marketing_resume.json": (seed_opted_out_contact, expect_marketing_resumed),
}


def test_every_sample_webhook_has_a_specification() -> None:
    assert sorted(PLAN) == webhook_payload_names()


@pytest.mark.parametrize("name", sorted(PLAN))
async def test_sample_webhook_is_processed_into_rows(
    name: str, app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Sample Payloads Ltd")
    await connect_payload_numbers(admin)
    prepare, expect = PLAN[name]
    seeded: dict[str, Any] = {}
    await prepare(app, admin, seeded)

    response = await post_webhook(client, payload_bytes(name))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    await settle(app)

    listed = (await admin.get("/api/webhook/events")).json()["items"]
    assert [(e["id"], e["status"], e["error"]) for e in listed] == [
        (response.json()["eventId"], "processed", None)
    ]
    assert (await admin.get("/api/webhook/events", params={"status": "failed"})).json()["items"] == []
    await expect(app, admin, seeded)


async def test_a_stop_preference_opts_the_contact_out_of_marketing_and_resume_opts_back_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await connect_payload_numbers(await register(client, "Preferences Ltd"))
    resume = payload_json("user_preferences_marketing_resume.json")
    stop = payload_json("user_preferences_marketing_resume.json")
    preference = stop["entry"][0]["changes"][0]["value"]["user_preferences"][0]
    preference.update(value="stop", detail="User requested to stop marketing messages", timestamp=1731705600)

    assert (await post_webhook(client, encode(stop))).status_code == 200
    await settle(app)
    contact = await one(app, Contact, Contact.wa_id == SHEENA)
    assert contact.opted_out is True
    assert contact.attributes["messaging_preferences"] == {"marketing_messages": "stop"}

    assert (await post_webhook(client, encode(resume))).status_code == 200
    await settle(app)
    contact = await one(app, Contact, Contact.wa_id == SHEENA)
    assert contact.opted_out is False
    events = await rows(app, WebhookEvent)
    assert {e.status for e in events} == {WebhookEventStatus.PROCESSED}


async def test_statuses_of_messages_sent_elsewhere_and_updates_of_unsynced_templates_are_noted_not_failed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Elsewhere Ltd")
    await connect_payload_numbers(admin)
    for name in ("status_read.json", "status_failed_131026.json", "template_status_approved.json"):
        assert (await post_webhook(client, payload_bytes(name))).status_code == 200
    await settle(app)

    events = (await admin.get("/api/webhook/events")).json()["items"]
    assert len(events) == 3
    assert {e["status"] for e in events} == {"processed"}
    notes = " | ".join(e["notes"] for e in events)
    assert "unknown message wamid.xyzxyz" in notes
    assert f"unknown message {FAILED_WAMID}" in notes
    assert "template 1689556908129832 is not synced yet" in notes
    assert await rows(app, Message, Message.wamid.in_(["wamid.xyzxyz", FAILED_WAMID])) == []


async def test_deliveries_for_numbers_nobody_connected_are_processed_and_noted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await post_webhook(client, payload_bytes("inbound_text.json"))
    assert response.status_code == 200
    await settle(app)
    event = await one(app, WebhookEvent)
    assert event.status == WebhookEventStatus.PROCESSED
    assert event.tenant_id is None
    assert event.notes is not None
    assert "no company owns phone number 106540352242922" in event.notes
    assert await rows(app, Message) == []
