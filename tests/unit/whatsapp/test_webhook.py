from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wadesk.whatsapp.errors import ErrorCategory
from wadesk.whatsapp.webhook import (
    AccountUpdate,
    AudioMessage,
    ButtonMessage,
    ContactIdentity,
    ContactsMessage,
    DocumentMessage,
    EditMessage,
    ErrorNotice,
    ImageMessage,
    InboundMessage,
    InteractiveMessage,
    LocationMessage,
    OrderMessage,
    PhoneNumberQualityUpdate,
    ReactionMessage,
    RequestWelcomeMessage,
    RevokeMessage,
    StatusUpdate,
    StickerMessage,
    SystemMessage,
    TemplateCategoryUpdate,
    TemplateQualityUpdate,
    TemplateStatusUpdate,
    TextMessage,
    UnknownChange,
    UnsupportedMessage,
    UserPreferencesUpdate,
    VideoMessage,
    WebhookPayloadError,
    iter_updates,
    message_media,
    message_preview,
    parse_updates,
    parse_webhook,
)

Loader = Callable[[str], Any]

BSUID = "US.13491208655302741918"


def messages_delivery(value: dict[str, Any], *, waba_id: str = "102290129340398") -> dict[str, Any]:
    """A one-change `messages` delivery around `value` (metadata added when missing)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}],
    }


def inbound(message: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A delivery of one inbound message from 16505551234."""
    base = {"from": "16505551234", "id": "wamid.TEST", "timestamp": "1749416383"}
    value: dict[str, Any] = {"messages": [{**base, **message}]}
    value["contacts"] = (
        contacts if contacts is not None else [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}]
    )
    return messages_delivery(value)


def only_message(delivery: dict[str, Any]) -> InboundMessage:
    updates = parse_updates(delivery)
    assert len(updates) == 1
    item = updates[0]
    assert isinstance(item, InboundMessage)
    return item


def only_status(delivery: dict[str, Any]) -> StatusUpdate:
    updates = parse_updates(delivery)
    assert len(updates) == 1
    item = updates[0]
    assert isinstance(item, StatusUpdate)
    return item


# --- the corpus -----------------------------------------------------------------------------------------------


def test_every_corpus_file_is_a_known_kind_of_document(corpus_index: dict[str, str | None]) -> None:
    assert corpus_index, "the payload corpus (shared/whatsapp/payloads) was not found"
    assert [name for name, group in corpus_index.items() if group is None] == []


def test_every_webhook_payload_parses_and_round_trips(
    webhook_file: str, load_payload: Loader, payload_bytes: Callable[[str], bytes]
) -> None:
    original = load_payload(webhook_file)

    envelope = parse_webhook(payload_bytes(webhook_file))

    assert envelope.model_dump(by_alias=True, exclude_unset=True) == original
    assert envelope.raw() == original
    assert parse_webhook(original) == envelope


def test_every_webhook_payload_flattens_to_at_least_one_routed_update(
    webhook_file: str, load_payload: Loader
) -> None:
    updates = parse_updates(load_payload(webhook_file))

    assert updates
    for update in updates:
        assert update.waba_id
        if isinstance(update, InboundMessage):
            assert update.phone_number_id
            assert not update.identity.is_empty
            assert update.preview
            assert update.sent_at.tzinfo is UTC
        if isinstance(update, StatusUpdate):
            assert update.phone_number_id
            assert update.occurred_at.tzinfo is UTC


# --- inbound messages -----------------------------------------------------------------------------------------


def test_text_message_is_routed_and_timestamped_in_utc(load_payload: Loader) -> None:
    item = only_message(load_payload("inbound_text.json"))

    assert item.waba_id == "102290129340398"
    assert item.phone_number_id == "106540352242922"
    assert item.display_phone_number == "15550783881"
    assert item.wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert item.identity == ContactIdentity(wa_id="16505551234")
    assert item.profile_name == "Sheena Nelson"
    assert item.sent_at == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert isinstance(item.message, TextMessage)
    assert item.message.text.body == "Does it come in another color?"
    assert item.preview == "Does it come in another color?"


