from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from wadesk.whatsapp import outbound as o

Loader = Callable[[str], Any]

PLACEHOLDER_TO = "{{Recipient-Phone-Number}}"
TYPING_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA="


def _template_date_time() -> dict[str, Any]:
    return o.date_time_param(
        "February 25, 1977",
        calendar="GREGORIAN",
        year=1977,
        month=2,
        day_of_month=25,
        day_of_week=5,
        hour=15,
        minute=33,
    )


def _template_media_body() -> list[dict[str, Any]]:
    return [
        o.header_component(o.image_param(link="http(s)://the-image-url")),
        o.body_component(
            o.text_param("text-string"),
            o.currency_param("$100.99", "USD", 100990),
            _template_date_time(),
        ),
    ]


# Each corpus request, built with our builders the way the platform would build it.
BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "send_request_text_preview_url.json": lambda: o.build_message(
        "+16505551234",
        o.text(
            "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/",
            preview_url=True,
        ),
    ),
    "send_request_text_reply_context.json": lambda: o.build_message(
        PLACEHOLDER_TO, o.text("<TEXT_MSG_CONTENT>"), reply_to="<MSGID_OF_PREV_MSG>"
    ),
    "send_request_image_by_id.json": lambda: o.build_message(
        PLACEHOLDER_TO, o.image(media_id="<IMAGE_OBJECT_ID>")
    ),
    "send_request_video_by_id.json": lambda: o.build_message(
        PLACEHOLDER_TO, o.video(media_id="<VIDEO_OBJECT_ID>", caption="<VIDEO_CAPTION_TEXT>")
    ),
    "send_request_audio_by_id.json": lambda: o.build_message(
        PLACEHOLDER_TO, o.audio(media_id="<AUDIO_OBJECT_ID>")
    ),
    "send_request_document_by_link.json": lambda: o.build_message(
        PLACEHOLDER_TO, o.document(link="<http(s)://document-url>", caption="<DOCUMENT-CAPTION-TEXT>")
    ),
    "send_request_sticker_by_id.json": lambda: o.build_message(
        PLACEHOLDER_TO, o.sticker(media_id="<MEDIA_OBJECT_ID>")
    ),
    "send_request_location.json": lambda: o.build_message(
        PLACEHOLDER_TO,
        o.location(37.758056, -122.425332, name="META HQ", address="1 Hacker Way, Menlo Park, CA 94025"),
    ),
    "send_request_contacts.json": lambda: o.build_message(
        PLACEHOLDER_TO,
        o.contacts(
            [
                {
                    "addresses": [
                        {
                            "city": "Menlo Park",
                            "country": "United States",
                            "country_code": "us",
                            "state": "CA",
                            "street": "1 Hacker Way",
                            "type": "HOME",
                            "zip": "94025",
                        },
                        {
                            "city": "Menlo Park",
                            "country": "United States",
                            "country_code": "us",
                            "state": "CA",
                            "street": "200 Jefferson Dr",
                            "type": "WORK",
                            "zip": "94025",
                        },
                    ],
                    "birthday": "2012-08-18",
                    "emails": [
                        {"email": "test@fb.com", "type": "WORK"},
                        {"email": "test@whatsapp.com", "type": "HOME"},
                    ],
                    "name": {
                        "first_name": "John",
                        "formatted_name": "John Smith",
                        "last_name": "Smith",
                        "middle_name": "D.",
                        "prefix": "Dr",
                        "suffix": "Jr",
                    },
                    "org": {"company": "WhatsApp", "department": "Design", "title": "Manager"},
                    "phones": [
                        {"phone": "+1 (940) 555-1234", "type": "HOME"},
                        {"phone": "+1 (650) 555-1234", "type": "WORK", "wa_id": "16505551234"},
                    ],
                    "urls": [
                        {"type": "WORK", "url": "https://www.facebook.com"},
                        {"type": "HOME", "url": "https://www.whatsapp.com"},
                    ],
                }
            ]
        ),
        recipient_type=None,
    ),
    "send_request_reaction.json": lambda: o.build_message(PLACEHOLDER_TO, o.reaction("wamid.HBgLM...", "😀")),
    "send_request_interactive_reply_buttons.json": lambda: o.build_message(
        PLACEHOLDER_TO,
        o.reply_buttons(
            "<BUTTON_TEXT>",
            [
                o.ReplyButton("<UNIQUE_BUTTON_ID_1>", "<BUTTON_TITLE_1>"),
                o.ReplyButton("<UNIQUE_BUTTON_ID_2>", "<BUTTON_TITLE_2>"),
            ],
        ),
    ),
    "send_request_interactive_list.json": lambda: o.build_message(
        PLACEHOLDER_TO,
        o.list_menu(
            "<BODY_TEXT>",
            "<BUTTON_TEXT>",
            [
                o.ListSection(
                    title="<LIST_SECTION_1_TITLE>",
                    rows=[
                        o.ListRow(
                            "<LIST_SECTION_1_ROW_1_ID>", "<SECTION_1_ROW_1_TITLE>", "<SECTION_1_ROW_1_DESC>"
                        ),
                        o.ListRow(
                            "<LIST_SECTION_1_ROW_2_ID>", "<SECTION_1_ROW_2_TITLE>", "<SECTION_1_ROW_2_DESC>"
                        ),
                    ],
                ),
                o.ListSection(
                    title="<LIST_SECTION_2_TITLE>",
                    rows=[
                        o.ListRow(
                            "<LIST_SECTION_2_ROW_1_ID>", "<SECTION_2_ROW_1_TITLE>", "<SECTION_2_ROW_1_DESC>"
                        ),
                        o.ListRow(
                            "<LIST_SECTION_2_ROW_2_ID>", "<SECTION_2_ROW_2_TITLE>", "<SECTION_2_ROW_2_DESC>"
                        ),
                    ],
                ),
            ],
            header=o.text_header("<HEADER_TEXT>"),
            footer="<FOOTER_TEXT>",
        ),
    ),
    "send_request_interactive_cta_url.json": lambda: o.build_message(
        "+16505551234",
        o.cta_url(
            "Tap the button below to see available dates.",
            "See Dates",
            "https://www.luckyshrub.com?clickID=kqDGWd24Q5TRwoEQTICY7W1JKoXvaZOXWAS7h1P76s0R7Paec4",
            header=o.media_header(
                "image", link="https://www.luckyshrub.com/assets/lucky-shrub-banner-logo-v1.png"
            ),
            footer="Dates subject to change.",
        ),
    ),
    "send_request_template_media_currency_datetime.json": lambda: o.build_message(
        PLACEHOLDER_TO, o.template("template-name", "language-and-locale-code", _template_media_body())
    ),
    "send_request_template_quick_reply_payloads.json": lambda: o.build_message(
        PLACEHOLDER_TO,
        o.template(
            "template-name",
            "language-and-locale-code",
            [
                *_template_media_body(),
                o.quick_reply_button(0, "aGlzIHRoaXMgaXMgY29v"),
                o.quick_reply_button(1, "9rwnB8RbYmPF5t2Mn09x4h"),
            ],
        ),
    ),
    "send_request_template_named_params.json": lambda: o.build_message(
        "+16505551234",
        o.template(
            "order_confirmation",
            "en_US",
            [
                o.body_component(
                    o.text_param("Jessica", name="first_name"),
                    o.text_param("SKBUP2-4CPIG9", name="order_number"),
                )
            ],
        ),
    ),
    "send_request_mark_read.json": lambda: o.mark_read_request(TYPING_WAMID),
    "send_request_typing_indicator.json": lambda: o.typing_indicator_request(TYPING_WAMID),
}

