"""The production Graph API client against the Cloud API simulator over real HTTP (a TCP socket between them).

What this proves:

- every outbound message type the builders in `wadesk.whatsapp.outbound` make is accepted and yields a wamid;
- mark-as-read, the typing indicator, media (upload, lookup, download, delete), templates (list across pages,
  create, delete) and the phone number lookup all work end to end;
- every class of Graph error the simulator produces reaches the caller as a `GraphApiError` with Meta's code,
  the catalogue category and the right retry advice: invalid requests (100), missing or mismatched templates
  (132000, 132001, 132012, 132015, 132016), the rate limit (130429, synchronous for the reserved recipient
  and for exactly the excess of a burst), authentication (190) and media (131053, expired download links).

The simulator runs on its own clock, which the tests move forward, so the throughput window is counted in
simulator seconds: a burst is refused by count, never by how fast this machine happens to be.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI

from wadesk.whatsapp import outbound
from wadesk.whatsapp.errors import ErrorCategory, GraphApiError
from wadesk.whatsapp.graph import GraphClient, SendResult
from wadesk.whatsapp.outbound import Content, ListRow, ListSection, ReplyButton
from wadesk.whatsapp.simulator import (
    RESERVED_RATE_LIMITED_RECIPIENT,
    SimulatedPhoneNumber,
    SimulatedTemplate,
    Simulator,
    SimulatorConfig,
    StatusDelays,
    create_simulator_app,
    get_simulator,
)
from wadesk.whatsapp.simulator.media import sample_media

VERSION = "v23.0"
TOKEN = "EAAG-integration-token"
PHONE_NUMBER_ID = "1234567890"
WABA_ID = "9876543210"
BURST_NUMBER_ID = "1234567899"
BURST_WABA_ID = "9876543299"
BURST_RATE = 10
CUSTOMER_WA_ID = "15551234001"
CUSTOMER = "+" + CUSTOMER_WA_ID
APP_SECRET = "integration-app-secret"


# --- the simulator as a real HTTP server ----------------------------------------------------------------------


class SimulatorClock:
    """The simulator's notion of now (unix seconds): still unless a test moves it."""

    def __init__(self, now: float = 1_760_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RunningSimulator:
    app: FastAPI
    url: str
    clock: SimulatorClock

    @property
    def sim(self) -> Simulator:
        return get_simulator(self.app)


def _templates() -> list[SimulatedTemplate]:
    return [
        SimulatedTemplate(
            name="hello_world",
            language="en_US",
            category="UTILITY",
            components=[{"type": "BODY", "text": "Hello World! Thanks for choosing us."}],
        ),
        SimulatedTemplate(
            name="order_update",
            language="en_US",
            category="UTILITY",
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order {{2}} is on its way.",
                    "example": {"body_text": [["Ana", "A-100"]]},
                }
            ],
        ),
        SimulatedTemplate(
            name="order_confirmation",
            language="en_US",
            category="UTILITY",
            parameter_format="NAMED",
            components=[
                {
                    "type": "BODY",
                    "text": "Thank you, {{first_name}}! Your order number is {{order_number}}.",
                    "example": {
                        "body_text_named_params": [
                            {"param_name": "first_name", "example": "Pablo"},
                            {"param_name": "order_number", "example": "860198-230332"},
                        ]
                    },
                }
            ],
        ),
        SimulatedTemplate(
            name="spring_promo",
            language="en_US",
            category="MARKETING",
            components=[
                {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}},
                {"type": "BODY", "text": "Spring is here, {{1}}!", "example": {"body_text": [["Ana"]]}},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {
                            "type": "URL",
                            "text": "Shop",
                            "url": "https://shop.example/{{1}}",
                            "example": ["https://shop.example/spring"],
                        }
                    ],
                },
            ],
        ),
        SimulatedTemplate(
            name="paused_promo",
            language="en_US",
            category="MARKETING",
            components=[{"type": "BODY", "text": "Paused for low quality."}],
            status="PAUSED",
        ),
        SimulatedTemplate(
            name="disabled_promo",
            language="en_US",
            category="MARKETING",
            components=[{"type": "BODY", "text": "Disabled for low quality."}],
            status="DISABLED",
        ),
    ]


