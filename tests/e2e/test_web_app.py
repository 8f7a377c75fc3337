"""The agents' web app in a real browser against a real `wadesk demo`: what an agent does all day."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from demo_process import DemoServer, start_demo, stop_demo

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
    expect(page.get_by_role("cell", name="order_update", exact=True)).to_be_visible()
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


@pytest.mark.xfail(
    strict=False,
    reason="once in a full run under load (never alone, nor with the other browser tests) the failed bubble "
    "did not appear within 30 s while the contact showed as opted out; cause not yet found",
)
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


def test_admin_sends_a_campaign_to_a_demo_tag_and_watches_the_funnel(
    page: Page, demo_server: DemoServer
) -> None:
    sign_in(page, demo_server)
    page.get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", name="New campaign")).to_be_visible()

    name = f"Demo broadcast {int(time.time())}"
    page.get_by_label(re.compile(r"^Name")).fill(name)
    page.get_by_test_id("campaign-template").click()
    page.get_by_role("option", name=re.compile("order_update")).click()
    page.get_by_test_id("campaign-tags").click()
    page.get_by_role("option", name=re.compile(r"^demo \(\d+\)")).click()
    page.keyboard.press("Escape")
    # Body {{1}} comes from each contact's first name; the other two are fixed values.
    page.get_by_label("Body {{2}} value").fill("#1000")
    page.get_by_label("Body {{3}} value").fill("on its way")
    audience = page.get_by_test_id("audience-eligible")
    expect(audience).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(page.get_by_test_id("template-preview")).to_contain_text("your order #1000 is now on its way")
    eligible = int(audience.inner_text())

    page.get_by_role("button", name="Create campaign").click()
    expect(page).to_have_url(re.compile(r"/campaigns/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_test_id("campaign-status")).to_have_text("draft")
    expect(page.get_by_test_id("preview-eligible")).to_have_text(str(eligible))
    page.get_by_role("button", name="Start now").click()

    # The pump sends through the simulator; the live stream (with polling behind it) moves the funnel.
    expect(page.get_by_test_id("funnel-targeted")).to_have_text(str(eligible))
    expect(page.get_by_test_id("funnel-sent")).to_have_text(str(eligible))
    expect(page.get_by_test_id("campaign-status")).to_have_text("completed")
    expect(page.get_by_test_id("state-queued")).to_have_text("0")
    expect(page.get_by_test_id("recipient-row")).to_have_count(eligible)
    campaign_id = page.url.rsplit("/", 1)[-1]
    stats = demo_server.api("GET", f"/api/campaigns/{campaign_id}/stats").json()
    assert stats["funnel"]["sent"] == eligible, stats
    assert stats["status"] == "completed", stats


def test_an_agent_writes_a_private_note_that_shows_as_a_note_and_is_never_sent(
    page: Page, demo_server: DemoServer
) -> None:
    sign_in(page, demo_server, email="agent@demo.com")
    open_conversation(page, "Maria Garcia")
    page.get_by_text("Private note", exact=True).click()
    note_box = page.get_by_role("textbox", name="Note")
    expect(page.get_by_role("textbox", name="Message")).to_have_count(0)
    text = f"Courier confirmed delivery before noon ({int(time.time())})"
    note_box.press_sequentially("@adm")
    page.get_by_role("option", name=re.compile("Alex Admin")).click()
    note_box.press_sequentially(text)
    note_box.press("Enter")
    note = page.locator("[data-testid=thread] [data-testid=note]", has_text=text)
    expect(note).to_be_visible()
    expect(note).to_contain_text("Private note · Sam Agent")
    expect(note.locator(".mention")).to_have_text("@admin")
    expect(note_box).to_have_value("")
    expect(page.locator("[data-testid=thread] .bubble-row", has_text=text)).to_have_count(0)

    conversation = next(
        c
        for c in demo_server.api("GET", "/api/conversations").json()["items"]
        if c["contact"]["name"] == "Maria Garcia"
    )
    notes = demo_server.api("GET", f"/api/conversations/{conversation['id']}/notes").json()["items"]
    (saved,) = [n for n in notes if text in n["body"]]
    admin = next(u for u in demo_server.api("GET", "/api/users").json() if u["email"] == "admin@demo.com")
    assert saved["mentions"] == [admin["id"]]
    messages = demo_server.api("GET", "/api/messages", params={"conversationId": conversation["id"]}).json()
    assert not [m for m in messages["items"] if text in str(m["content"])]  # never sent to WhatsApp
    page.reload()
    expect(page.locator("[data-testid=thread] [data-testid=note]", has_text=text)).to_be_visible()
