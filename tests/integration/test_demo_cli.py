"""`wadesk demo` and `wadesk simulate inbound`, as a person trying the product runs them.

A real `wadesk demo` process (SQLite, in-process queue, the built-in Cloud API simulator) is started on its own
port and data dir. `wadesk simulate inbound` then makes a simulated customer write to the demo number: a signed
webhook, exactly as Meta would post it. The message must end up stored, as an inbound message of the right
type in the customer's conversation, which the tests find through the HTTP API as the demo admin. Media
messages (a voice note, an image, a document) must also have their file copied from the simulator into the
demo's own storage, byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from demo_process import DemoServer, start_demo, stop_demo

pytestmark = pytest.mark.slow

WAIT_SECONDS = 30.0
T = TypeVar("T")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = start_demo(tmp_path_factory.mktemp("demo-cli"))
    try:
        yield server
    finally:
        stop_demo(server)


def new_customer() -> str:
    """A phone number no other test (and no demo seed data) uses."""
    return "1555" + "".join(secrets.choice("0123456789") for _ in range(7))


def eventually(probe: Callable[[], T | None], what: str) -> T:
    """Poll `probe` until it returns something (bounded: the demo processes webhooks in the background)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {WAIT_SECONDS:.0f} s")
        time.sleep(0.25)


def conversation_of(demo: DemoServer, customer: str) -> dict[str, Any] | None:
    """The customer's conversation with the demo number, as `GET /api/conversations` lists it."""
    answer = demo.api("GET", "/api/conversations", params={"search": customer})
    assert answer.status_code == 200, answer.text
    found = [c for c in answer.json()["items"] if c["contact"]["waId"] == customer]
    assert len(found) <= 1, found
    return found[0] if found else None


def stored_message(demo: DemoServer, customer: str, wamid: str) -> dict[str, Any] | None:
    """The message with `wamid`, as `GET /api/messages?conversationId=…` lists it in the customer's conversation."""
    conversation = conversation_of(demo, customer)
    if conversation is None:
        return None
    answer = demo.api("GET", "/api/messages", params={"conversationId": conversation["id"], "limit": 100})
    assert answer.status_code == 200, answer.text
    found = [m for m in answer.json()["items"] if m["wamid"] == wamid]
    assert len(found) <= 1, found  # a webhook is stored once
    return found[0] if found else None


def wait_for_message(demo: DemoServer, customer: str, wamid: str) -> dict[str, Any]:
    message = eventually(lambda: stored_message(demo, customer, wamid), f"storing message {wamid}")
    assert message["direction"] == "inbound"
    assert message["status"] == "received"
    return message


def test_a_text_written_with_the_cli_is_stored_as_an_inbound_message(demo: DemoServer) -> None:
    customer = new_customer()
    text = f"Hello from the command line {secrets.token_hex(4)}"

    wamid = demo.simulate_inbound(customer, text)

    assert wamid.startswith("wamid.")
    message = wait_for_message(demo, customer, wamid)
    assert message["type"] == "text"
    assert message["content"]["body"] == text
    conversation = conversation_of(demo, customer)
    assert conversation is not None
    assert conversation["lastMessagePreview"] == text
    assert conversation["windowOpen"] is True
    assert conversation["status"] == "open"


def test_the_cli_customer_name_becomes_the_contact_name(demo: DemoServer) -> None:
    customer = new_customer()

    wamid = demo.simulate(customer, "--name", "Ana From The CLI", "--text", "Hi, it's Ana")

    wait_for_message(demo, customer, wamid)
    conversation = conversation_of(demo, customer)
    assert conversation is not None
    assert conversation["contact"]["name"] == "Ana From The CLI"


def test_a_location_written_with_the_cli_is_stored_as_a_location(demo: DemoServer) -> None:
    customer = new_customer()

    wamid = demo.simulate(customer, "--type", "location", "--latitude", "-34.6037", "--longitude", "-58.3816")

    message = wait_for_message(demo, customer, wamid)
    assert message["type"] == "location"
    assert message["content"]["latitude"] == pytest.approx(-34.6037)
    assert message["content"]["longitude"] == pytest.approx(-58.3816)


def test_a_reaction_written_with_the_cli_lands_on_the_message_it_reacts_to(demo: DemoServer) -> None:
    customer = new_customer()
    first = demo.simulate_inbound(customer, "React to this")
    wait_for_message(demo, customer, first)

    demo.simulate(customer, "--type", "reaction", "--react-to", first, "--emoji", "\N{HEAVY BLACK HEART}")

    def reacted() -> list[Any] | None:
        message = stored_message(demo, customer, first)
        return message["reactions"] if message and message["reactions"] else None

    reactions = eventually(reacted, "the reaction")
    assert [(r["from"], r["emoji"]) for r in reactions] == [("customer", "\N{HEAVY BLACK HEART}")]


MEDIA_CASES: dict[str, tuple[list[str], str]] = {
    # name: (extra CLI options, the stored MIME type's prefix)
    "voice_note": (["--type", "audio"], "audio/ogg"),
    "image_with_caption": (["--type", "image", "--caption", "Our broken part"], "image/png"),
    "document": (["--type", "document", "--caption", "The invoice"], "application/pdf"),
}


@pytest.mark.parametrize("case", list(MEDIA_CASES))
def test_media_written_with_the_cli_is_stored_with_its_file(demo: DemoServer, case: str) -> None:
    options, mime_prefix = MEDIA_CASES[case]
    kind = options[1]
    customer = new_customer()

    wamid = demo.simulate(customer, *options)

    message = wait_for_message(demo, customer, wamid)
    assert message["type"] == kind
    content = message["content"]
    assert content["mime_type"].startswith(mime_prefix)
    if kind == "audio":
        assert content["voice"] is True
    if "--caption" in options:
        assert content["caption"] == options[options.index("--caption") + 1]

    def media_copied() -> dict[str, Any] | None:
        stored = stored_message(demo, customer, wamid)
        media = stored["content"].get("media") if stored else None
        return media if isinstance(media, dict) else None

    media = eventually(media_copied, f"copying the {kind} file")
    assert media["stored"] is True, media
    file = demo.api("GET", f"/api/messages/{message['id']}/media")
    assert file.status_code == 200, file.text
    assert file.headers["content-type"].startswith(mime_prefix)
    assert media["size"] == len(file.content)
    # The bytes are the ones the customer sent: Meta's digest of them (in the webhook) matches.
    assert base64.b64encode(hashlib.sha256(file.content).digest()).decode() == content["sha256"]
