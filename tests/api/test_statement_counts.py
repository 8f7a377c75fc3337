"""The inbox list and its summary run a fixed number of SQL statements, whatever the page size and however
many conversations there are (no query per row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from conftest import Account, DemoData
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation
from wadesk.db.base import utcnow
from wadesk.db.session import unit_of_work
from wadesk.messages.models import Message


@contextmanager
def counting_statements(app: FastAPI) -> Iterator[list[str]]:
    engine = app.state.runtime.engine.sync_engine
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _statements_for(app: FastAPI, account: Account, url: str, **params: Any) -> int:
    # Once first, so that per-process caches (a tenant's plan, say) are warm and only the request counts.
    assert (await account.get(url, params=params)).status_code == 200
    with counting_statements(app) as statements:
        response = await account.get(url, params=params)
    assert response.status_code == 200, response.text
    return len(statements)


async def _add_conversations(app: FastAPI, demo_data: DemoData, count: int) -> None:
    """More conversations, each with its own contact, assignee and messages."""
    now = utcnow()
    async with unit_of_work(app.state.runtime.sessionmaker, demo_data.tenant_id) as session:
        for index in range(count):
            contact = Contact(wa_id=f"1555777{index:04d}", profile_name=f"Extra Customer {index}")
            session.add(contact)
            await session.flush()
            at = now - timedelta(minutes=10 + index)
            conversation = Conversation(
                contact_id=contact.id,
                phone_number_id=demo_data.number_id,
                assignee_id=demo_data.agent_id if index % 2 else demo_data.admin_id,
                unread_count=1,
                last_message_at=at,
                last_message_preview=f"Question {index}",
                last_inbound_at=at,
                customer_window_expires_at=at + timedelta(hours=24),
            )
            session.add(conversation)
            await session.flush()
            session.add(
                Message(
                    conversation_id=conversation.id,
                    phone_number_id=demo_data.number_id,
                    contact_id=contact.id,
                    direction="inbound",
                    type="text",
                    content={"body": f"Question {index}"},
                    body_text=f"Question {index}",
                    status="received",
                    created_at=at,
                )
            )


async def test_the_conversation_list_runs_the_same_statements_whatever_the_page_size(
    app: FastAPI, demo: dict[str, Account], demo_data: DemoData
) -> None:
    agent = demo["agent"]
    one = await _statements_for(app, agent, "/api/conversations", limit=1)
    five = await _statements_for(app, agent, "/api/conversations", limit=5)
    assert one == five

    await _add_conversations(app, demo_data, 20)
    assert await _statements_for(app, agent, "/api/conversations", limit=5) == one
    assert await _statements_for(app, agent, "/api/conversations", limit=25) == one
    searched = await _statements_for(app, agent, "/api/conversations", limit=25, search="question")
    assert searched == one
    filtered = await _statements_for(
        app,
        agent,
        "/api/conversations",
        limit=25,
        status="open",
        hasUnread="true",
        assigneeId=str(demo_data.agent_id),
    )
    assert filtered == one
    # A small, bounded number: authentication, the page, and transaction bookkeeping.
    assert one <= 6


async def test_the_next_page_costs_what_the_first_did(
    app: FastAPI, demo: dict[str, Account], demo_data: DemoData
) -> None:
    agent = demo["agent"]
    await _add_conversations(app, demo_data, 12)
    first_page = (await agent.get("/api/conversations", params={"limit": 5})).json()
    first = await _statements_for(app, agent, "/api/conversations", limit=5)
    following = await _statements_for(
        app, agent, "/api/conversations", limit=5, cursor=first_page["nextCursor"]
    )
    assert following == first


async def test_the_summary_runs_the_same_statements_however_many_conversations(
    app: FastAPI, demo: dict[str, Account], demo_data: DemoData
) -> None:
    agent = demo["agent"]
    before = await _statements_for(app, agent, "/api/conversations/stats/summary")
    await _add_conversations(app, demo_data, 20)
    after = await _statements_for(app, agent, "/api/conversations/stats/summary")
    assert after == before
    assert before <= 5
    summary = (await agent.get("/api/conversations/stats/summary")).json()
    assert summary["total"] == 25
    assert summary["unread"] == 22