def _config(clock: SimulatorClock) -> SimulatorConfig:
    # Status and template webhooks are not what these tests are about: they go to an in-process sink.
    accept_webhooks = httpx.MockTransport(lambda _: httpx.Response(200))
    return SimulatorConfig(
        app_webhook_url="http://webhook-sink.invalid/api/webhook",
        app_secret=APP_SECRET,
        phone_numbers=[
            SimulatedPhoneNumber(
                phone_number_id=PHONE_NUMBER_ID,
                waba_id=WABA_ID,
                display_phone_number="+1 555-000-0000",
                access_token=TOKEN,
            ),
            SimulatedPhoneNumber(
                phone_number_id=BURST_NUMBER_ID,
                waba_id=BURST_WABA_ID,
                display_phone_number="+1 555-000-0099",
                access_token=TOKEN,
                messages_per_second=BURST_RATE,
            ),
        ],
        templates={WABA_ID: _templates()},
        status_delays=StatusDelays(sent=0.0, delivered=None, read=None),
        template_review_delay=0.01,
        webhook_transport=accept_webhooks,
        webhook_retry_delay=0.001,
        clock=clock,
        seed=7,
    )


@pytest_asyncio.fixture(scope="module")
async def simulator() -> AsyncIterator[RunningSimulator]:
    """The simulator app served by uvicorn on a free 127.0.0.1 port (its lifespan starts and stops it)."""
    clock = SimulatorClock()
    app = create_simulator_app(_config(clock))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(60):
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningSimulator(app=app, url=f"http://127.0.0.1:{port}", clock=clock)
    finally:
        server.should_exit = True
        await task


@pytest_asyncio.fixture(scope="module")
async def graph(simulator: RunningSimulator) -> AsyncIterator[GraphClient]:
    """The production client, with its own connection pool and no injected transport."""
    async with GraphClient(base_url=simulator.url, version=VERSION) as client:
        yield client


@pytest.fixture(autouse=True)
def fresh_throughput_window(simulator: RunningSimulator) -> None:
    """Each test starts in a throughput window of its own (ten simulator seconds after the last one)."""
    simulator.clock.advance(10)


# --- helpers --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Uploaded:
    """What some outbound types point at: media uploaded beforehand and an earlier message."""

    image_id: str
    audio_id: str
    sticker_id: str
    earlier_wamid: str


@pytest_asyncio.fixture(scope="module")
async def uploaded(graph: GraphClient) -> Uploaded:
    async def upload(kind: str) -> str:
        sample = sample_media(kind)
        return await graph.upload_media(
            TOKEN, PHONE_NUMBER_ID, sample.data, mime_type=sample.mime_type, filename=f"{kind}.bin"
        )

    earlier = await graph.send_message(
        TOKEN, PHONE_NUMBER_ID, outbound.build_message(CUSTOMER, outbound.text("Earlier"))
    )
    return Uploaded(
        image_id=await upload("image"),
        audio_id=await upload("audio"),
        sticker_id=await upload("sticker"),
        earlier_wamid=earlier.wamid,
    )


async def graph_error(call: Any) -> GraphApiError:
    """The GraphApiError an awaitable raises (failing the test when it succeeds or raises anything else)."""
    with pytest.raises(GraphApiError) as raised:
        await call
    return raised.value


def send(graph: GraphClient, content: Content, *, to: str = CUSTOMER, number: str = PHONE_NUMBER_ID) -> Any:
    return graph.send_message(TOKEN, number, outbound.build_message(to, content))


# --- every outbound type --------------------------------------------------------------------------------------

CONTACT_CARD = {
    "name": {"formatted_name": "Lucía Gómez", "first_name": "Lucía", "last_name": "Gómez"},
    "phones": [{"phone": "+1 (983) 555-2319", "wa_id": "19835552319", "type": "MOBILE"}],
    "emails": [{"email": "lucia@example.com", "type": "WORK"}],
}

