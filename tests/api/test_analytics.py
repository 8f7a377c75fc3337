"""Analytics against a hand-built week whose figures are worked out below; the same numbers on SQLite and
PostgreSQL (every test here runs on both).

The week (UTC), Monday 2 to Sunday 8 March 2026, agents Alice and Bob:

C1  Mon 09:00:00 customer, 09:00:30 customer, 09:02 Alice (first response 120 s), 09:10 customer,
    09:15 Bob (reply 300 s), resolved 10:00 (resolution 3600 s, Bob replied last).
    Tue 08:00 customer writes again: reopened 08:00:05; 08:04 Alice (first response of the new cycle 240 s),
    resolved 09:00:05 (resolution 3600 s, Alice).
C2  Wed 12:00 customer (assigned to Bob), 12:10 Alice (600 s: Alice's, not the assignee's), 12:20 customer,
    12:21 an automated message (not a reply), 12:50 Bob (reply 1800 s). Open.
C3  Thu 18:00 customer (assigned to Alice), 18:00:45 Alice (45 s), 18:30 customer: unanswered. Open.
C4  Fri 07:00 customer, 07:01 Bob (failed: no reply), 07:03 Bob (180 s), 07:05 a reaction (not a question),
    resolved 07:30 (resolution 1800 s, Bob).
C6  Sun 06:30 and 07:30 customer (one turn; New York moves to summer time at 07:00 UTC), 07:31 Alice
    (3660 s). Open.
C5  Tue 10 March, outside the week.

First response: Alice 45, 120, 240, 600, 3660; Bob 180.  Reply: Alice the same; Bob 180, 300, 1800.
Resolution: Alice 3600; Bob 1800, 3600. percentile_cont: position p*(n-1), linear between neighbours.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from conftest import Account, assert_error, login, register
from wadesk.analytics.models import ConversationStatusChange
from wadesk.campaigns.models import Campaign, CampaignRecipient, CampaignStatus
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.db.session import unit_of_work
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.templates.models import Template

WEEK = {"from": "2026-03-02", "to": "2026-03-08"}
IN, OUT = Direction.INBOUND, Direction.OUTBOUND


def at(day: int, clock: str) -> datetime:
    hour, minute, *second = (int(part) for part in clock.split(":"))
    return datetime(2026, 3, day, hour, minute, second[0] if second else 0, tzinfo=UTC)


@dataclass
class Week:
    admin: Account
    alice: Account
    bob: Account
    number_id: str
    alice_id: str
    bob_id: str
    campaign_id: str


async def _user(admin: Account, http: httpx.AsyncClient, name: str) -> tuple[Account, str]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    response = await admin.post(
        "/api/users",
        json={"email": email, "name": name, "role": "agent", "password": "correct horse battery"},
    )
    assert response.status_code == 201, response.text
    return await login(http, email, "correct horse battery"), response.json()["id"]


@pytest_asyncio.fixture(loop_scope="session")
async def week(app: FastAPI, client: httpx.AsyncClient) -> Week:
    admin = await register(client, "Analytics Co")
    alice, alice_id = await _user(admin, client, "Alice")
    bob, bob_id = await _user(admin, client, "Bob")
    response = await admin.post(
        "/api/phone-numbers",
        json={
            "name": "Main",
            "wabaId": "555000111",
            "phoneNumberId": "555000222",
            "displayPhoneNumber": "+1 555 000 2222",
            "accessToken": "analytics-token-123",
        },
    )
    assert response.status_code == 201, response.text
    number_id = uuid.UUID(response.json()["id"])
    tenant = uuid.UUID(admin.tenant_id)
    a, b = uuid.UUID(alice_id), uuid.UUID(bob_id)
    async with unit_of_work(app.state.runtime.sessionmaker, tenant) as session:
        counter = iter(range(1000))

        async def conversation(
            wa_id: str, created: datetime, status: ConversationStatus, assignee: uuid.UUID | None = None
        ) -> Conversation:
            contact = Contact(wa_id=wa_id, name=f"Customer {wa_id[-2:]}")
            session.add(contact)
            await session.flush()
            found = Conversation(
                contact_id=contact.id,
                phone_number_id=number_id,
                status=status,
                assignee_id=assignee,
                last_message_at=created,
            )
            found.created_at = created
            session.add(found)
            await session.flush()
            return found

        def message(
            c: Conversation,
            when: datetime,
            direction: Direction,
            sender: uuid.UUID | None = None,
            *,
            status: MessageStatus | None = None,
            kind: str = "text",
            error_code: int | None = None,
            pricing: dict[str, Any] | None = None,
        ) -> None:
            inbound = direction == Direction.INBOUND
            session.add(
                Message(
                    conversation_id=c.id,
                    phone_number_id=number_id,
                    contact_id=c.contact_id,
                    direction=direction,
                    type=kind,
                    content={"body": "x"},
                    wamid=f"wamid.{next(counter)}",
                    status=status or (MessageStatus.RECEIVED if inbound else MessageStatus.READ),
                    created_at=when,
                    sender_user_id=sender,
                    error_code=error_code,
                    pricing=pricing,
                )
            )

        def change(c: Conversation, when: datetime, before: str, after: str) -> None:
            session.add(
                ConversationStatusChange(
                    conversation_id=c.id, from_status=before, to_status=after, changed_at=when
                )
            )

        utility = {"billable": True, "pricing_model": "PMP", "category": "utility"}
        c1 = await conversation("15550100001", at(2, "09:00"), ConversationStatus.RESOLVED)
        message(c1, at(2, "09:00:00"), IN)
        message(c1, at(2, "09:00:30"), IN)
        message(c1, at(2, "09:02"), OUT, a, pricing=utility)
        message(c1, at(2, "09:10"), IN)
        message(c1, at(2, "09:15"), OUT, b, status=MessageStatus.DELIVERED, pricing=utility)
        change(c1, at(2, "10:00"), "open", "resolved")
        message(c1, at(3, "08:00"), IN)
        change(c1, at(3, "08:00:05"), "resolved", "open")
        message(c1, at(3, "08:04"), OUT, a)
        change(c1, at(3, "09:00:05"), "open", "resolved")

        c2 = await conversation("15550100002", at(4, "12:00"), ConversationStatus.OPEN, assignee=b)
        message(c2, at(4, "12:00"), IN)
        message(
            c2,
            at(4, "12:10"),
            OUT,
            a,
            pricing={"billable": False, "pricing_model": "PMP", "category": "service"},
        )
        message(c2, at(4, "12:20"), IN)
        marketing = {"billable": True, "pricing_model": "PMP", "category": "marketing"}
        message(c2, at(4, "12:21"), OUT, status=MessageStatus.DELIVERED, kind="template", pricing=marketing)
        message(c2, at(4, "12:50"), OUT, b, status=MessageStatus.SENT)

        c3 = await conversation("15550100003", at(5, "18:00"), ConversationStatus.OPEN, assignee=a)
        message(c3, at(5, "18:00"), IN)
        message(c3, at(5, "18:00:45"), OUT, a, status=MessageStatus.DELIVERED)
        message(c3, at(5, "18:30"), IN)

        c4 = await conversation("15550100004", at(6, "07:00"), ConversationStatus.RESOLVED)
        message(c4, at(6, "07:00"), IN)
        message(c4, at(6, "07:01"), OUT, b, status=MessageStatus.FAILED, error_code=131026)
        message(c4, at(6, "07:03"), OUT, b)
        message(c4, at(6, "07:05"), IN, kind="reaction")
        change(c4, at(6, "07:30"), "open", "resolved")

        c6 = await conversation("15550100006", at(8, "06:30"), ConversationStatus.OPEN)
        message(c6, at(8, "06:30"), IN)
        message(c6, at(8, "07:30"), IN)
        message(c6, at(8, "07:31"), OUT, a, status=MessageStatus.SENT)

        c5 = await conversation("15550100005", at(10, "10:00"), ConversationStatus.OPEN)
        message(c5, at(10, "10:00"), IN)
        message(c5, at(10, "10:01"), OUT, a)

        template = Template(
            waba_id="555000111", name="promo", language="en", category="MARKETING", status="APPROVED"
        )
        session.add(template)
        await session.flush()
        campaign = Campaign(
            name="March promo",
            phone_number_id=number_id,
            template_id=template.id,
            status=CampaignStatus.COMPLETED,
            started_at=at(3, "10:00"),
        )
        session.add(campaign)
        await session.flush()
        statuses = (
            ["skipped"] * 2 + ["failed"] + ["sent"] * 2 + ["delivered"] * 2 + ["read"] * 2 + ["replied"]
        )
        for n, status in enumerate(statuses):
            contact = Contact(wa_id=f"1555020{n:04d}")
            session.add(contact)
            await session.flush()
            session.add(CampaignRecipient(campaign_id=campaign.id, contact_id=contact.id, status=status))
    return Week(admin, alice, bob, str(number_id), alice_id, bob_id, str(campaign.id))


def figures(count: int, median: float | None, p90: float | None) -> dict[str, Any]:
    return {"count": count, "median": median, "p90": p90}


async def get(account: Account, path: str, **params: Any) -> dict[str, Any]:
    response = await account.get(f"/api/analytics/{path}", params={**WEEK, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_response_times_have_the_medians_and_percentiles_worked_out_by_hand(week: Week) -> None:
    report = await get(week.admin, "response-times")
    assert report["firstResponse"] == figures(6, 210.0, 2130.0)
    assert report["reply"] == figures(8, 270.0, 2358.0)
    assert report["resolution"] == figures(3, 3600.0, 3600.0)
    agents = {a["name"]: a for a in report["agents"]}
    assert set(agents) == {"Alice", "Bob"}
    assert agents["Alice"]["firstResponse"] == figures(5, 240.0, 2436.0)
    assert agents["Alice"]["reply"] == figures(5, 240.0, 2436.0)
    assert agents["Alice"]["resolution"] == figures(1, 3600.0, 3600.0)
    assert agents["Bob"]["firstResponse"] == figures(1, 180.0, 180.0)
    assert agents["Bob"]["reply"] == figures(3, 300.0, 1500.0)
    assert agents["Bob"]["resolution"] == figures(2, 2700.0, 3420.0)


async def test_replies_are_attributed_to_the_agent_who_wrote_them_not_the_assignee(week: Week) -> None:
    # C2 is assigned to Bob, but Alice answered its first message (600 s).
    only_c2 = await get(week.admin, "response-times", **{"from": "2026-03-04", "to": "2026-03-04"})
    agents = {a["name"]: a for a in only_c2["agents"]}
    assert agents["Alice"]["firstResponse"] == figures(1, 600.0, 600.0)
    assert agents["Bob"]["firstResponse"] == figures(0, None, None)
    assert agents["Bob"]["reply"] == figures(1, 1800.0, 1800.0)


async def test_agents_see_their_own_figures_and_admins_can_ask_for_one_agents(week: Week) -> None:
    mine = await get(week.bob, "response-times")
    assert [a["name"] for a in mine["agents"]] == ["Bob"]
    assert mine["reply"] == figures(3, 300.0, 1500.0)
    assert mine["firstResponse"] == figures(1, 180.0, 180.0)
    as_admin = await get(week.admin, "response-times", agentId=week.bob_id)
    assert as_admin["reply"] == mine["reply"]
    assert_error(
        await week.bob.get("/api/analytics/response-times", params={**WEEK, "agentId": week.alice_id}),
        403,
        "own_figures_only",
    )
    # Alice's conversations: C3 is assigned to her and waits for an answer.
    conversations = await get(week.alice, "conversations")
    assert conversations["unanswered"]["count"] == 1
    assert {s["status"]: s["count"] for s in conversations["byStatus"]}["open"] == 1
    assert_error(await week.alice.get("/api/analytics/campaigns", params=WEEK), 403, "admin_required")


async def test_volume_per_day_and_number_in_the_requested_time_zone(week: Week) -> None:
    utc = await get(week.admin, "volume")
    assert (utc["inbound"], utc["outbound"]) == (12, 10)
    assert [(d["date"][-2:], d["inbound"], d["outbound"]) for d in utc["days"]] == [
        ("02", 3, 2), ("03", 1, 1), ("04", 2, 3), ("05", 2, 1), ("06", 2, 2), ("07", 0, 0), ("08", 2, 1),
    ]  # fmt: skip
    assert [n["phoneNumberId"] for n in utc["phoneNumbers"]] == [week.number_id]
    # In Tokyo (UTC+9) Thursday evening's C3 falls on Friday.
    tokyo = await get(week.admin, "volume", tz="Asia/Tokyo")
    by_day = {d["date"][-2:]: (d["inbound"], d["outbound"]) for d in tokyo["days"]}
    assert by_day["05"] == (0, 0)
    assert by_day["06"] == (4, 3)


async def test_the_heatmap_counts_customer_messages_by_local_weekday_and_hour(week: Week) -> None:
    utc = await get(week.admin, "heatmap")
    cells = {(c["weekday"], c["hour"]): c["messages"] for c in utc["cells"] if c["messages"]}
    assert cells == {(1, 9): 3, (2, 8): 1, (3, 12): 2, (4, 18): 2, (5, 7): 1, (7, 6): 1, (7, 7): 1}
    assert utc["busiest"] == {"weekday": 1, "hour": 9, "messages": 3}
    assert len(utc["cells"]) == 7 * 24
    # New York: EST (UTC-5) until Sunday 2 a.m., then EDT (UTC-4).
    new_york = await get(week.admin, "heatmap", tz="America/New_York")
    cells = {(c["weekday"], c["hour"]): c["messages"] for c in new_york["cells"] if c["messages"]}
    assert cells[(1, 4)] == 3
    assert cells[(7, 1)] == 1
    assert cells[(7, 3)] == 1


async def test_delivery_rates_and_failures_by_code(week: Week) -> None:
    report = await get(week.admin, "delivery")
    assert report["overall"] == {
        "attempted": 10, "sent": 9, "delivered": 7, "read": 4, "failed": 1, "pending": 0,
        "deliveryRate": 0.7, "readRate": 0.5714, "failureRate": 0.1,
    }  # fmt: skip
    assert report["failuresByCode"] == [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "category": "recipient",
            "retryable": False,
            "count": 1,
        }
    ]
    failures = await get(week.admin, "failures")
    assert failures["failed"] == 1


async def test_conversations_by_status_and_unanswered(week: Week) -> None:
    report = await get(week.admin, "conversations")
    assert {s["status"]: s["count"] for s in report["byStatus"]} == {
        "open": 3, "pending": 0, "resolved": 2, "archived": 0,
    }  # fmt: skip
    assert report["unanswered"] == {"count": 1, "oldestWaitingSince": "2026-03-05T18:30:00Z"}


async def test_campaign_funnel_and_cost_estimate(week: Week) -> None:
    funnel = await get(week.admin, "campaigns")
    assert len(funnel["campaigns"]) == 1
    row = funnel["campaigns"][0]
    assert row["campaignId"] == week.campaign_id
    assert {k: row[k] for k in ("targeted", "skipped", "sent", "delivered", "read", "replied", "failed")} == {
        "targeted": 10, "skipped": 2, "sent": 7, "delivered": 5, "read": 3, "replied": 1, "failed": 1,
    }  # fmt: skip
    assert (row["deliveryRate"], row["readRate"], row["replyRate"]) == (0.625, 0.6, 0.2)
    assert funnel["total"]["targeted"] == 10

    costs = await get(week.admin, "costs", rates="marketing:0.025,utility:0.004", currency="usd")
    assert costs["currency"] == "USD"
    lines = {line["category"]: line for line in costs["lines"]}
    assert lines["utility"]["billable"] == 2
    assert lines["utility"]["estimatedCost"] == 0.008
    assert lines["marketing"]["estimatedCost"] == 0.025
    assert lines["service"] == {
        "category": "service", "pricingModel": "PMP", "billable": 0, "free": 1, "rate": None, "estimatedCost": None,
    }  # fmt: skip
    assert costs["estimatedCost"] == 0.033
    assert costs["unpricedMessages"] == 6
    assert_error(
        await week.admin.get("/api/analytics/costs", params={**WEEK, "rates": "marketing"}),
        422,
        "invalid_rates",
    )


async def test_the_overview_summarises_the_page(week: Week) -> None:
    overview = await get(week.admin, "overview")
    assert len(overview["volume"]) == 7
    assert (overview["inbound"], overview["outbound"]) == (12, 10)
    assert overview["deliveryRate"] == 0.7
    assert overview["firstResponse"] == figures(6, 210.0, 2130.0)
    agents = {a["name"]: a for a in overview["agents"]}
    assert {"Alice", "Bob", "Owner"} <= set(agents)
    assert agents["Alice"]["replies"] == 5
    assert agents["Owner"]["replies"] == 0
    mine = await get(week.alice, "overview")
    assert [a["name"] for a in mine["agents"]] == ["Alice"]


@pytest.mark.parametrize(
    ("report", "header"),
    [
        ("volume", "date,phone_number_id,display_phone_number,inbound,outbound"),
        ("response-times", "agent_id,agent_name,metric,count,median_seconds,p90_seconds"),
        ("heatmap", "weekday,hour,messages"),
        ("conversations", "status,conversations"),
        ("delivery", "phone_number_id,display_phone_number,attempted,sent,delivered,read,failed,pending"),
        ("campaigns", "campaign_id,name,status,started_at,targeted"),
        ("overview", "agent_id,agent_name,replies"),
        ("failures", "code,title,category,retryable,count"),
    ],
)
async def test_every_report_exports_as_csv(week: Week, report: str, header: str) -> None:
    response = await week.admin.get(f"/api/analytics/{report}", params={**WEEK, "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert ",".join(rows[0]).startswith(header)
    assert len(rows) > 1
    if report == "response-times":
        overall = [r for r in rows[1:] if r[0] == "all" and r[2] == "first_response"]
        assert overall == [["all", "", "first_response", "6", "210.0", "2130.0"]]


async def test_bad_ranges_and_zones_are_refused(week: Week) -> None:
    assert_error(
        await week.admin.get("/api/analytics/volume", params={"tz": "Mars/Olympus"}), 422, "invalid_timezone"
    )
    assert_error(
        await week.admin.get("/api/analytics/volume", params={"from": "2026-03-09", "to": "2026-03-01"}),
        422,
        "invalid_range",
    )
    assert_error(
        await week.admin.get("/api/analytics/volume", params={"from": "2024-01-01", "to": "2026-03-01"}),
        422,
        "invalid_range",
    )
    assert_error(await week.admin.get("/api/analytics/volume", params={"phoneNumberId": "999"}), 404)
