"""Status webhooks arrive late, twice and out of order: whatever the order, a message ends at the highest
status it reached, with every timestamp kept, and a failure is kept with Meta's error unless the message had
already reached the phone."""

from __future__ import annotations

import asyncio
import copy
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_kit import (
    MAIN_NUMBER,
    connect_payload_numbers,
    encode,
    payload_json,
    post_webhook,
    rows,
    seed_outbound,
    settle,
    simulated_app,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from conftest import register
from wadesk.config import Settings
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation
from wadesk.db.base import Base
from wadesk.db.session import create_engine, make_sessionmaker, unit_of_work
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.tenants.models import Tenant
from wadesk.webhooks.processing import apply_updates
from wadesk.whatsapp.webhook import parse_updates

CUSTOMER = "16505551234"
STATUS_TIMES = {"sent": 1750030000, "delivered": 1750030010, "read": 1750030020, "failed": 1750030030}


def status_delivery(wamid: str, status: str, timestamp: int | None = None) -> dict[str, Any]:
    """A status webhook for `wamid` on the samples' main number, in Meta's shape (from the sample payloads)."""
    sample = (
        "status_failed_131026.json" if status == "failed" else "status_sent_with_conversation_pricing.json"
    )
    payload = copy.deepcopy(payload_json(sample))
    item = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    item.update(id=wamid, status=status, timestamp=str(timestamp or STATUS_TIMES[status]))
    return payload


def expected_final(order: list[str]) -> MessageStatus:
    """The specification: the highest status reached; `failed` when it came before any delivery."""
    reached_phone = False
    for status in order:
        if status in ("delivered", "read"):
            reached_phone = True
        if status == "failed" and not reached_phone:
            return MessageStatus.FAILED
    ranks = ["sent", "delivered", "read"]
    return MessageStatus(max((s for s in order if s != "failed"), key=ranks.index))


# --- property: any order, applied by the processing itself (SQLite) -----------------------------------------


class StatusLab:
    """A SQLite database with one company, number and customer, for running many status orders quickly."""

    def __init__(self, path: Path) -> None:
        self.engine: AsyncEngine = create_engine(f"sqlite+aiosqlite:///{path}")
        self.sessionmaker: async_sessionmaker[Any] = make_sessionmaker(self.engine)
        self.tenant_id = uuid.uuid4()
        self.ids: dict[str, uuid.UUID] = {}

    async def prepare(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with unit_of_work(self.sessionmaker) as session:
            session.add(Tenant(id=self.tenant_id, name="Lab", slug=f"lab-{self.tenant_id.hex[:8]}"))
        async with unit_of_work(self.sessionmaker, self.tenant_id) as session:
            number = PhoneNumber(
                waba_id="102290129340398",
                phone_number_id=MAIN_NUMBER,
                display_phone_number="15550783881",
                access_token_encrypted="unused",
            )
            contact = Contact(wa_id=CUSTOMER)
            session.add_all([number, contact])
            await session.flush()
            conversation = Conversation(contact_id=contact.id, phone_number_id=number.id)
            session.add(conversation)
            await session.flush()
            self.ids = {"number": number.id, "contact": contact.id, "conversation": conversation.id}

    async def new_message(self) -> tuple[uuid.UUID, str]:
        wamid = f"wamid.lab-{uuid.uuid4().hex}"
        async with unit_of_work(self.sessionmaker, self.tenant_id) as session:
            message = Message(
                conversation_id=self.ids["conversation"],
                phone_number_id=self.ids["number"],
                contact_id=self.ids["contact"],
                direction=Direction.OUTBOUND,
                type="text",
                content={"body": "hi"},
                wamid=wamid,
                status=MessageStatus.SENDING,
            )
            session.add(message)
            await session.flush()
            return message.id, wamid

    async def deliver(self, statuses: list[dict[str, Any]], *, together: bool) -> None:
        """Each status as its own delivery (one transaction each), or all in one delivery."""
        batches = [statuses] if together else [[s] for s in statuses]
        for batch in batches:
            updates = [u for payload in batch for u in parse_updates(encode(payload))]
            async with unit_of_work(self.sessionmaker) as session:
                await apply_updates(session, updates)

    async def message(self, message_id: uuid.UUID) -> Message:
        async with unit_of_work(self.sessionmaker, self.tenant_id) as session:
            found = await session.get(Message, message_id)
            assert found is not None
            return found


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatusLab]:
    lab = StatusLab(tmp_path_factory.mktemp("statuses") / "lab.db")
    asyncio.run(lab.prepare())
    yield lab
    asyncio.run(lab.engine.dispose())


statuses_with_repeats = st.lists(
    st.sampled_from(["sent", "delivered", "read", "failed"]), min_size=1, max_size=7
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=statuses_with_repeats, together=st.booleans())
def test_any_order_of_statuses_ends_at_the_highest_reached_and_failure_before_delivery_is_kept(
    lab: StatusLab, order: list[str], together: bool
) -> None:
    async def run() -> Message:
        message_id, wamid = await lab.new_message()
        await lab.deliver([status_delivery(wamid, s) for s in order], together=together)
        return await lab.message(message_id)

    message = asyncio.run(run())
    assert message.status == expected_final(order)
    if message.status == MessageStatus.FAILED:
        assert (message.error_code, message.error_title) == (131026, "Message undeliverable")
        assert message.error_details == "Message Undeliverable."
    else:
        assert message.error_code is None
    # Every status reached keeps its own time, whatever came after it.
    for status, column in (("sent", "sent_at"), ("delivered", "delivered_at"), ("read", "read_at")):
        reached = status in order and (message.status != MessageStatus.FAILED or status == "sent")
        if reached:
            assert getattr(message, column) is not None, (status, order)


# --- through the API, on both backends ------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with simulated_app(settings) as application:
        yield application


ORDERS = [
    ["sent", "delivered", "read"],
    ["read", "delivered", "sent"],
    ["delivered", "read", "sent"],
    ["sent", "failed", "delivered", "read"],
    ["failed", "sent"],
    ["delivered", "failed", "sent"],
    ["sent", "read", "failed"],
    ["read", "read", "delivered", "delivered", "sent"],
]


async def test_statuses_posted_in_any_order_through_the_api_end_at_the_specified_status(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Status Order Ltd")
    await connect_payload_numbers(admin)
    wamids = [f"wamid.order-{i}" for i in range(len(ORDERS))]
    ids = [await seed_outbound(app, admin.tenant_id, MAIN_NUMBER, CUSTOMER, w) for w in wamids]

    # Round k posts the k-th status of every message (concurrently) and waits, so each message sees its order.
    for k in range(max(map(len, ORDERS))):
        round_ = [
            post_webhook(client, status_delivery(wamid, order[k]))
            for wamid, order in zip(wamids, ORDERS, strict=True)
            if k < len(order)
        ]
        assert {r.status_code for r in await asyncio.gather(*round_)} == {200}
        await settle(app)

    for message_id, order in zip(ids, ORDERS, strict=True):
        body = (await admin.get(f"/api/messages/{message_id}")).json()
        assert body["status"] == expected_final(order), order
        if body["status"] == "failed":
            assert body["error"]["code"] == 131026
            assert body["error"]["explanation"]
        else:
            assert body["error"] is None
    assert (await admin.get("/api/webhook/events", params={"status": "failed"})).json()["items"] == []


async def test_all_statuses_and_their_duplicates_posted_at_once_end_read(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client, "Status Burst Ltd")
    await connect_payload_numbers(admin)
    wamids = [f"wamid.burst-{i}" for i in range(4)]
    ids = [await seed_outbound(app, admin.tenant_id, MAIN_NUMBER, CUSTOMER, w) for w in wamids]

    posts = [
        post_webhook(client, status_delivery(wamid, status))
        for wamid, status, _ in itertools.product(wamids, ["sent", "delivered", "read"], range(2))
    ]
    assert {r.status_code for r in await asyncio.gather(*posts)} == {200}
    await settle(app)

    for message in await rows(app, Message, Message.id.in_(ids)):
        assert message.status == MessageStatus.READ
        assert message.delivered_at is not None
        assert message.read_at is not None
    assert (await admin.get("/api/webhook/events", params={"status": "failed"})).json()["items"] == []
