"""The shared inbox: listing and filtering conversations, reading one, assigning, resolving and archiving.

The demo tenant (ops/demo_seed.py), newest activity first:
  +15551234001 Maria Garcia   open      agent   1 unread   last message 4 minutes ago (window open)
  +15551234004 Lucas Silva    open      nobody  1 unread   30 hours ago
  +15551234002 James Wilson   pending   agent              51 hours ago
  +15551234003 Aisha Khan     resolved  admin              73 hours ago
  +15551234005 Emma Johnson   open      admin              96 hours ago
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from conftest import Account, DemoData, assert_error, register
from wadesk.conversations.models import Conversation
from wadesk.db.session import unit_of_work

NEWEST_FIRST = ["15551234001", "15551234004", "15551234002", "15551234003", "15551234005"]
CONVERSATION_FIELDS = {
    "id",
    "contact",
    "status",
    "assignee",
    "unreadCount",
    "lastMessageAt",
    "lastMessagePreview",
    "customerWindowExpiresAt",
}


def _wa_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["contact"]["waId"] for item in response.json()["items"]]


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def _walk(account: Account, params: dict[str, Any]) -> list[list[str]]:
    """Every page of a listing, following nextCursor; each page as the ids it holds."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        response = await account.get(
            "/api/conversations", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["nextCursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor never ends"


async def test_the_list_answers_the_contract_fields_newest_activity_first(
    demo: dict[str, Account], demo_data: DemoData
) -> None:
    response = await demo["agent"].get("/api/conversations")
    assert _wa_ids(response) == NEWEST_FIRST
    body = response.json()
    assert body["nextCursor"] is None
    first = body["items"][0]
    assert set(first) >= CONVERSATION_FIELDS
    assert set(first["contact"]) >= {"id", "waId", "name"}
    assert first["contact"]["name"] == "Maria Garcia"
    assert first["id"] == str(demo_data.conversations["15551234001"])
    assert first["status"] == "open"
    assert first["assignee"]["id"] == str(demo_data.agent_id)
    assert first["unreadCount"] == 1
    assert first["lastMessagePreview"] == "Great, could you send me the tracking link?"
    assert datetime.fromisoformat(first["customerWindowExpiresAt"]) > datetime.now(UTC)
    assert first["windowOpen"] is True
    lucas = body["items"][1]
    assert lucas["assignee"] is None
    assert lucas["windowOpen"] is False


async def test_every_filter_narrows_the_list(demo: dict[str, Account], demo_data: DemoData) -> None:
    agent = demo["agent"]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"status": "open"}, ["15551234001", "15551234004", "15551234005"]),
        ({"status": "pending"}, ["15551234002"]),
        ({"status": "resolved"}, ["15551234003"]),
        ({"status": "archived"}, []),
        ({"assigneeId": str(demo_data.agent_id)}, ["15551234001", "15551234002"]),
        ({"assigneeId": str(demo_data.admin_id)}, ["15551234003", "15551234005"]),
        ({"assigneeId": str(uuid.uuid4())}, []),
        ({"unassigned": "true"}, ["15551234004"]),
        ({"hasUnread": "true"}, ["15551234001", "15551234004"]),
        ({"search": "garcia"}, ["15551234001"]),
        ({"search": "  EMMA "}, ["15551234005"]),
        ({"search": "+1 555 123 4003"}, ["15551234003"]),
        ({"search": "1234002"}, ["15551234002"]),
        # Text of an older message, not the last one's preview.
        ({"search": "book an appointment"}, ["15551234002"]),
        ({"search": "linen SHIRT"}, ["15551234003"]),
        ({"search": "SAVE10"}, ["15551234004"]),
        # LIKE wildcards are taken literally.
        ({"search": "%"}, []),
        ({"search": "_"}, []),
        ({"search": "nothing matches this"}, []),
        ({"phoneNumberId": "1234567890"}, NEWEST_FIRST),
        ({"phoneNumberId": str(demo_data.number_id)}, NEWEST_FIRST),
        ({"status": "open", "hasUnread": "true", "unassigned": "true"}, ["15551234004"]),
        ({"status": "open", "assigneeId": str(demo_data.agent_id)}, ["15551234001"]),
        ({"contactId": str(demo_data.contacts["15551234005"])}, ["15551234005"]),
    ]
    for params, expected in cases:
        assert _wa_ids(await agent.get("/api/conversations", params=params)) == expected, params