OUTBOUND_TYPES: dict[str, Callable[[Uploaded], Content]] = {
    "text": lambda _: outbound.text("Hello from the inbox"),
    "text_with_link_preview": lambda _: outbound.text("Read https://example.com/news", preview_url=True),
    "image_by_uploaded_id": lambda u: outbound.image(media_id=u.image_id, caption="The photo you asked for"),
    "image_by_link": lambda _: outbound.image(link="https://files.example/photo.jpg"),
    "video_by_link": lambda _: outbound.video(link="https://files.example/clip.mp4", caption="A clip"),
    "audio_by_uploaded_id": lambda u: outbound.audio(media_id=u.audio_id),
    "document_by_link": lambda _: outbound.document(
        link="https://files.example/report.pdf", filename="report.pdf", caption="The report"
    ),
    "sticker_by_uploaded_id": lambda u: outbound.sticker(media_id=u.sticker_id),
    "location": lambda _: outbound.location(
        37.4847, -122.1477, name="Head office", address="1 Hacker Way, Menlo Park, CA"
    ),
    "contacts": lambda _: outbound.contacts([CONTACT_CARD]),
    "reaction": lambda u: outbound.reaction(u.earlier_wamid, "\N{THUMBS UP SIGN}"),
    "remove_reaction": lambda u: outbound.remove_reaction(u.earlier_wamid),
    "reply_buttons": lambda _: outbound.reply_buttons(
        "Did that solve it?",
        [ReplyButton("yes", "Yes, thanks"), ReplyButton("no", "Not yet")],
        header=outbound.text_header("Quick check"),
        footer="Support team",
    ),
    "list_menu": lambda _: outbound.list_menu(
        "Pick a delivery slot",
        "Slots",
        [
            ListSection([ListRow("mon-am", "Monday morning", "8:00 to 12:00")], title="Monday"),
            ListSection([ListRow("tue-pm", "Tuesday afternoon")], title="Tuesday"),
        ],
        footer="Times are local",
    ),
    "cta_url": lambda _: outbound.cta_url(
        "Track your parcel", "Track", "https://shop.example/track/A-100", footer="Updated hourly"
    ),
    "template_without_parameters": lambda _: outbound.template("hello_world", "en_US"),
    "template_with_positional_parameters": lambda _: outbound.template(
        "order_update",
        "en_US",
        [outbound.body_component(outbound.text_param("Ana"), outbound.text_param("A-100"))],
    ),
    "template_with_named_parameters": lambda _: outbound.template(
        "order_confirmation",
        "en_US",
        [
            outbound.body_component(
                outbound.text_param("Pablo", name="first_name"),
                outbound.text_param("860198-230332", name="order_number"),
            )
        ],
    ),
    "template_with_media_header_and_url_button": lambda u: outbound.template(
        "spring_promo",
        "en_US",
        [
            outbound.header_component(outbound.image_param(media_id=u.image_id)),
            outbound.body_component(outbound.text_param("Ana")),
            outbound.url_button(0, "spring"),
        ],
    ),
}


@pytest.mark.parametrize("kind", list(OUTBOUND_TYPES))
async def test_every_outbound_type_is_sent_and_yields_a_wamid(
    graph: GraphClient, simulator: RunningSimulator, uploaded: Uploaded, kind: str
) -> None:
    content = OUTBOUND_TYPES[kind](uploaded)
    payload = outbound.build_message(CUSTOMER, content, callback_data=f"spec:{kind}")

    result = await graph.send_message(TOKEN, PHONE_NUMBER_ID, payload)

    assert isinstance(result, SendResult)
    assert result.wamid.startswith("wamid.")
    assert (result.input, result.wa_id) == (CUSTOMER, CUSTOMER_WA_ID)
    # Meta only paces templates, so only they come back with a message status.
    assert result.message_status == ("accepted" if content.type == "template" else None)
    # The simulator received exactly what the builder made.
    recorded = simulator.sim.sent_messages[-1]
    assert recorded.wamid == result.wamid
    assert recorded.type == content.type
    assert recorded.content == content.body
    assert recorded.biz_opaque_callback_data == f"spec:{kind}"


async def test_a_reply_quotes_the_earlier_message(
    graph: GraphClient, simulator: RunningSimulator, uploaded: Uploaded
) -> None:
    payload = outbound.build_message(
        CUSTOMER, outbound.text("Replying to you"), reply_to=uploaded.earlier_wamid
    )

    result = await graph.send_message(TOKEN, PHONE_NUMBER_ID, payload)

    assert result.wamid.startswith("wamid.")
    assert result.wamid != uploaded.earlier_wamid
    assert simulator.sim.sent_messages[-1].wamid == result.wamid