def test_image_message_exposes_media_id_url_and_caption(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_image.json")).message

    assert isinstance(message, ImageMessage)
    assert message.image.id == "1003383421387256"
    assert message.image.mime_type == "image/jpeg"
    assert message.image.url is not None
    assert message.image.url.startswith("https://lookaside.fbsbx.com/")
    assert message_media(message) is message.image
    assert message_preview(message) == "📷 Taj Mahal"


def test_voice_note_is_an_audio_message_with_the_voice_flag(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_audio_voice.json")).message

    assert isinstance(message, AudioMessage)
    assert message.audio.voice is True
    assert message_preview(message) == "🎤 Voice message"


def test_audio_file_without_voice_flag_previews_as_audio() -> None:
    message = only_message(
        inbound({"type": "audio", "audio": {"id": "1", "mime_type": "audio/mpeg"}})
    ).message

    assert isinstance(message, AudioMessage)
    assert message.audio.voice is None
    assert message_preview(message) == "🎵 Audio"


def test_forwarded_video_keeps_caption_and_forward_flag(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_video.json")).message

    assert isinstance(message, VideoMessage)
    assert message.video.caption == "caption"
    assert message.context is not None
    assert message.context.is_forwarded
    assert message_preview(message) == "🎥 caption"


def test_document_message_previews_its_filename(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_document.json")).message

    assert isinstance(message, DocumentMessage)
    assert message.document.filename == "filename.pdf"
    assert message_preview(message) == "📄 filename.pdf"


def test_animated_sticker_keeps_the_animated_flag(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_sticker_animated.json")).message

    assert isinstance(message, StickerMessage)
    assert message.sticker.animated is True
    assert message.sticker.mime_type == "image/webp"
    assert message_preview(message) == "💟 Sticker"


def test_location_message_has_numeric_coordinates(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_location.json")).message

    assert isinstance(message, LocationMessage)
    assert message.location.latitude == pytest.approx(37.44221496582)
    assert message.location.longitude == pytest.approx(-122.16165924072)
    assert message_preview(message) == "📍 Philz Coffee"


def test_shared_contact_card_exposes_name_and_phones(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_contacts.json")).message

    assert isinstance(message, ContactsMessage)
    card = message.contacts[0]
    assert card.display_name == "Lucía Gómez"
    assert card.phones is not None
    assert card.phones[0].wa_id == "19835552319"
    assert message_preview(message) == "👤 Lucía Gómez"


def test_several_shared_contacts_preview_as_a_count() -> None:
    cards = [{"name": {"formatted_name": "A"}}, {"name": {"first_name": "B"}}]
    message = only_message(inbound({"type": "contacts", "contacts": cards})).message

    assert message_preview(message) == "👤 2 contacts"


def test_button_reply_exposes_the_picked_button_and_the_quoted_message(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_interactive_button_reply.json")).message

    assert isinstance(message, InteractiveMessage)
    assert message.interactive.type == "button_reply"
    assert message.interactive.pick is not None
    assert message.interactive.pick.id == "cancel-button"
    assert message.reply_to == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"
    assert message_preview(message) == "Cancel"


def test_list_reply_exposes_row_id_title_and_description(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_interactive_list_reply.json")).message

    assert isinstance(message, InteractiveMessage)
    assert message.interactive.list_reply is not None
    assert message.interactive.list_reply.id == "priority_express"
    assert message.interactive.list_reply.description == "Next Day to 2 Days"


def test_flow_reply_decodes_its_response_json() -> None:
    nfm = {"name": "flow", "body": "Sent", "response_json": '{"flow_token": "tok-1", "size": "M"}'}
    message = only_message(
        inbound({"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": nfm}})
    ).message

    assert isinstance(message, InteractiveMessage)
    assert message.interactive.nfm_reply is not None
    assert message.interactive.nfm_reply.response() == {"flow_token": "tok-1", "size": "M"}
    assert message_preview(message) == "📝 Form submitted"


def test_flow_reply_with_malformed_response_json_decodes_to_none() -> None:
    nfm = {"name": "flow", "response_json": "{not json"}
    message = only_message(
        inbound({"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": nfm}})
    ).message

    assert isinstance(message, InteractiveMessage)
    assert message.interactive.nfm_reply is not None
    assert message.interactive.nfm_reply.response() is None


def test_new_interactive_reply_kind_is_kept_without_failing() -> None:
    interactive = {"type": "call_permission_reply", "call_permission_reply": {"response": "accept"}}
    message = only_message(inbound({"type": "interactive", "interactive": interactive})).message

    assert isinstance(message, InteractiveMessage)
    assert message.interactive.type == "call_permission_reply"
    assert message.interactive.raw()["call_permission_reply"] == {"response": "accept"}
    assert message_preview(message) == "Interactive reply"


def test_template_quick_reply_tap_carries_payload_and_text(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_button_template_quick_reply.json")).message

    assert isinstance(message, ButtonMessage)
    assert message.button.payload == "Unsubscribe"
    assert message.context is not None
    assert message.context.from_ == "15550783881"
    assert message_preview(message) == "Unsubscribe"


def test_reaction_previews_the_emoji(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_reaction.json")).message

    assert isinstance(message, ReactionMessage)
    assert message.reaction.message_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA"
    assert not message.reaction.removed
    assert message_preview(message) == "Reacted 👍 to a message"


def test_reaction_with_empty_emoji_is_a_removal(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_reaction_removed_empty_emoji.json")).message

    assert isinstance(message, ReactionMessage)
    assert message.reaction.removed
    assert message_preview(message) == "Removed a reaction"


def test_reaction_without_emoji_key_is_a_removal() -> None:
    message = only_message(inbound({"type": "reaction", "reaction": {"message_id": "wamid.X"}})).message

    assert isinstance(message, ReactionMessage)
    assert message.reaction.removed


def test_order_message_lists_its_products() -> None:
    order = {
        "catalog_id": "cat-1",
        "text": "please hurry",
        "product_items": [
            {"product_retailer_id": "sku-1", "quantity": 2, "item_price": 12.5, "currency": "USD"},
            {"product_retailer_id": "sku-2", "quantity": 1, "item_price": 3, "currency": "USD"},
        ],
    }
    delivery = inbound({"type": "order", "order": order})
    message = only_message(delivery).message

    assert isinstance(message, OrderMessage)
    assert message.order.product_items is not None
    assert [p.quantity for p in message.order.product_items] == [2, 1]
    assert message_preview(message) == "🛒 Order (2 items)"
    assert parse_webhook(delivery).raw() == delivery


def test_user_changed_number_system_message_parses_without_contacts(load_payload: Loader) -> None:
    item = only_message(load_payload("inbound_system_user_changed_number.json"))

    assert isinstance(item.message, SystemMessage)
    assert item.message.system.type == "user_changed_number"
    assert item.message.system.wa_id == "12195555358"
    assert item.contact is None
    assert item.identity == ContactIdentity(wa_id="16505551234")


def test_click_to_whatsapp_referral_is_kept_on_the_message(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_text_referral_ctwa_ad.json")).message

    assert message.referral is not None
    assert message.referral.source_type == "ad"
    assert message.referral.source_id == "120226305854810726"
    assert message.referral.ctwa_clid is not None
    assert message.referral.welcome_message is not None


def test_reply_context_gives_the_quoted_wamid(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_text_reply_context.json")).message

    assert message.reply_to == "wamid.xyzxyz=="
    assert message.context is not None
    assert not message.context.is_forwarded


def test_frequently_forwarded_counts_as_forwarded() -> None:
    message = only_message(
        inbound({"type": "text", "text": {"body": "hi"}, "context": {"frequently_forwarded": True}})
    ).message

    assert message.context is not None
    assert message.context.is_forwarded


def test_product_inquiry_context_names_the_referred_product() -> None:
    context = {
        "from": "15550783881",
        "id": "wamid.CATALOG",
        "referred_product": {"catalog_id": "cat-1", "product_retailer_id": "sku-9"},
    }
    message = only_message(
        inbound({"type": "text", "text": {"body": "Is it in stock?"}, "context": context})
    ).message

    assert message.context is not None
    assert message.context.referred_product is not None
    assert message.context.referred_product.product_retailer_id == "sku-9"


def test_revoked_message_names_the_deleted_message() -> None:
    message = only_message(
        inbound({"type": "revoke", "revoke": {"original_message_id": "wamid.OLD"}})
    ).message

    assert isinstance(message, RevokeMessage)
    assert message.revoke.original_message_id == "wamid.OLD"
    assert message_preview(message) == "🚫 Message deleted"


def test_edited_message_previews_the_new_text() -> None:
    edit = {"original_message_id": "wamid.OLD", "message": {"type": "text", "text": {"body": "fixed typo"}}}
    message = only_message(inbound({"type": "edit", "edit": edit})).message

    assert isinstance(message, EditMessage)
    assert message_preview(message) == "✏️ fixed typo"


def test_request_welcome_has_no_content_object() -> None:
    message = only_message(inbound({"type": "request_welcome"})).message

    assert isinstance(message, RequestWelcomeMessage)
    assert message_preview(message) == "👋 Started a chat"


def test_unsupported_message_keeps_its_errors(load_payload: Loader) -> None:
    message = only_message(load_payload("inbound_unsupported.json")).message

    assert isinstance(message, UnsupportedMessage)
    assert message.type == "unsupported"
    assert message.errors is not None
    assert message.errors[0].code == 131051
    assert message.errors[0].details == "Message type is currently not supported."
    assert message_preview(message) == "⚠️ Unsupported message"


def test_unknown_message_type_keeps_its_type_and_raw_json() -> None:
    raw_message = {"type": "poll", "poll": {"question": "Lunch?", "options": ["yes", "no"]}}
    delivery = inbound(raw_message)

    message = only_message(delivery).message

    assert isinstance(message, UnsupportedMessage)
    assert message.type == "poll"
    assert message.raw()["poll"] == {"question": "Lunch?", "options": ["yes", "no"]}
    assert message_preview(message) == "⚠️ Unsupported message"
    assert parse_webhook(delivery).raw() == delivery


def test_known_type_without_its_content_object_becomes_unsupported_next_to_the_value_error(
    load_payload: Loader,
) -> None:
    updates = parse_updates(load_payload("inbound_interactive_with_value_errors_131000.json"))

    assert [type(u) for u in updates] == [InboundMessage, ErrorNotice]
    message_item, error_item = updates
    assert isinstance(message_item, InboundMessage)
    assert isinstance(message_item.message, UnsupportedMessage)
    assert message_item.message.type == "interactive"
    assert isinstance(error_item, ErrorNotice)
    assert error_item.error.code == 131000
    assert error_item.error.details == "Unsupported webhook payload"
    assert error_item.error.catalogue.retryable
    assert error_item.phone_number_id == "1122334455667"


def test_long_text_preview_is_truncated_on_one_line() -> None:
    message = only_message(inbound({"type": "text", "text": {"body": "word\n" * 100}})).message

    preview = message_preview(message, limit=30)

    assert len(preview) <= 30
    assert preview.endswith("…")
    assert "\n" not in preview


def test_unknown_keys_are_kept_everywhere() -> None:
    delivery = inbound({"type": "text", "text": {"body": "hi", "markup": "bold"}, "new_top_level": {"x": 1}})
    delivery["entry"][0]["changes"][0]["value"]["brand_new_list"] = [1, 2]
    delivery["entry"][0]["shiny"] = True

    envelope = parse_webhook(delivery)

    assert envelope.raw() == delivery
    message = envelope.entry[0].changes[0].value.messages[0]
    assert message.model_extra == {"new_top_level": {"x": 1}}


# --- identity: wa_id and BSUID --------------------------------------------------------------------------------


def test_bsuid_only_message_without_from_identifies_the_sender_by_bsuid() -> None:
    delivery = messages_delivery(
        {
            "contacts": [{"profile": {"name": "Pablo", "username": "@pablo"}, "user_id": BSUID}],
            "messages": [
                {
                    "from_user_id": BSUID,
                    "id": "wamid.BSUID",
                    "timestamp": "1775000000",
                    "type": "text",
                    "text": {"body": "hola"},
                }
            ],
        }
    )

    item = only_message(delivery)

    assert item.message.from_ is None
    assert item.identity == ContactIdentity(wa_id=None, bsuid=BSUID, username="@pablo")
    assert item.profile_name == "Pablo"


def test_message_with_only_bsuid_gets_the_phone_from_its_contact_entry() -> None:
    delivery = messages_delivery(
        {
            "contacts": [{"profile": {"name": "Pablo"}, "wa_id": "16505551234", "user_id": BSUID}],
            "messages": [
                {
                    "from_user_id": BSUID,
                    "id": "wamid.1",
                    "timestamp": "1775000000",
                    "type": "text",
                    "text": {"body": "x"},
                }
            ],
        }
    )

    assert only_message(delivery).identity == ContactIdentity(wa_id="16505551234", bsuid=BSUID)


def test_message_without_any_sender_id_still_parses_with_an_empty_identity() -> None:
    delivery = messages_delivery(
        {"messages": [{"id": "wamid.1", "timestamp": "1775000000", "type": "text", "text": {"body": "x"}}]}
    )

    item = only_message(delivery)

    # Parsing succeeds (the message is stored), but there is no one to attribute it to.
    assert item.identity.is_empty


def test_status_with_only_recipient_user_id_identifies_the_recipient() -> None:
    delivery = messages_delivery(
        {
            "statuses": [
                {
                    "id": "wamid.OUT",
                    "status": "delivered",
                    "timestamp": "1775000000",
                    "recipient_user_id": BSUID,
                }
            ]
        }
    )

    item = only_status(delivery)

    assert item.recipient == ContactIdentity(bsuid=BSUID)
    assert item.status.recipient_id is None


def test_delivered_status_merges_bsuid_and_username_from_contacts(load_payload: Loader) -> None:
    item = only_status(load_payload("status_delivered_bsuid_pricing.json"))

    assert item.recipient == ContactIdentity(
        wa_id="16505551234",
        bsuid=BSUID,
        parent_bsuid="US.ENT.11815799212886844830",
        username="@pablomorales",
    )


def test_each_message_is_matched_to_its_own_contact_not_the_first() -> None:
    delivery = messages_delivery(
        {
            "contacts": [
                {"profile": {"name": "Ann"}, "wa_id": "111111"},
                {"profile": {"name": "Bob"}, "wa_id": "222222"},
            ],
            "messages": [
                {"from": "222222", "id": "wamid.B", "timestamp": "1", "type": "text", "text": {"body": "b"}},
                {"from": "111111", "id": "wamid.A", "timestamp": "2", "type": "text", "text": {"body": "a"}},
            ],
        }
    )

    names = [u.profile_name for u in parse_updates(delivery) if isinstance(u, InboundMessage)]

    assert names == ["Bob", "Ann"]


def test_single_contact_of_a_different_user_is_not_attached() -> None:
    item = only_message(inbound({"type": "text", "text": {"body": "x"}}, contacts=[{"wa_id": "999"}]))

    assert item.contact is None
    assert item.identity == ContactIdentity(wa_id="16505551234")


# --- statuses -------------------------------------------------------------------------------------------------


def test_read_status_with_pricing_but_no_conversation_parses() -> None:
    delivery = messages_delivery(
        {
            "statuses": [
                {
                    "id": "wamid.OUT",
                    "status": "read",
                    "timestamp": "1750030080",
                    "recipient_id": "16505551234",
                    "pricing": {
                        "billable": True,
                        "pricing_model": "PMP",
                        "type": "regular",
                        "category": "utility",
                    },
                }
            ]
        }
    )

    item = only_status(delivery)

    assert item.status.status == "read"
    assert item.status.conversation is None
    assert item.status.pricing is not None
    assert item.status.pricing.type == "regular"
    assert item.occurred_at == datetime(2025, 6, 15, 23, 28, tzinfo=UTC)


def test_sent_status_with_conversation_and_pricing_parses(load_payload: Loader) -> None:
    status = only_status(load_payload("status_sent_with_conversation_pricing.json")).status

    assert status.conversation is not None
    assert status.conversation.origin is not None
    assert status.conversation.origin.type == "marketing"
    assert status.conversation.expiration_timestamp == "1750116480"
    assert status.pricing is not None
    assert status.pricing.pricing_model == "PMP"


def test_minimal_status_without_conversation_or_pricing_parses() -> None:
    status = only_status(
        messages_delivery(
            {"statuses": [{"id": "w", "status": "sent", "timestamp": "1", "recipient_id": "1"}]}
        )
    ).status

    assert status.conversation is None
    assert status.pricing is None


def test_played_status_is_accepted() -> None:
    item = only_status(
        messages_delivery(
            {"statuses": [{"id": "w", "status": "played", "timestamp": "1", "recipient_id": "1"}]}
        )
    )

    assert item.status.status == "played"


def test_sent_status_echoes_biz_opaque_callback_data(load_payload: Loader) -> None:
    status = only_status(load_payload("status_sent_with_biz_opaque_callback_data.json")).status

    assert status.biz_opaque_callback_data == "some data"


def test_failed_status_131047_explains_the_closed_window(load_payload: Loader) -> None:
    item = only_status(load_payload("status_failed_131047.json"))

    assert item.status.status == "failed"
    assert item.status.errors is not None
    error = item.status.errors[0]
    assert error.code == 131047
    assert error.href is not None
    assert error.catalogue.category is ErrorCategory.REENGAGEMENT_REQUIRED
    assert not error.catalogue.retryable


def test_failed_status_131026_without_contacts_keeps_recipient_phone(load_payload: Loader) -> None:
    item = only_status(load_payload("status_failed_131026.json"))

    assert item.contact is None
    assert item.recipient == ContactIdentity(wa_id="16505551234")
    assert item.status.errors is not None
    assert item.status.errors[0].details == "Message Undeliverable."
    assert item.status.errors[0].catalogue.category is ErrorCategory.RECIPIENT


# --- ordering -------------------------------------------------------------------------------------------------


def test_batch_returns_every_message_and_status_in_order(load_payload: Loader) -> None:
    updates = parse_updates(load_payload("batch_multiple_messages_and_statuses.json"))

    assert [type(u).__name__ for u in updates] == [
        "InboundMessage",
        "InboundMessage",
        "StatusUpdate",
        "StatusUpdate",
    ]
    first, second, read, delivered = updates
    assert isinstance(first, InboundMessage)
    assert isinstance(first.message, TextMessage)
    assert isinstance(second, InboundMessage)
    assert isinstance(second.message, LocationMessage)
    assert isinstance(read, StatusUpdate)
    assert read.status.status == "read"
    assert isinstance(delivered, StatusUpdate)
    assert delivered.status.status == "delivered"
    assert read.occurred_at > delivered.occurred_at  # Meta does not order by time; we keep Meta's order.


def test_every_entry_and_change_is_flattened_in_order() -> None:
    text = {"from": "1", "id": "wamid.1", "timestamp": "1", "type": "text", "text": {"body": "one"}}
    delivery = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-A",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"display_phone_number": "1", "phone_number_id": "P1"},
                            "messages": [text],
                        },
                    },
                    {"field": "some_future_field", "value": {"anything": [1, 2, 3]}},
                ],
            },
            {
                "id": "WABA-B",
                "time": 1751247548,
                "changes": [{"field": "account_review_update", "value": {"decision": "APPROVED"}}],
            },
        ],
    }

    updates = parse_updates(delivery)

    assert [(type(u).__name__, u.waba_id) for u in updates] == [
        ("InboundMessage", "WABA-A"),
        ("UnknownChange", "WABA-A"),
        ("AccountReviewUpdate", "WABA-B"),
    ]


def test_unknown_field_is_kept_as_an_unknown_change_with_its_raw_value() -> None:
    value = {"whatever": {"nested": True}, "list": [1]}
    delivery = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "W", "time": 1700000000, "changes": [{"field": "calls", "value": value}]}],
    }

    (update,) = parse_updates(delivery)

    assert isinstance(update, UnknownChange)
    assert update.field == "calls"
    assert update.value == value
    assert update.occurred_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


# --- other fields ---------------------------------------------------------------------------------------------


def test_template_approval_names_the_template(load_payload: Loader) -> None:
    (update,) = parse_updates(load_payload("template_status_approved.json"))

    assert isinstance(update, TemplateStatusUpdate)
    assert update.value.event == "APPROVED"
    assert update.template_id == "1689556908129832"
    assert update.value.message_template_name == "order_confirmation"
    assert update.occurred_at == datetime.fromtimestamp(1751247548, tz=UTC)


def test_template_rejection_carries_the_reason_and_recommendation(load_payload: Loader) -> None:
    (update,) = parse_updates(load_payload("template_status_rejected_invalid_format.json"))

    assert isinstance(update, TemplateStatusUpdate)
    assert update.value.reason == "INVALID_FORMAT"
    assert update.value.rejection_info is not None
    assert update.value.rejection_info.recommendation


def test_template_category_change_gives_old_and_new_category(load_payload: Loader) -> None:
    (update,) = parse_updates(load_payload("template_category_update_completed.json"))

    assert isinstance(update, TemplateCategoryUpdate)
    assert (update.value.previous_category, update.value.new_category) == ("UTILITY", "MARKETING")


def test_template_quality_change_gives_the_new_score(load_payload: Loader) -> None:
    (update,) = parse_updates(load_payload("template_quality_update.json"))

    assert isinstance(update, TemplateQualityUpdate)
    assert update.value.new_quality_score == "YELLOW"
    assert update.template_id == "806312974732579"


def test_throughput_upgrade_is_a_phone_number_quality_update(load_payload: Loader) -> None:
    (update,) = parse_updates(load_payload("phone_number_quality_update_throughput_upgrade.json"))

    assert isinstance(update, PhoneNumberQualityUpdate)
    assert update.value.event == "THROUGHPUT_UPGRADE"
    assert update.value.current_limit == "TIER_UNLIMITED"


def test_account_restriction_lists_each_restriction(load_payload: Loader) -> None:
    (update,) = parse_updates(load_payload("account_update_restriction.json"))

    assert isinstance(update, AccountUpdate)
    assert update.value.event == "ACCOUNT_RESTRICTION"
    assert update.value.restriction_info is not None
    assert [r.restriction_type for r in update.value.restriction_info] == [
        "RESTRICTED_BIZ_INITIATED_MESSAGING",
        "RESTRICTED_ADD_PHONE_NUMBER_ACTION",
    ]


def test_account_disabled_update_carries_the_ban_state(load_payload: Loader) -> None:
    (update,) = parse_updates(load_payload("account_update_disabled.json"))

    assert isinstance(update, AccountUpdate)
    assert update.value.ban_info is not None
    assert update.value.ban_info.waba_ban_state == "REINSTATE"


def test_marketing_resume_preference_is_routed_to_the_user(load_payload: Loader) -> None:
    (update,) = parse_updates(load_payload("user_preferences_marketing_resume.json"))

    assert isinstance(update, UserPreferencesUpdate)
    assert update.phone_number_id == "106540352242922"
    assert update.identity == ContactIdentity(wa_id="16505551234")
    assert update.preference.value == "resume"
    assert update.preference.category == "marketing_messages"
    assert update.occurred_at == datetime.fromtimestamp(1731705721, tz=UTC)


def test_new_account_event_values_are_accepted() -> None:
    delivery = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "W", "changes": [{"field": "account_update", "value": {"event": "SOMETHING_NEW"}}]}],
    }

    (update,) = parse_updates(delivery)

    assert isinstance(update, AccountUpdate)
    assert update.value.event == "SOMETHING_NEW"