TEMPLATE_DEFINITIONS: dict[str, Callable[[], dict[str, Any]]] = {
    "template_create_request_marketing_quick_replies.json": lambda: o.template_definition(
        "seasonal_promotion_text_only",
        "en",
        "MARKETING",
        [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Our {{1}} is on!",
                "example": {"header_text": ["Summer Sale"]},
            },
            {
                "type": "BODY",
                "text": "Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.",
                "example": {"body_text": [["the end of August", "25OFF", "25%"]]},
            },
            {"type": "FOOTER", "text": "Use the buttons below to manage your marketing subscriptions"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Unsubcribe from Promos"},
                    {"type": "QUICK_REPLY", "text": "Unsubscribe from All"},
                ],
            },
        ],
    ),
    "template_create_request_utility_named_params.json": lambda: o.template_definition(
        "order_confirmation",
        "en_US",
        "utility",
        [
            {
                "type": "body",
                "text": "Thank you, {{first_name}}! Your order number is {{order_number}}.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Pablo"},
                        {"param_name": "order_number", "example": "860198-230332"},
                    ]
                },
            }
        ],
        parameter_format="named",
    ),
}


def test_every_corpus_send_request_has_a_builder(corpus_index: dict[str, str | None]) -> None:
    requests = {name for name, group in corpus_index.items() if group == "send_request_file"}

    assert requests == set(BUILDERS)