async def test_mark_read_and_the_typing_indicator_succeed_without_sending_anything(
    graph: GraphClient, simulator: RunningSimulator, uploaded: Uploaded
) -> None:
    sends_before = simulator.sim.stats.total_sends
    reads_before = simulator.sim.stats.total_mark_read

    assert await graph.mark_read(TOKEN, PHONE_NUMBER_ID, uploaded.earlier_wamid) is True
    assert await graph.send_typing_indicator(TOKEN, PHONE_NUMBER_ID, uploaded.earlier_wamid) is True

    assert simulator.sim.stats.total_mark_read == reads_before + 2
    assert simulator.sim.stats.total_sends == sends_before


# --- media, templates and the phone number --------------------------------------------------------------------


async def test_media_uploads_then_is_looked_up_downloaded_and_deleted(graph: GraphClient) -> None:
    sample = sample_media("document", filename="invoice.pdf")

    media_id = await graph.upload_media(
        TOKEN, PHONE_NUMBER_ID, sample.data, mime_type=sample.mime_type, filename="invoice.pdf"
    )
    info = await graph.get_media(TOKEN, media_id, phone_number_id=PHONE_NUMBER_ID)
    downloaded = await graph.download_media(TOKEN, info.url)

    assert info.id == media_id
    assert info.mime_type == "application/pdf"
    assert info.size == len(sample.data)
    assert info.sha256 == base64.b64encode(hashlib.sha256(sample.data).digest()).decode()
    assert downloaded.content == sample.data
    assert downloaded.mime_type == "application/pdf"
    assert info.sha256 is not None
    assert downloaded.matches_sha256(info.sha256)

    assert await graph.delete_media(TOKEN, media_id, phone_number_id=PHONE_NUMBER_ID) is True
    gone = await graph_error(graph.get_media(TOKEN, media_id))
    assert (gone.code, gone.category, gone.retryable) == (100, ErrorCategory.INVALID_REQUEST, False)


async def test_templates_are_listed_across_pages(graph: GraphClient) -> None:
    # Two per page: the client follows `paging.next` over the socket until the last page.
    listed = await graph.list_templates(TOKEN, WABA_ID, limit=2)

    names = [t.name for t in listed]
    assert len(names) == len(set(names))
    assert set(names) >= {t.name for t in _templates()}
    by_name = {t.name: t for t in listed}
    assert by_name["hello_world"].status == "APPROVED"
    assert by_name["paused_promo"].status == "PAUSED"


async def test_a_created_template_is_reviewed_then_sendable_then_deleted(
    graph: GraphClient, simulator: RunningSimulator
) -> None:
    definition = outbound.template_definition(
        "delivery_window",
        "en_US",
        "UTILITY",
        [
            {
                "type": "BODY",
                "text": "Your delivery arrives between {{1}} and {{2}}.",
                "example": {"body_text": [["9:00", "11:00"]]},
            }
        ],
    )

    created = await graph.create_template(TOKEN, WABA_ID, definition)
    assert created.status == "PENDING"
    assert created.category == "UTILITY"
    await simulator.sim.drain(timeout=10)  # the review is a background task of the simulator
    [listed] = await graph.list_templates(TOKEN, WABA_ID, name="delivery_window")
    assert (listed.id, listed.status) == (created.id, "APPROVED")

    content = outbound.template(
        "delivery_window",
        "en_US",
        [outbound.body_component(outbound.text_param("9:00"), outbound.text_param("11:00"))],
    )
    assert (await send(graph, content)).wamid.startswith("wamid.")

    assert await graph.delete_template(TOKEN, WABA_ID, "delivery_window") is True
    gone = await graph_error(send(graph, content))
    assert (gone.code, gone.category) == (132001, ErrorCategory.TEMPLATE)


async def test_the_phone_number_is_described(graph: GraphClient) -> None:
    info = await graph.get_phone_number(TOKEN, PHONE_NUMBER_ID)

    assert info.id == PHONE_NUMBER_ID
    assert info.display_phone_number == "+1 555-000-0000"
    assert info.quality_rating == "GREEN"
    assert info.throughput is not None
    assert info.throughput.level == "STANDARD"