# --- invalid input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        "[1, 2, 3]",
        b"null",
        b'"just a string"',
        {"entry": []},
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": {}},
        {"object": "whatsapp_business_account", "entry": ["x"]},
        {"object": "whatsapp_business_account", "entry": [{"id": "W"}]},
        {"object": "whatsapp_business_account", "entry": [{"id": 5, "changes": []}]},
        {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"value": {}}]}]},
        {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages"}]}]},
        messages_delivery({"messages": "not a list"}),
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "W", "changes": [{"field": "messages", "value": {"messages": []}}]}],
        },
        inbound({"type": "text", "text": {"body": 42}}),
        inbound({"type": "text", "text": {"body": "x"}, "timestamp": "yesterday"}),
        inbound({"type": "text", "text": {"body": "x"}, "timestamp": "99999999999999"}),
        inbound({"type": "text", "text": {"body": "x"}, "id": None}),
        inbound({"type": 7}),
        messages_delivery({"statuses": [{"id": "w", "timestamp": "1"}]}),
    ],
    ids=lambda raw: repr(raw)[:60],
)
def test_invalid_input_raises_webhook_payload_error(raw: Any) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_webhook(raw)


def test_payload_error_message_points_at_the_problem() -> None:
    with pytest.raises(WebhookPayloadError, match=r"timestamp"):
        parse_webhook(inbound({"type": "text", "text": {"body": "x"}, "timestamp": "soon"}))