async def test_the_number_filter_tells_numbers_apart_and_refuses_unknown_ones(
    demo: dict[str, Account],
) -> None:
    admin = demo["admin"]
    second = await admin.post(
        "/api/phone-numbers",
        json={
            "wabaId": "9876543210",
            "phoneNumberId": "5550002222",
            "displayPhoneNumber": "+1 555-000-2222",
            "accessToken": "second-number-access-token",
        },
    )
    assert second.status_code == 201, second.text
    sent = await admin.post(
        "/api/messages",
        json={
            "phoneNumberId": "5550002222",
            "to": "+15551234001",
            "type": "template",
            "template": {"name": "hello_world", "language": "en_US"},
        },
    )
    assert sent.status_code == 202, sent.text

    assert _wa_ids(await admin.get("/api/conversations", params={"phoneNumberId": "5550002222"})) == [
        "15551234001"
    ]
    assert (
        _wa_ids(await admin.get("/api/conversations", params={"phoneNumberId": "1234567890"})) == NEWEST_FIRST
    )
    assert len(_wa_ids(await admin.get("/api/conversations"))) == 6
    unknown = await admin.get("/api/conversations", params={"phoneNumberId": "999999"})
    assert_error(unknown, 404, "phone_number_not_found")


async def test_the_cursor_walks_every_conversation_exactly_once(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    everything = [item["id"] for item in (await agent.get("/api/conversations")).json()["items"]]
    pages = await _walk(agent, {"limit": 2})
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [i for page in pages for i in page] == everything

    open_pages = await _walk(agent, {"limit": 1, "status": "open"})
    assert [len(page) for page in open_pages] == [1, 1, 1]
    assert len({i for page in open_pages for i in page}) == 3


async def test_the_cursor_walks_every_conversation_once_when_activity_times_tie(
    app: FastAPI, demo: dict[str, Account], demo_data: DemoData
) -> None:
    same_moment = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    async with unit_of_work(app.state.runtime.sessionmaker, demo_data.tenant_id) as session:
        await session.execute(update(Conversation).values(last_message_at=same_moment))
    pages = await _walk(demo["agent"], {"limit": 2})
    walked = [i for page in pages for i in page]
    assert len(walked) == 5
    assert set(walked) == {str(i) for i in demo_data.conversations.values()}


async def test_an_invalid_cursor_is_a_bad_request(demo: dict[str, Account]) -> None:
    for cursor in [
        "not-a-cursor!!",
        "e30",  # {}
        _cursor("a string"),
        _cursor(42),
        _cursor([1, 2]),
        _cursor({"at": "yesterday", "id": str(uuid.uuid4())}),
        _cursor({"at": "2026-01-01T00:00:00+00:00", "id": "not-a-uuid"}),
        _cursor({"at": "2026-01-01T00:00:00+00:00", "id": 42}),
        _cursor({"at": 42, "id": str(uuid.uuid4())}),
        _cursor({"at": "2026-01-01T00:00:00", "id": str(uuid.uuid4())}),
    ]:
        response = await demo["agent"].get("/api/conversations", params={"cursor": cursor, "limit": 2})
        assert response.status_code == 400, (cursor, response.text)
        assert_error(response, 400, "invalid_cursor")


async def test_a_conversation_comes_with_its_messages_oldest_first(
    demo: dict[str, Account], demo_data: DemoData
) -> None:
    conversation_id = demo_data.conversations["15551234001"]
    response = await demo["agent"].get(f"/api/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= CONVERSATION_FIELDS | {"messages", "messagesCursor"}
    assert body["contact"]["waId"] == "15551234001"
    assert body["messagesCursor"] is None
    messages = body["messages"]
    assert [m["id"] for m in messages] == [str(i) for i in demo_data.messages["15551234001"]]
    assert [m["direction"] for m in messages] == ["outbound", "inbound", "outbound", "inbound"]
    assert messages[0]["type"] == "template"
    assert messages[-1]["content"]["body"] == "Great, could you send me the tracking link?"
    created = [datetime.fromisoformat(m["createdAt"]) for m in messages]
    assert created == sorted(created)

    assert_error(await demo["agent"].get(f"/api/conversations/{uuid.uuid4()}"), 404, "not_found")


async def test_status_and_assignee_can_be_changed(demo: dict[str, Account], demo_data: DemoData) -> None:
    agent = demo["agent"]
    url = f"/api/conversations/{demo_data.conversations['15551234004']}"

    resolved = await agent.patch(url, json={"status": "resolved"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"

    assigned = await agent.patch(url, json={"assigneeId": str(demo_data.agent_id), "status": "pending"})
    assert assigned.json()["assignee"]["id"] == str(demo_data.agent_id)
    assert assigned.json()["status"] == "pending"
    assert (await agent.get(url)).json()["assignee"]["id"] == str(demo_data.agent_id)

    unchanged = await agent.patch(url, json={})
    assert unchanged.json()["status"] == "pending"
    assert unchanged.json()["assignee"]["id"] == str(demo_data.agent_id)

    unassigned = await agent.patch(url, json={"assigneeId": None})
    assert unassigned.json()["assignee"] is None
    assert (await agent.get(url)).json()["assignee"] is None


async def test_only_an_active_user_of_the_company_can_be_assigned(
    client: httpx.AsyncClient, demo: dict[str, Account], demo_data: DemoData
) -> None:
    admin = demo["admin"]
    url = f"/api/conversations/{demo_data.conversations['15551234004']}"
    stranger = await register(client, "Another Company")
    assert_error(await admin.patch(url, json={"assigneeId": stranger.user["id"]}), 422, "invalid_assignee")
    assert_error(await admin.patch(url, json={"assigneeId": str(uuid.uuid4())}), 422, "invalid_assignee")

    created = await admin.post(
        "/api/users", json={"email": "leaver@demo.com", "name": "Leaver", "password": "correct horse battery"}
    )
    await admin.patch(f"/api/users/{created.json()['id']}", json={"isActive": False})
    assert_error(await admin.patch(url, json={"assigneeId": created.json()["id"]}), 422, "invalid_assignee")

    assert_error(await admin.patch(url, json={"status": "closed"}), 422, "validation_error")
    assert_error(await admin.patch(url, json={"priority": "high"}), 422, "validation_error")
    after = (await admin.get(url)).json()
    assert after["assignee"] is None
    assert after["status"] == "open"


async def test_deleting_a_conversation_archives_it_and_deletes_nothing(
    demo: dict[str, Account], demo_data: DemoData
) -> None:
    admin = demo["admin"]
    conversation_id = demo_data.conversations["15551234002"]
    response = await admin.delete(f"/api/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "archived"

    kept = await admin.get(f"/api/conversations/{conversation_id}")
    assert kept.status_code == 200
    assert kept.json()["status"] == "archived"
    assert len(kept.json()["messages"]) == 2
    assert _wa_ids(await admin.get("/api/conversations", params={"status": "archived"})) == ["15551234002"]
    messages = await admin.get("/api/messages", params={"conversationId": str(conversation_id)})
    assert len(messages.json()["items"]) == 2
    stats = (await admin.get("/api/conversations/stats/summary")).json()
    assert stats["archived"] == 1
    assert stats["pending"] == 0
    assert stats["total"] == 5

    assert_error(await admin.delete(f"/api/conversations/{uuid.uuid4()}"), 404)


async def test_the_summary_counts_the_demo_inbox(demo: dict[str, Account]) -> None:
    admin_stats = await demo["admin"].get("/api/conversations/stats/summary")
    assert admin_stats.status_code == 200
    assert admin_stats.json() == {
        "open": 3,
        "pending": 1,
        "resolved": 1,
        "archived": 0,
        "total": 5,
        "unassigned": 1,
        # Emma's open conversation; Aisha's is resolved, so not on the admin's plate.
        "mine": 1,
        "unread": 2,
    }
    agent_stats = (await demo["agent"].get("/api/conversations/stats/summary")).json()
    assert agent_stats["mine"] == 2
    assert agent_stats["unassigned"] == 1


async def test_reading_a_conversation_zeroes_its_unread_count(
    demo: dict[str, Account], demo_data: DemoData
) -> None:
    agent = demo["agent"]
    conversation_id = demo_data.conversations["15551234001"]
    response = await agent.post(f"/api/conversations/{conversation_id}/read")
    assert response.status_code == 200, response.text
    assert response.json()["unreadCount"] == 0

    detail = (await agent.get(f"/api/conversations/{conversation_id}")).json()
    assert detail["unreadCount"] == 0
    assert all(m["status"] == "read" for m in detail["messages"] if m["direction"] == "inbound")
    assert _wa_ids(await agent.get("/api/conversations", params={"hasUnread": "true"})) == ["15551234004"]
    assert (await agent.get("/api/conversations/stats/summary")).json()["unread"] == 1

    again = await agent.post(f"/api/conversations/{conversation_id}/read")
    assert again.json()["unreadCount"] == 0
    assert_error(await agent.post(f"/api/conversations/{uuid.uuid4()}/read"), 404)