def test_every_corpus_template_definition_has_a_builder(corpus_index: dict[str, str | None]) -> None:
    requests = {name for name, group in corpus_index.items() if group == "template_request_file"}

    assert requests == set(TEMPLATE_DEFINITIONS)


def test_builders_reproduce_every_corpus_send_request_exactly(
    send_request_file: str, load_payload: Loader
) -> None:
    assert BUILDERS[send_request_file]() == load_payload(send_request_file)


def test_builders_reproduce_every_corpus_template_definition_exactly(
    template_request_file: str, load_payload: Loader
) -> None:
    assert TEMPLATE_DEFINITIONS[template_request_file]() == load_payload(template_request_file)


# --- the envelope ---------------------------------------------------------------------------------------------


def test_callback_data_carries_our_message_id_for_status_correlation() -> None:
    message = o.build_message("+1555", o.text("hi"), callback_data="msg_01HZX")

    assert message["biz_opaque_callback_data"] == "msg_01HZX"


def test_callback_data_over_512_characters_is_refused() -> None:
    with pytest.raises(o.OutboundMessageError, match="512"):
        o.build_message("+1555", o.text("hi"), callback_data="x" * 513)


def test_message_to_a_bsuid_uses_the_recipient_field() -> None:
    message = o.build_message(None, o.text("hi"), recipient_bsuid="US.13491208655302741918")

    assert message["recipient"] == "US.13491208655302741918"
    assert "to" not in message


def test_message_without_any_recipient_is_refused() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.build_message(None, o.text("hi"))


def test_reply_context_quotes_the_given_wamid() -> None:
    assert o.build_message("+1555", o.text("hi"), reply_to="wamid.X")["context"] == {"message_id": "wamid.X"}


def test_any_content_can_be_a_quoted_reply() -> None:
    message = o.build_message("+1555", o.image(media_id="1"), reply_to="wamid.X")

    assert message["image"] == {"id": "1"}
    assert message["context"] == {"message_id": "wamid.X"}


def test_phone_recipient_adds_the_plus_meta_needs() -> None:
    assert o.phone_recipient("16505551234") == "+16505551234"
    assert o.phone_recipient("+16505551234") == "+16505551234"


@pytest.mark.parametrize("value", ["", "US.123", "1650-555"])
def test_phone_recipient_refuses_non_phone_ids(value: str) -> None:
    with pytest.raises(o.OutboundMessageError):
        o.phone_recipient(value)


def test_outbound_error_is_a_value_error() -> None:
    assert issubclass(o.OutboundMessageError, ValueError)


# --- content rules --------------------------------------------------------------------------------------------


def test_text_body_is_limited_to_4096_characters() -> None:
    o.text("x" * 4096)
    with pytest.raises(o.OutboundMessageError):
        o.text("x" * 4097)


@pytest.mark.parametrize("body", ["", "   "])
def test_empty_text_is_refused(body: str) -> None:
    with pytest.raises(o.OutboundMessageError):
        o.text(body)


@pytest.mark.parametrize(
    "build",
    [
        lambda: o.image(),
        lambda: o.image(media_id="1", link="https://x"),
        lambda: o.document(),
        lambda: o.sticker(media_id="1", link="https://x"),
    ],
)
def test_media_needs_exactly_one_of_id_or_link(build: Callable[[], o.Content]) -> None:
    with pytest.raises(o.OutboundMessageError, match="exactly one"):
        build()


def test_document_by_id_carries_filename_and_caption() -> None:
    content = o.document(media_id="42", filename="invoice.pdf", caption="Your invoice")

    assert content.body == {"id": "42", "filename": "invoice.pdf", "caption": "Your invoice"}


def test_caption_over_1024_characters_is_refused() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.image(media_id="1", caption="x" * 1025)


def test_remove_reaction_sends_an_empty_emoji() -> None:
    assert o.remove_reaction("wamid.X").body == {"message_id": "wamid.X", "emoji": ""}


@pytest.mark.parametrize(("latitude", "longitude"), [(91, 0), (0, -181)])
def test_location_outside_the_globe_is_refused(latitude: float, longitude: float) -> None:
    with pytest.raises(o.OutboundMessageError):
        o.location(latitude, longitude)


def test_contact_card_needs_a_formatted_name() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.contacts([{"name": {"first_name": "A"}}])