def test_deeply_nested_json_raises_webhook_payload_error() -> None:
    with pytest.raises(WebhookPayloadError):
        parse_webhook(b"[" * 100_000 + b"]" * 100_000)


def test_payload_error_is_a_value_error() -> None:
    assert issubclass(WebhookPayloadError, ValueError)


# --- property tests -------------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
interesting_strings = st.sampled_from(
    ["text", "image", "interactive", "unsupported", "messages", "statuses", "poll", "", "1749416383", "from"]
)


def _container_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _container_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _container_paths(child, (*prefix, index))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _mutate(document: Any, data: st.DataObject) -> Any:
    document = copy.deepcopy(document)
    paths = list(_container_paths(document))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = list(_container_paths(document))
        path = data.draw(st.sampled_from(paths))
        kind = data.draw(st.sampled_from(["drop", "replace", "add_key", "retype"]))
        if not path:
            if kind == "replace":
                document = data.draw(json_values)
            continue
        parent, key = _get(document, path[:-1]), path[-1]
        if kind == "drop":
            del parent[key]
        elif kind == "replace":
            parent[key] = data.draw(json_values | interesting_strings)
        elif kind == "add_key" and isinstance(parent[key], dict):
            parent[key][data.draw(st.text(max_size=8) | interesting_strings)] = data.draw(json_values)
        elif kind == "retype":
            parent[key] = data.draw(interesting_strings)
    return document


