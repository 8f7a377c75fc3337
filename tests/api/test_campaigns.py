"""Campaigns through the API, against the built-in simulator: creating, previewing, the lifecycle, sending to
an audience with opt-outs honoured, CSV audiences with per-row parameters, and access control."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from pipeline_kit import capture_events, db, rows, settle
from sqlalchemy import select
from test_campaigns_kit import World, campaign_world

from conftest import assert_error, register
from wadesk.campaigns.models import Campaign
from wadesk.campaigns.service import sweep_campaigns
from wadesk.config import Settings
from wadesk.contacts.models import Contact
from wadesk.integrations.models import OutboundDelivery
from wadesk.messages.models import Message
from wadesk.ops.models import AuditEntry

ORDER_MAPPING = {
    "body": {
        "1": {"source": "contact", "field": "name", "fallback": "there"},
        "2": {"source": "static", "value": "#4521"},
        "3": {"source": "static", "value": "out for delivery"},
    }
}


@pytest_asyncio.fixture(loop_scope="session")
async def world(settings: Settings) -> AsyncIterator[World]:
    async with campaign_world(settings) as built:
        await built.set_number(per_second=200)
        built.quiet_statuses(delivered=True, read=True)
        yield built


def done(stats: dict[str, object]) -> bool:
    return stats["status"] == "completed"


async def test_a_campaign_sends_one_template_per_tagged_contact_and_skips_opted_out_and_blocked(
    world: World,
) -> None:
    vip = await world.add_contacts(8, tags=["vip"])
    opted_out = await world.add_contacts(2, tags=["vip"], start=100, opted_out=True)
    blocked = await world.add_contacts(1, tags=["vip"], start=200, blocked=True)
    others = await world.add_contacts(3, tags=["newsletter"], start=300)
    campaign = await world.create(
        templateId=await world.template_id("order_update"),
        audience={"source": "contacts", "tags": ["vip"]},
        parameterMapping=ORDER_MAPPING,
    )
    assert campaign["status"] == "draft"

    started = await world.act(campaign["id"], "start")
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "running"
    stats = await world.wait_for(campaign["id"], done)

    assert stats["counts"]["total"] == 11
    assert stats["counts"]["skipped"] == 3
    assert {r["reason"]: r["count"] for r in stats["skippedByReason"]} == {"opted_out": 2, "blocked": 1}
    sends = world.sends_per_recipient()
    assert set(sends) == set(vip)
    assert all(n == 1 for n in sends.values())
    assert not set(sends) & set(opted_out + blocked + others)

    await settle(world.app)
    stats = await world.stats(campaign["id"])
    assert stats["funnel"] == {
        "targeted": 11, "skipped": 3, "attempted": 8, "sent": 8, "delivered": 8, "read": 8, "replied": 0,
        "failed": 0,
    }  # fmt: skip
    assert stats["rates"]["delivery"] == 1.0
    async with db(world.app, world.tenant_id) as session:
        messages = list((await session.execute(select(Message).where(Message.type == "template"))).scalars())
    campaign_messages = [m for m in messages if m.campaign_recipient_id is not None]
    assert len(campaign_messages) == 8
    assert all(m.sender_user_id is None for m in campaign_messages)
    assert "your order #4521 is now out for delivery" in (campaign_messages[0].body_text or "")


async def test_preview_counts_the_audience_and_renders_one_recipients_message(world: World) -> None:
    await world.add_contacts(4, tags=["gold"], name="Maria")
    await world.add_contacts(1, tags=["gold"], start=50, opted_out=True)
    response = await world.admin.post(
        "/api/campaigns/preview",
        json={
            "phoneNumberId": world.meta_number_id,
            "templateId": await world.template_id("order_update"),
            "audience": {"source": "contacts", "tags": ["gold"]},
            "parameterMapping": ORDER_MAPPING,
        },
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["total"] == 5
    assert preview["eligible"] == 4
    assert preview["skipped"] == [{"reason": "opted_out", "count": 1}]
    assert re.match(
        r"Hi Maria 000\d, your order #4521 is now out for delivery\.", preview["sample"]["rendered"]
    )
    assert preview["sample"]["problems"] == []
    assert preview["mappingProblems"] == []


async def test_preview_counts_contacts_with_any_or_all_of_the_tags_less_the_excluded_and_only_the_tenants_own(
    world: World,
) -> None:
    only_vip = await world.add_contacts(2, tags=["vip"], prefix="1555730")
    vip_spring = await world.add_contacts(2, tags=["vip", "spring"], prefix="1555731")
    banned = await world.add_contacts(1, tags=["vip", "spring", "banned"], prefix="1555732")
    opted_out = await world.add_contacts(1, tags=["spring"], prefix="1555733", opted_out=True)
    blocked = await world.add_contacts(1, tags=["vip", "spring"], prefix="1555734", blocked=True)
    await world.add_contacts(2, tags=["other"], prefix="1555735")
    # Another company's contacts carry the same tags: they are neither counted nor sampled.
    other = await register(world.http, "Audience Other Co")
    async with db(world.app, other.tenant_id) as session:
        session.add_all(
            Contact(wa_id=f"1555736{n:04d}", name="Elsewhere", tags=["vip", "spring", "other"])
            for n in range(3)
        )
    mapping = {"body": {**ORDER_MAPPING["body"], "1": {"source": "contact", "field": "waId"}}}
    template_id = await world.template_id("order_update")
    cases = [
        ({"tags": ["vip", "spring"]}, only_vip + vip_spring + banned + opted_out + blocked),
        ({"tags": ["Spring ", "VIP"], "tagMatch": "all"}, vip_spring + banned + blocked),
        ({"tags": ["vip", "spring"], "excludeTags": ["banned"]}, only_vip + vip_spring + opted_out + blocked),
        ({"tags": ["vip", "spring"], "tagMatch": "all", "excludeTags": ["banned"]}, vip_spring + blocked),
        ({"tags": ["vip", "nobody"], "tagMatch": "all"}, []),
        ({"tags": ["spring"], "tagMatch": "all", "excludeTags": ["vip"]}, opted_out),
        ({"tags": ["vip", "spring"], "excludeTags": ["vip"]}, opted_out),
        ({"tags": ["banned"], "tagMatch": "all", "excludeTags": ["nobody"]}, banned),
    ]
    for audience, expected in cases:
        response = await world.admin.post(
            "/api/campaigns/preview",
            json={
                "phoneNumberId": world.meta_number_id,
                "templateId": template_id,
                "audience": {"source": "contacts", **audience},
                "parameterMapping": mapping,
            },
        )
        assert response.status_code == 200, response.text
        preview = response.json()
        skipped = {
            "opted_out": len(set(expected) & set(opted_out)),
            "blocked": len(set(expected) & set(blocked)),
        }
        eligible = sorted(set(expected) - set(opted_out) - set(blocked))
        assert preview["total"] == len(expected), audience
        assert preview["eligible"] == len(eligible), audience
        assert preview["skipped"] == [{"reason": r, "count": n} for r, n in skipped.items() if n], audience
        if not eligible:
            assert preview["sample"] is None, audience
            continue
        async with db(world.app, world.tenant_id) as session:
            first = await session.scalar(
                select(Contact.wa_id).where(Contact.wa_id.in_(eligible)).order_by(Contact.id).limit(1)
            )
        assert preview["sample"]["contact"]["waId"] == first, audience
        assert preview["sample"]["rendered"].startswith(f"Hi {first}, your order #4521"), audience


async def test_a_mapping_that_misses_a_placeholder_is_refused_with_the_problems(world: World) -> None:
    response = await world.admin.post(
        "/api/campaigns",
        json={
            "name": "Broken",
            "phoneNumberId": world.meta_number_id,
            "templateId": await world.template_id("order_update"),
            "audience": {"source": "contacts"},
            "parameterMapping": {"body": {"1": {"source": "contact", "field": "name"}}},
        },
    )
    error = assert_error(response, 422, "parameter_mapping_invalid")
    assert "body placeholder {{2}} has no source" in error["details"]["problems"]


async def test_lifecycle_transitions_are_checked_and_audited(world: World) -> None:
    await world.set_number(per_second=5)
    await world.add_contacts(30, tags=["slow"])
    campaign = await world.create(audience={"source": "contacts", "tags": ["slow"]})
    cid = campaign["id"]

    error = assert_error(await world.act(cid, "pause"), 422, "invalid_transition")
    assert error["details"]["status"] == "draft"
    assert "cannot be paused" in error["message"]
    assert_error(await world.act(cid, "resume"), 422, "invalid_transition")

    assert (await world.act(cid, "start")).json()["status"] == "running"
    assert_error(await world.act(cid, "start"), 422, "invalid_transition")
    await world.wait_for(cid, lambda s: s["funnel"]["sent"] >= 3)
    paused = await world.act(cid, "pause")
    assert paused.json()["status"] == "paused"
    assert paused.json()["pausedReason"].startswith("Paused by")
    assert paused.json()["pausedCode"] == "paused_by_user"
    assert_error(await world.act(cid, "pause"), 422, "invalid_transition")
    resumed = (await world.act(cid, "resume")).json()
    assert (resumed["status"], resumed["pausedReason"], resumed["pausedCode"]) == ("running", None, None)
    cancelled = await world.act(cid, "cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert_error(await world.act(cid, "resume"), 422, "invalid_transition")
    assert_error(await world.admin.delete(f"/api/campaigns/{cid}"), 422, "invalid_transition")

    await settle(world.app)
    stats = await world.stats(cid)
    assert stats["counts"]["queued"] == 0
    assert stats["funnel"]["attempted"] >= 3
    assert stats["counts"]["skipped"] == 30 - stats["funnel"]["attempted"] > 0
    assert {r["reason"] for r in stats["skippedByReason"]} == {"campaign_cancelled"}
    async with db(world.app, world.tenant_id) as session:
        actions = [
            a.action
            for a in (
                await session.execute(
                    select(AuditEntry).where(AuditEntry.target_id == cid).order_by(AuditEntry.created_at)
                )
            ).scalars()
        ]
    assert actions == [
        "campaign.created", "campaign.started", "campaign.paused", "campaign.resumed", "campaign.cancelled",
    ]  # fmt: skip


async def test_a_schedule_given_in_a_time_zone_starts_the_campaign_when_due(world: World) -> None:
    await world.add_contacts(3, tags=["later"])
    campaign = await world.create(audience={"source": "contacts", "tags": ["later"]})
    cid = campaign["id"]
    assert_error(
        await world.act(cid, "schedule", json={"scheduledAt": "2031-03-30T09:00:00"}),
        422,
        "schedule_needs_timezone",
    )
    assert_error(
        await world.act(cid, "schedule", json={"scheduledAt": "2020-03-30T09:00:00Z"}),
        422,
        "schedule_in_past",
    )
    response = await world.act(
        cid, "schedule", json={"scheduledAt": "2031-03-30T09:00:00", "timezone": "Europe/Paris"}
    )
    assert response.status_code == 200, response.text
    scheduled = response.json()
    assert scheduled["status"] == "scheduled"
    assert scheduled["scheduledAt"].startswith("2031-03-30T07:00:00")  # CEST, UTC+2
    assert scheduled["timezone"] == "Europe/Paris"

    async with db(world.app, world.tenant_id) as session:
        row = await session.get(Campaign, uuid.UUID(cid))
        assert row is not None
        row.scheduled_at = datetime.now(UTC) - timedelta(seconds=1)
    result = await sweep_campaigns(world.app.state.runtime)
    assert result["campaigns_started"] == 1
    stats = await world.wait_for(cid, done)
    assert stats["funnel"]["sent"] == 3


async def test_progress_is_published_live_to_admins(world: World) -> None:
    await world.add_contacts(5, tags=["live"])
    campaign = await world.create(audience={"source": "contacts", "tags": ["live"]})
    async with capture_events(world.app, world.tenant_id) as captured:
        await world.act(campaign["id"], "start")
        await world.wait_for(campaign["id"], done)
        await settle(world.app)
    events = captured.about("campaign.updated", campaign["id"])
    assert events, [e.type for e in captured.events]
    assert all(e.audience == frozenset() for e in events)  # admins only
    assert events[-1].data["status"] == "completed"
    assert events[-1].data["counts"]["total"] == 5


async def test_progress_reaches_outbound_webhooks_subscribed_to_it(world: World) -> None:
    await world.add_contacts(3, tags=["hooked"])
    subscribed = await world.admin.post(
        "/api/integrations/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["campaign.updated"]}
    )
    assert subscribed.status_code == 201, subscribed.text
    campaign = await world.create(audience={"source": "contacts", "tags": ["hooked"]})
    await world.act(campaign["id"], "start")
    await world.wait_for(campaign["id"], done)
    await settle(world.app)

    recorded = await rows(world.app, OutboundDelivery, order_by=OutboundDelivery.created_at)
    assert recorded, "no delivery recorded"
    assert {str(d.webhook_id) for d in recorded} == {subscribed.json()["id"]}
    bodies = [json.loads(d.body) for d in recorded]
    assert {b["type"] for b in bodies} == {"campaign.updated"}
    assert bodies[-1]["data"]["id"] == campaign["id"]
    assert bodies[-1]["data"]["status"] == "completed"


async def test_agents_cannot_reach_campaigns_and_other_companies_get_404(world: World) -> None:
    campaign = await world.create(audience={"source": "contacts"})
    assert_error(await world.agent.get("/api/campaigns"), 403, "admin_required")
    assert_error(await world.agent.post(f"/api/campaigns/{campaign['id']}/start"), 403)
    stranger = await register(world.http, "Other Company")
    for method, path in (
        ("GET", f"/api/campaigns/{campaign['id']}"),
        ("GET", f"/api/campaigns/{campaign['id']}/stats"),
        ("GET", f"/api/campaigns/{campaign['id']}/recipients"),
        ("POST", f"/api/campaigns/{campaign['id']}/start"),
        ("DELETE", f"/api/campaigns/{campaign['id']}"),
    ):
        assert_error(await stranger.request(method, path), 404)
    assert (await world.admin.get(f"/api/campaigns/{campaign['id']}")).json()["status"] == "draft"