# --- every error class, mapped to its category ----------------------------------------------------------------


async def test_an_unknown_phone_number_id_is_an_invalid_request(graph: GraphClient) -> None:
    error = await graph_error(send(graph, outbound.text("Hi"), number="5555"))

    assert (error.code, error.subcode, error.http_status) == (100, 33, 400)
    assert error.category is ErrorCategory.INVALID_REQUEST
    assert not error.retryable
    assert not error.outcome_unknown
    assert error.details == "Object with ID '5555' does not exist."
    assert error.fbtrace_id


MALFORMED_BODIES: dict[str, dict[str, Any]] = {
    "no_messaging_product": {"to": CUSTOMER, "type": "text", "text": {"body": "x"}},
    "no_recipient": {"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}},
    "unknown_type": {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "carrier_pigeon"},
    "text_without_body": {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {}},
    "text_too_long": {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "text",
        "text": {"body": "x" * 4097},
    },
    "recipient_not_a_number": {
        "messaging_product": "whatsapp",
        "to": "not a number",
        "type": "text",
        "text": {"body": "x"},
    },
    "image_without_id_or_link": {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "image",
        "image": {},
    },
    "location_without_longitude": {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "location",
        "location": {"latitude": 1},
    },
    "too_many_reply_buttons": {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick"},
            "action": {
                "buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": f"B{i}"}} for i in range(4)]
            },
        },
    },
}


@pytest.mark.parametrize("case", list(MALFORMED_BODIES))
async def test_a_malformed_body_is_an_invalid_request(
    graph: GraphClient, simulator: RunningSimulator, case: str
) -> None:
    sends_before = simulator.sim.stats.total_sends

    error = await graph_error(graph.send_message(TOKEN, PHONE_NUMBER_ID, MALFORMED_BODIES[case]))

    assert (error.code, error.http_status) == (100, 400)
    assert error.category is ErrorCategory.INVALID_REQUEST
    assert not error.retryable
    assert error.details
    assert simulator.sim.stats.total_sends == sends_before


TEMPLATE_ERRORS: dict[str, tuple[Content, int]] = {
    "unknown_name": (outbound.template("no_such_template", "en_US"), 132001),
    "unknown_language": (outbound.template("hello_world", "pt_BR"), 132001),
    "too_few_parameters": (
        outbound.template("order_update", "en_US", [outbound.body_component(outbound.text_param("Ana"))]),
        132000,
    ),
    "parameters_where_none_are_expected": (
        outbound.template("hello_world", "en_US", [outbound.body_component(outbound.text_param("extra"))]),
        132000,
    ),
    "missing_button_parameter": (
        outbound.template(
            "spring_promo",
            "en_US",
            [
                outbound.header_component(outbound.image_param(link="https://files.example/spring.jpg")),
                outbound.body_component(outbound.text_param("Ana")),
            ],
        ),
        132000,
    ),
    "header_of_the_wrong_format": (
        outbound.template(
            "spring_promo",
            "en_US",
            [
                outbound.header_component(outbound.video_param(link="https://files.example/spring.mp4")),
                outbound.body_component(outbound.text_param("Ana")),
                outbound.url_button(0, "spring"),
            ],
        ),
        132012,
    ),
    "paused": (outbound.template("paused_promo", "en_US"), 132015),
    "disabled": (outbound.template("disabled_promo", "en_US"), 132016),
}


@pytest.mark.parametrize("case", list(TEMPLATE_ERRORS))
async def test_a_template_problem_is_a_template_error(graph: GraphClient, case: str) -> None:
    content, code = TEMPLATE_ERRORS[case]

    error = await graph_error(send(graph, content))

    assert error.code == code
    assert error.category is ErrorCategory.TEMPLATE
    assert not error.retryable
    assert error.details