CORPUS_WEBHOOKS = [
    "inbound_text.json",
    "inbound_image.json",
    "inbound_interactive_button_reply.json",
    "inbound_interactive_with_value_errors_131000.json",
    "inbound_system_user_changed_number.json",
    "inbound_unsupported.json",
    "batch_multiple_messages_and_statuses.json",
    "status_delivered_bsuid_pricing.json",
    "status_failed_131047.json",
    "template_status_rejected_invalid_format.json",
    "account_update_restriction.json",
    "user_preferences_marketing_resume.json",
]


def _parse_or_payload_error(raw: Any) -> None:
    try:
        envelope = parse_webhook(raw)
    except WebhookPayloadError:
        return
    # Whatever parses must also flatten, preview and dump without failing.
    for update in iter_updates(envelope):
        if isinstance(update, InboundMessage):
            assert isinstance(update.preview, str)
            assert update.sent_at.tzinfo is UTC
        elif isinstance(update, StatusUpdate):
            assert update.occurred_at.tzinfo is UTC
    json.dumps(envelope.raw())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(CORPUS_WEBHOOKS))
def test_mutated_real_payloads_parse_or_raise_webhook_payload_error(
    data: st.DataObject, name: str, load_payload: Loader
) -> None:
    _parse_or_payload_error(_mutate(load_payload(name), data))


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(CORPUS_WEBHOOKS))
def test_mutated_payloads_as_bytes_parse_or_raise_webhook_payload_error(
    data: st.DataObject, name: str, load_payload: Loader
) -> None:
    raw = json.dumps(_mutate(load_payload(name), data)).encode()
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    _parse_or_payload_error(raw if data.draw(st.booleans()) else raw[:cut])


