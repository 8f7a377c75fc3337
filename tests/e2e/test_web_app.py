"""The agents' web app in a real browser against a real `wadesk demo`: what an agent does all day."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_process import DemoServer, start_demo, stop_demo
from playwright.sync_api import Locator, Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("screenshot_at_end")]
pytest_plugins = ["browser_fixtures"]

WAIT = 30_000  # ms; the demo runs the API, the queue and the simulator in one process
expect.set_options(timeout=WAIT)


def sign_in(page: Page, server: DemoServer, path: str = "/inbox", email: str = "admin@demo.com") -> None:
    page.set_default_timeout(WAIT)
    page.goto(server.url + path)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_role("textbox", name="Password").fill("admin123" if email.startswith("admin") else "agent123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)
    if path.startswith("/inbox"):
        expect(page.get_by_role("list", name="Conversations")).to_be_visible()


def conversation_row(page: Page, name: str) -> Locator:
    return page.locator(".conversation-row", has_text=name)


def open_conversation(page: Page, name: str) -> None:
    conversation_row(page, name).click()
    expect(page.get_by_test_id("thread-contact-name")).to_have_text(name)
    expect(page.locator("[data-testid=thread] .bubble").first).to_be_visible()


def test_sign_in_shows_the_demo_inbox_and_returns_to_the_page_asked_for(
    page: Page, demo_server: DemoServer
) -> None:
    sign_in(page, demo_server, path="/templates")
    expect(page).to_have_url(re.compile(r"/templates$"))
    expect(page.get_by_role("cell", name="order_update")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"Inbox$")).click()
    expect(page.locator(".conversation-row")).to_have_count(5)
    for name in ("Maria Garcia", "James Wilson", "Aisha Khan", "Lucas Silva", "Emma Johnson"):
        expect(conversation_row(page, name)).to_be_visible()
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")


def test_wrong_password_is_shown_inline(page: Page, demo_server: DemoServer) -> None:
    page.goto(demo_server.url + "/login")
    page.get_by_label("Email").fill("agent@demo.com")
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Could not sign in")
    expect(page).to_have_url(re.compile(r"/login"))


def test_inbound_message_appears_in_the_open_thread_and_the_list_without_reload(
    page: Page, demo_server: DemoServer
) -> None:
    sign_in(page, demo_server)
    open_conversation(page, "Maria Garcia")
    page.evaluate("window.__noReload = true")
    text = f"Is the parcel at the door yet? {int(time.time())}"
    demo_server.simulate_inbound("15551234001", text)
    expect(
        page.locator("[data-testid=thread] .bubble-row[data-direction=inbound]", has_text=text)
    ).to_be_visible()
    expect(conversation_row(page, "Maria Garcia")).to_contain_text(text[:30])
    assert page.evaluate("window.__noReload") is True  # the page was never reloaded


def test_reply_and_watch_the_ticks_reach_read(page: Page, demo_server: DemoServer) -> None:
    sign_in(page, demo_server)
    open_conversation(page, "Maria Garcia")
    reply = f"Here is your tracking link: https://track.example.com/4521 ({int(time.time())})"
    box = page.get_by_role("textbox", name="Message")
    box.fill(reply)
    box.press("Enter")
    sent = page.locator("[data-testid=thread] .bubble-row[data-direction=outbound]", has_text=reply)
    expect(sent).to_be_visible()
    expect(box).to_have_value("")
    # queued → sent → delivered → read, driven by the simulator's status webhooks through the live stream
    expect(sent).to_have_attribute("data-status", "read")
    expect(sent.get_by_role("img", name="Read")).to_be_visible()
    expect(sent.get_by_role("link", name="https://track.example.com/4521")).to_be_visible()


def test_outside_the_window_the_template_picker_sends_a_template(page: Page, demo_server: DemoServer) -> None:
    sign_in(page, demo_server)
    open_conversation(page, "Lucas Silva")
    expect(page.get_by_test_id("window-closed-banner")).to_be_visible()
    expect(page.get_by_role("textbox", name="Message")).to_have_count(0)
    page.get_by_test_id("template-select").click()
    page.get_by_role("option", name=re.compile("order_update")).click()
    page.get_by_label("Body {{1}}").fill("Lucas")
    page.get_by_label("Body {{2}}").fill("#7781")
    page.get_by_label("Body {{3}}").fill("ready for pickup")
    expect(page.get_by_test_id("template-preview")).to_contain_text(
        "Hi Lucas, your order #7781 is now ready for pickup."
    )
    page.get_by_role("button", name="Send template").click()
    sent = page.locator(
        "[data-testid=thread] .bubble-row[data-direction=outbound]", has_text="your order #7781"
    )
    expect(sent).to_be_visible()
    expect(sent).to_contain_text("Template · order_update")
    expect(sent).to_have_attribute("data-status", re.compile("sent|delivered|read"))


def test_assign_to_me_and_resolve(page: Page, demo_server: DemoServer) -> None:
    sign_in(page, demo_server)
    open_conversation(page, "James Wilson")
    page.get_by_role("button", name="Assign to me").click()
    expect(conversation_row(page, "James Wilson")).to_contain_text("Alex Admin")
    expect(page.get_by_role("button", name="Assign to me")).to_have_count(0)
    page.get_by_role("button", name=re.compile(r"^Status: Pending")).click()
    page.get_by_role("menuitem", name="Resolved").click()
    expect(page.get_by_role("button", name=re.compile(r"^Status: Resolved"))).to_be_visible()
    conversation = next(
        c
        for c in demo_server.api("GET", "/api/conversations").json()["items"]
        if c["contact"]["name"] == "James Wilson"
    )
    assert conversation["status"] == "resolved"
    assert conversation["assignee"]["name"] == "Alex Admin"
    page.get_by_role("tab", name=re.compile("Resolved conversations")).click()
    expect(conversation_row(page, "James Wilson")).to_be_visible()


def test_failed_send_shows_its_reason_and_retry_sends_again(page: Page, demo_server: DemoServer) -> None:
    sign_in(page, demo_server)
    page.get_by_role("link", name="New message").click()
    page.get_by_label("To", exact=True).fill("+15550000404")
    page.get_by_test_id("template-select").click()
    page.get_by_role("option", name=re.compile("hello_world")).click()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page).to_have_url(re.compile(r"/inbox/[0-9a-f-]{36}"))
    failed = page.locator("[data-testid=thread] .bubble-row[data-direction=outbound][data-status=failed]")
    expect(failed).to_be_visible()
    expect(failed.get_by_role("alert")).to_contain_text("131026")
    message_id = failed.get_attribute("data-message-id")
    first = demo_server.api("GET", f"/api/messages/{message_id}").json()
    assert first["status"] == "failed"
    with page.expect_response(re.compile(r"/api/messages/[0-9a-f-]+/retry$")) as retried:
        failed.get_by_role("button", name="Retry").click()
    assert retried.value.ok, retried.value.text()
    # A new attempt reaches WhatsApp again (new wamid); the simulator rejects this number again.
    expect(page.locator(f"[data-message-id='{message_id}'][data-status=failed]")).to_be_visible()
    deadline = time.monotonic() + 20
    again = first
    while time.monotonic() < deadline:
        again = demo_server.api("GET", f"/api/messages/{message_id}").json()
        if again["status"] == "failed" and again["wamid"] != first["wamid"]:
            break
        time.sleep(0.5)
    assert again["wamid"] != first["wamid"], "retry did not make a new attempt"
    assert again["error"]["code"] == 131026


def test_logout_ends_the_session(page: Page, demo_server: DemoServer) -> None:
    sign_in(page, demo_server, email="agent@demo.com")
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(demo_server.url + "/inbox")  # the refresh cookie was revoked: no silent way back in
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login\?redirect=%2Finbox"))


@pytest.fixture(scope="module")
def short_token_server(web_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = start_demo(tmp_path_factory.mktemp("demo-ttl"), WADESK_ACCESS_TOKEN_TTL_SECONDS="10")
    yield server
    stop_demo(server)


def test_token_refresh_keeps_the_session_alive_across_access_token_expiry(
    page: Page, short_token_server: DemoServer
) -> None:
    refreshes: list[int] = []
    page.on(
        "response",
        lambda response: (
            refreshes.append(response.status) if response.url.endswith("/api/auth/refresh") else None
        ),
    )
    sign_in(page, short_token_server)
    open_conversation(page, "Maria Garcia")
    page.wait_for_timeout(25_000)  # two and a half access-token lifetimes
    assert refreshes.count(200) >= 2, refreshes
    text = f"Still here after the token expired ({int(time.time())})"
    short_token_server.simulate_inbound("15551234001", text)
    expect(page.locator("[data-testid=thread] .bubble-row", has_text=text)).to_be_visible()
    box = page.get_by_role("textbox", name="Message")
    box.fill("Great, thanks for waiting!")
    box.press("Enter")
    expect(
        page.locator(
            "[data-testid=thread] .bubble-row[data-direction=outbound]", has_text="Great, thanks for waiting!"
        )
    ).to_have_attribute("data-status", re.compile("sent|delivered|read"))
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)
