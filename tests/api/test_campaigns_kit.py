"""Not tests: the world the campaign tests share. The demo company in an app whose Graph API is its own
simulator, with bulk contacts, the number's limits, and waiting for a campaign to reach a state."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pipeline_kit import db, simulated_app, simulator_of, sync_numbers
from sqlalchemy import select

from conftest import Account, login
from wadesk.config import Settings
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.db.base import utcnow
from wadesk.db.session import unit_of_work
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.ops.demo_seed import seed_demo
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.templates.models import Template
from wadesk.whatsapp.simulator import StatusDelays


@dataclass
class World:
    app: FastAPI
    http: httpx.AsyncClient
    admin: Account
    agent: Account
    tenant_id: uuid.UUID
    number_id: uuid.UUID
    meta_number_id: str

    async def template_id(self, name: str) -> str:
        async with db(self.app, self.tenant_id) as session:
            template = (await session.execute(select(Template).where(Template.name == name))).scalar_one()
            return str(template.id)

    async def set_number(self, *, per_second: int, tier: str | None = "TIER_UNLIMITED") -> None:
        response = await self.admin.patch(
            f"/api/phone-numbers/{self.number_id}",
            json={"messagesPerSecond": per_second, "messagingLimitTier": tier},
        )
        assert response.status_code == 200, response.text
        await sync_numbers(self.app)

    async def add_contacts(
        self,
        count: int,
        *,
        tags: list[str] = (),  # type: ignore[assignment]
        prefix: str = "1555700",
        start: int = 0,
        opted_out: bool = False,
        blocked: bool = False,
        name: str | None = "Customer",
        window_open: bool = False,
    ) -> list[str]:
        """Contacts +{prefix}{n:04d}; with `window_open`, each has written in the last hour."""
        wa_ids = [f"{prefix}{n:04d}" for n in range(start, start + count)]
        now = utcnow()
        async with db(self.app, self.tenant_id) as session:
            contacts = [
                Contact(
                    wa_id=wa_id,
                    name=f"{name} {wa_id[-4:]}" if name else None,
                    opted_out=opted_out,
                    blocked=blocked,
                    tags=list(tags),
                    attributes={"city": "Lyon"},
                )
                for wa_id in wa_ids
            ]
            session.add_all(contacts)
            await session.flush()
            if window_open:
                # They wrote an hour ago: their customer service window is open.
                wrote_at = now - timedelta(hours=1)
                for contact in contacts:
                    conversation = Conversation(
                        contact_id=contact.id,
                        phone_number_id=self.number_id,
                        status=ConversationStatus.OPEN,
                        last_message_at=wrote_at,
                        last_inbound_at=wrote_at,
                        customer_window_expires_at=wrote_at + timedelta(hours=24),
                    )
                    session.add(conversation)
                    await session.flush()
                    session.add(
                        Message(
                            conversation_id=conversation.id,
                            phone_number_id=self.number_id,
                            contact_id=contact.id,
                            direction=Direction.INBOUND,
                            type="text",
                            content={"body": "Hello"},
                            body_text="Hello",
                            wamid=f"wamid.in-{contact.wa_id}",
                            status=MessageStatus.RECEIVED,
                            created_at=wrote_at,
                        )
                    )
        return wa_ids

    async def create(self, **body: Any) -> dict[str, Any]:
        payload = {"name": "Spring sale", "phoneNumberId": self.meta_number_id, **body}
        if "templateId" not in payload:
            payload["templateId"] = await self.template_id("hello_world")
        response = await self.admin.post("/api/campaigns", json=payload)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def act(self, campaign_id: str, action: str, **kwargs: Any) -> httpx.Response:
        return await self.admin.post(f"/api/campaigns/{campaign_id}/{action}", **kwargs)

    async def stats(self, campaign_id: str) -> dict[str, Any]:
        response = await self.admin.get(f"/api/campaigns/{campaign_id}/stats")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_for(
        self, campaign_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            stats = await self.stats(campaign_id)
            if done(stats):
                return stats
            if time.monotonic() > deadline:
                raise AssertionError(f"campaign did not get there in {timeout}s: {stats}")
            await asyncio.sleep(0.05)

    async def recipients(self, campaign_id: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {"limit": 100, **params, **({"cursor": cursor} if cursor else {})}
            response = await self.admin.get(f"/api/campaigns/{campaign_id}/recipients", params=query)
            assert response.status_code == 200, response.text
            body = response.json()
            items += body["items"]
            cursor = body["nextCursor"]
            if not cursor:
                return items

    def sends_per_recipient(self) -> Counter[str]:
        return Counter(m.wa_id for m in simulator_of(self.app).sent_messages if m.type == "template")

    def quiet_statuses(self, *, delivered: bool = True, read: bool = False) -> None:
        """Fewer status webhooks per message, for tests that do not look at them."""
        simulator_of(self.app).config.status_delays = StatusDelays(
            sent=0.05, delivered=0.1 if delivered else None, read=0.15 if read else None
        )


@asynccontextmanager
async def campaign_world(settings: Settings, **overrides: Any) -> AsyncIterator[World]:
    async with simulated_app(settings, **overrides) as app:
        runtime = app.state.runtime
        async with unit_of_work(runtime.sessionmaker) as session:
            await seed_demo(session, runtime.keyring)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            admin = await login(http, "admin@demo.com", "admin123")
            agent = await login(http, "agent@demo.com", "agent123")
            tenant_id = uuid.UUID(admin.tenant_id)
            async with db(app, tenant_id) as session:
                number = (await session.execute(select(PhoneNumber))).scalar_one()
            await sync_numbers(app)
            yield World(app, http, admin, agent, tenant_id, number.id, number.phone_number_id)