@given(document=json_values)
def test_random_json_parses_or_raises_webhook_payload_error(document: Any) -> None:
    _parse_or_payload_error(document)
    _parse_or_payload_error({"object": "whatsapp_business_account", "entry": document})


@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_random_bytes_and_text_parse_or_raise_webhook_payload_error(raw: bytes | str) -> None:
    _parse_or_payload_error(raw)


MODELLED_TYPES = {
    "text", "image", "audio", "video", "document", "sticker", "location", "contacts", "interactive", "button",
    "reaction", "order", "system", "revoke", "edit", "request_welcome",
}  # fmt: skip
MESSAGE_KEYS = {
    "id", "timestamp", "type", "from", "from_user_id", "from_parent_user_id", "context", "referral", "errors",
    "group_id", "identity", "unsupported",
}  # fmt: skip


@settings(max_examples=200)
@given(
    kind=st.text(min_size=1, max_size=15).filter(lambda t: t not in MODELLED_TYPES),
    extra_key=st.text(min_size=1, max_size=10).filter(lambda k: k not in MESSAGE_KEYS),
    extra_value=json_values,
)
def test_unknown_message_types_and_keys_round_trip(kind: str, extra_key: str, extra_value: Any) -> None:
    delivery = inbound({"type": kind, kind: {"some": "content"}})
    delivery["entry"][0]["changes"][0]["value"]["messages"][0].setdefault(extra_key, extra_value)

    envelope = parse_webhook(delivery)

    assert envelope.model_dump(by_alias=True, exclude_unset=True) == delivery
    (update,) = iter_updates(envelope)
    assert isinstance(update, InboundMessage)
    assert update.message.type == kind