@pytest.mark.parametrize("to", ["+" + RESERVED_RATE_LIMITED_RECIPIENT, RESERVED_RATE_LIMITED_RECIPIENT])
async def test_the_reserved_recipient_is_rate_limited_synchronously(graph: GraphClient, to: str) -> None:
    assert to.lstrip("+") == "15550000429"

    error = await graph_error(send(graph, outbound.text("Hi"), to=to))

    assert (error.code, error.subcode, error.http_status) == (130429, 2494055, 400)
    assert error.category is ErrorCategory.RATE_LIMITED
    assert error.retryable
    assert error.entry.retry_after_seconds == 1
    assert error.title == "Rate limit hit"


async def test_a_burst_over_the_numbers_throughput_is_refused_for_exactly_the_excess(
    graph: GraphClient, simulator: RunningSimulator
) -> None:
    burst = 25

    # All at once, over the pool's concurrent connections; the simulator clock stands still meanwhile.
    outcomes = await asyncio.gather(
        *(send(graph, outbound.text(f"Burst {i}"), number=BURST_NUMBER_ID) for i in range(burst)),
        return_exceptions=True,
    )

    accepted = [o for o in outcomes if isinstance(o, SendResult)]
    refused = [o for o in outcomes if isinstance(o, GraphApiError)]
    assert len(accepted) == BURST_RATE
    assert len(refused) == burst - BURST_RATE
    assert len({result.wamid for result in accepted}) == BURST_RATE
    for error in refused:
        assert (error.code, error.category, error.retryable) == (130429, ErrorCategory.RATE_LIMITED, True)

    # Retrying later, as the category advises, succeeds once the window has slid past the burst.
    simulator.clock.advance(0.999)
    still = await graph_error(send(graph, outbound.text("Too soon"), number=BURST_NUMBER_ID))
    assert still.code == 130429
    simulator.clock.advance(0.001)
    later = await send(graph, outbound.text("Later"), number=BURST_NUMBER_ID)
    assert later.wamid.startswith("wamid.")


async def test_the_burst_limit_is_per_number(graph: GraphClient) -> None:
    # The main number allows 80 per second: eleven at once are all accepted there.
    results = await asyncio.gather(*(send(graph, outbound.text(f"Hi {i}")) for i in range(BURST_RATE + 1)))

    assert all(result.wamid.startswith("wamid.") for result in results)


async def test_a_wrong_access_token_is_an_auth_error(graph: GraphClient) -> None:
    payload = outbound.build_message(CUSTOMER, outbound.text("Hi"))

    error = await graph_error(graph.send_message("someone-elses-token", PHONE_NUMBER_ID, payload))

    assert (error.code, error.http_status) == (190, 401)
    assert error.category is ErrorCategory.AUTH
    assert not error.retryable


async def test_an_expired_access_token_is_an_auth_error(
    graph: GraphClient, simulator: RunningSimulator
) -> None:
    expired = "EAAG-expired-token"
    simulator.sim.expire_access_token(expired)

    error = await graph_error(graph.get_phone_number(expired, PHONE_NUMBER_ID))

    assert (error.code, error.subcode, error.http_status) == (190, 463, 401)
    assert error.category is ErrorCategory.AUTH
    assert not error.retryable


async def test_an_unsupported_upload_is_a_media_error(graph: GraphClient) -> None:
    error = await graph_error(
        graph.upload_media(
            TOKEN, PHONE_NUMBER_ID, b"MZ\x90\x00", mime_type="application/x-msdownload", filename="setup.exe"
        )
    )

    assert (error.code, error.http_status) == (131053, 400)
    assert error.category is ErrorCategory.MEDIA
    assert not error.retryable


async def test_an_expired_download_link_is_a_media_error(
    graph: GraphClient, simulator: RunningSimulator
) -> None:
    sample = sample_media("image")
    media_id = await graph.upload_media(TOKEN, PHONE_NUMBER_ID, sample.data, mime_type=sample.mime_type)
    info = await graph.get_media(TOKEN, media_id)

    simulator.clock.advance(simulator.sim.config.media_url_ttl_seconds + 1)
    error = await graph_error(graph.download_media(TOKEN, info.url))

    assert error.code is None
    assert error.http_status == 404
    assert error.category is ErrorCategory.MEDIA
    assert not error.retryable
    # A fresh link, as the error explains, downloads again.
    fresh = await graph.get_media(TOKEN, media_id)
    assert (await graph.download_media(TOKEN, fresh.url)).content == sample.data