def test_reply_buttons_allow_at_most_three() -> None:
    buttons = [o.ReplyButton(str(i), f"B{i}") for i in range(4)]

    with pytest.raises(o.OutboundMessageError):
        o.reply_buttons("Pick one", buttons)


def test_reply_button_titles_are_at_most_20_characters() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.reply_buttons("Pick one", [o.ReplyButton("a", "x" * 21)])


def test_reply_button_ids_must_be_unique() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.reply_buttons("Pick one", [o.ReplyButton("a", "One"), o.ReplyButton("a", "Two")])


def test_list_allows_at_most_ten_rows_in_total() -> None:
    sections = [
        o.ListSection(title="A", rows=[o.ListRow(f"a{i}", "x") for i in range(6)]),
        o.ListSection(title="B", rows=[o.ListRow(f"b{i}", "x") for i in range(5)]),
    ]

    with pytest.raises(o.OutboundMessageError, match="10 rows"):
        o.list_menu("Menu", "Open", sections)


def test_list_sections_need_titles_when_there_are_several() -> None:
    sections = [o.ListSection(rows=[o.ListRow("a", "x")]), o.ListSection(rows=[o.ListRow("b", "y")])]

    with pytest.raises(o.OutboundMessageError):
        o.list_menu("Menu", "Open", sections)


def test_single_untitled_list_section_is_allowed() -> None:
    content = o.list_menu("Menu", "Open", [o.ListSection(rows=[o.ListRow("a", "x")])])

    assert content.body["action"]["sections"] == [{"rows": [{"id": "a", "title": "x"}]}]


def test_cta_url_must_be_a_web_link() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.cta_url("Body", "Open", "javascript:alert(1)")


def test_interactive_footer_is_at_most_60_characters() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.reply_buttons("Body", [o.ReplyButton("a", "A")], footer="x" * 61)


def test_media_header_is_only_image_video_or_document() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.media_header("sticker", media_id="1")


# --- templates ------------------------------------------------------------------------------------------------


def test_template_without_components_has_only_name_and_language() -> None:
    assert o.template("hello_world", "en_US").body == {"name": "hello_world", "language": {"code": "en_US"}}


def test_template_language_policy_is_optional() -> None:
    body = o.template("hello_world", "en_US", language_policy="deterministic").body

    assert body["language"] == {"code": "en_US", "policy": "deterministic"}


def test_template_button_index_is_sent_as_a_string() -> None:
    assert o.url_button(1, "summer2023") == {
        "type": "button",
        "sub_type": "url",
        "index": "1",
        "parameters": [{"type": "text", "text": "summer2023"}],
    }


def test_copy_code_button_carries_the_coupon_code() -> None:
    assert o.copy_code_button(0, "SAVE10")["parameters"] == [{"type": "coupon_code", "coupon_code": "SAVE10"}]


def test_template_media_header_parameters_by_id_or_link() -> None:
    assert o.video_param(media_id="9") == {"type": "video", "video": {"id": "9"}}
    assert o.document_param(link="https://x/y.pdf", filename="y.pdf") == {
        "type": "document",
        "document": {"link": "https://x/y.pdf", "filename": "y.pdf"},
    }
    assert o.location_param(1.5, 2.5, name="Here") == {
        "type": "location",
        "location": {"latitude": 1.5, "longitude": 2.5, "name": "Here"},
    }


def test_named_currency_and_date_parameters_carry_their_names() -> None:
    assert o.currency_param("$1", "USD", 1000, name="total")["parameter_name"] == "total"
    assert o.date_time_param("today", name="when") == {
        "type": "date_time",
        "date_time": {"fallback_value": "today"},
        "parameter_name": "when",
    }


def test_template_button_index_must_be_a_position() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.quick_reply_button(10, "x")


@pytest.mark.parametrize("name", ["Hello", "hello world", "hello-world", ""])
def test_template_definition_refuses_invalid_names(name: str) -> None:
    with pytest.raises(o.OutboundMessageError):
        o.template_definition(name, "en", "UTILITY", [{"type": "BODY", "text": "x"}])


def test_template_definition_needs_components() -> None:
    with pytest.raises(o.OutboundMessageError):
        o.template_definition("hello", "en", "UTILITY", [])


def test_builders_do_not_share_state_with_their_inputs() -> None:
    card = {"name": {"formatted_name": "A"}}
    content = o.contacts([card])
    content.body[0]["extra"] = 1

    assert "extra" not in card
