"""How a running campaign behaves against the simulator: the messaging tier, pause and resume, a pump that
dies, Meta pausing the template or downgrading the number, throughput errors, replies and CSV audiences."""

from __future__ import annotations

import asyncio
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pipeline_kit import db, post_webhook, settle, simulator_of
from sqlalchemy import select, update
from test_campaigns_kit import World, campaign_world

from conftest import assert_error, register
from wadesk.campaigns.models import Campaign, CampaignRecipient, RecipientStatus
from wadesk.campaigns.repository import CampaignRepository
from wadesk.campaigns.service import sweep_campaigns
from wadesk.config import Settings
from wadesk.contacts.models import Contact
from wadesk.db.base import utcnow
from wadesk.messages import tasks as message_tasks
from wadesk.messages.models import Message, MessageStatus
from wadesk.ops.demo_seed import DEMO_WABA_ID
from wadesk.ops.sweeper import sweep_once
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus
from wadesk.whatsapp.simulator import InboundMessage


@pytest_asyncio.fixture(loop_scope="session")
async def world(settings: Settings) -> AsyncIterator[World]:
    async with campaign_world(settings) as built:
        built.quiet_statuses(delivered=False)
        yield built


def completed(stats: dict[str, Any]) -> bool:
    return stats["status"] == "completed"


def waiting(stats: dict[str, Any]) -> bool:
    return stats["waitingReason"] is not None


def meta_webhook(field: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": DEMO_WABA_ID, "time": 1751247548, "changes": [{"field": field, "value": value}]}],
    }


@pytest.mark.xfail(
    reason="on SQLite under heavy load a write once waited out the 30 s busy timeout ('database is locked'); "
    "which transaction held the lock is not yet known",
    strict=False,
)
async def test_with_tier_250_a_1000_recipient_campaign_reaches_250_new_customers_and_waits_saying_why(
    world: World,
) -> None:
    await world.set_number(per_second=50, tier="TIER_250")
    newcomers = await world.add_contacts(1000, tags=["launch"])
    # Customers who wrote within 24 hours can be messaged without using the tier.
    regulars = await world.add_contacts(5, tags=["launch"], start=5000, window_open=True)
    campaign = await world.create(audience={"source": "contacts", "tags": ["launch"]})
    await world.act(campaign["id"], "start")

    stats = await world.wait_for(campaign["id"], waiting, timeout=120)
    assert stats["status"] == "running"
    assert "TIER_250" in stats["waitingReason"]
    assert "250 reached" in stats["waitingReason"]
    assert stats["waitingUntil"] is not None
    assert stats["eta"]["limitedBy"] == "messaging_limit"
    sends = world.sends_per_recipient()
    assert len(set(sends) & set(newcomers)) == 250
    assert set(regulars) <= set(sends)
    assert all(n == 1 for n in sends.values())
    assert stats["counts"]["queued"] == 750
    assert stats["funnel"]["sent"] == 255

    # Nothing more goes out while it waits, and the sweep leaves it alone until the wait is over.
    await sweep_campaigns(world.app.state.runtime)
    await asyncio.sleep(0.5)
    assert sum(world.sends_per_recipient().values()) == 255

    # A tier upgrade from Meta lets it continue at once.
    raw = meta_webhook(
        "phone_number_quality_update",
        {"display_phone_number": "15550000000", "event": "UPGRADE", "current_limit": "TIER_2K"},
    )
    assert (await post_webhook(world.http, raw)).status_code == 200
    await world.wait_for(campaign["id"], lambda s: s["waitingUntil"] < s["generatedAt"], timeout=30)
    await sweep_campaigns(world.app.state.runtime)
    await world.wait_for(campaign["id"], lambda s: s["waitingReason"] is None, timeout=30)
    stats = await world.wait_for(campaign["id"], lambda s: s["funnel"]["sent"] >= 300, timeout=60)
    assert stats["waitingReason"] is None
    assert all(n == 1 for n in world.sends_per_recipient().values())
    await world.act(campaign["id"], "cancel")


@pytest.mark.xfail(
    reason="failed once on PostgreSQL in a full run, never alone or under load since; kept until the cause is found",
    strict=False,
)
async def test_pause_and_resume_continue_where_they_stopped_without_sending_anyone_twice(
    world: World,
) -> None:
    await world.set_number(per_second=40)
    audience = await world.add_contacts(120, tags=["resume"])
    campaign = await world.create(audience={"source": "contacts", "tags": ["resume"]})
    cid = campaign["id"]
    await world.act(cid, "start")
    await world.wait_for(cid, lambda s: s["funnel"]["sent"] >= 20)
    assert (await world.act(cid, "pause")).json()["status"] == "paused"
    stats = await world.wait_for(cid, lambda s: s["counts"]["sending"] == 0)
    at_pause = sum(world.sends_per_recipient().values())
    assert stats["counts"]["queued"] == 120 - at_pause
    await asyncio.sleep(0.6)
    assert sum(world.sends_per_recipient().values()) == at_pause  # paused means nothing more goes out

    assert (await world.act(cid, "resume")).json()["status"] == "running"
    stats = await world.wait_for(cid, completed, timeout=60)
    sends = world.sends_per_recipient()
    assert set(sends) == set(audience)
    assert all(n == 1 for n in sends.values())
    assert stats["funnel"]["sent"] == 120


async def test_a_contacts_audience_nobody_matches_cannot_start_one_of_opted_out_contacts_can(
    world: World,
) -> None:
    nobody = await world.create(audience={"source": "contacts", "tags": ["no-such-tag"]})
    assert_error(await world.act(nobody["id"], "start"), 422, "audience_empty")

    # Someone matches, though nobody can be sent to: the campaign starts and records them as skipped.
    await world.add_contacts(1, tags=["unreachable"], prefix="1555720", opted_out=True)
    unreachable = await world.create(audience={"source": "contacts", "tags": ["unreachable"]})
    assert (await world.act(unreachable["id"], "start")).status_code == 200


async def test_a_worker_killed_mid_campaign_loses_and_duplicates_nobody(world: World) -> None:
    await world.set_number(per_second=40)
    audience = await world.add_contacts(100, tags=["crash"])
    campaign = await world.create(audience={"source": "contacts", "tags": ["crash"]})
    cid = campaign["id"]
    await world.act(cid, "start")
    await world.wait_for(cid, lambda s: s["funnel"]["sent"] >= 15)

    # The worker dies: every job it was running (the pump, the sends in flight) stops where it is, and the
    # pump's lease is left behind as a dead process would leave it.
    broker = world.app.state.runtime.jobs.broker
    for task in list(broker._running_tasks):
        task.cancel()
    await asyncio.gather(*broker._running_tasks, return_exceptions=True)
    runtime = world.app.state.runtime

    # Time passes as it would. Within seconds, Meta's statuses arrive for the calls that reached it; they carry
    # our message id, so a send whose answer died with the worker is still recognised as sent.
    await simulator_of(world.app).drain(timeout=20)
    await broker.wait_all()
    # After 30 s the sweeper re-runs the webhook events the dead worker was processing...
    async with db(world.app) as session:
        await session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.status == WebhookEventStatus.RECEIVED)
            .values(received_at=utcnow() - timedelta(minutes=1))
        )
    await sweep_once(runtime)
    await broker.wait_all()
    # ...and after 75 s the dead worker's claims and its pump lease expire.
    async with db(world.app, world.tenant_id) as session:
        await session.execute(
            update(Campaign).values(
                pump_owner="dead-worker", pump_lease_until=utcnow() - timedelta(seconds=1)
            )
        )
        # What the dead worker had claimed or queued looks stale to the sweeper.
        await session.execute(
            update(Message)
            .where(Message.status.in_((MessageStatus.QUEUED, MessageStatus.SENDING)))
            .values(updated_at=utcnow() - timedelta(minutes=5))
        )
    sent_before = sum(world.sends_per_recipient().values())
    assert sent_before < 100

    # The sweeps (messages, then campaigns) pick everything up again.
    await sweep_once(runtime)
    await sweep_campaigns(runtime)
    stats = await world.wait_for(cid, completed, timeout=90)
    sends = world.sends_per_recipient()
    assert set(sends) == set(audience)
    assert [wa_id for wa_id, n in sends.items() if n > 1] == []
    assert stats["funnel"]["sent"] == 100
    async with db(world.app, world.tenant_id) as session:
        per_recipient = (
            (
                await session.execute(
                    select(Message.campaign_recipient_id).where(Message.campaign_recipient_id.is_not(None))
                )
            )
            .scalars()
            .all()
        )
    assert len(per_recipient) == len(set(per_recipient)) == 100


async def test_meta_pausing_the_template_pauses_the_campaign_with_the_reason(world: World) -> None:
    await world.set_number(per_second=20)
    await world.add_contacts(200, tags=["paused-template"])
    campaign = await world.create(audience={"source": "contacts", "tags": ["paused-template"]})
    cid = campaign["id"]
    await world.act(cid, "start")
    await world.wait_for(cid, lambda s: s["funnel"]["sent"] >= 5)

    raw = meta_webhook(
        "message_template_status_update",
        {
            "event": "PAUSED",
            "message_template_id": zlib.crc32(b"hello_world"),
            "message_template_name": "hello_world",
            "message_template_language": "en_US",
            "reason": "Low quality",
        },
    )
    assert (await post_webhook(world.http, raw)).status_code == 200
    stats = await world.wait_for(cid, lambda s: s["status"] == "paused")
    assert stats["pausedReason"].startswith("Meta paused template 'hello_world'")
    assert stats["pausedCode"] == "template_not_approved"
    assert stats["counts"]["queued"] > 0
    assert_error(await world.act(cid, "resume"), 422, "template_not_approved")


async def test_a_drop_in_the_numbers_quality_pauses_its_running_campaigns(world: World) -> None:
    await world.set_number(per_second=20)
    await world.add_contacts(200, tags=["quality"])
    campaign = await world.create(audience={"source": "contacts", "tags": ["quality"]})
    cid = campaign["id"]
    await world.act(cid, "start")
    await world.wait_for(cid, lambda s: s["funnel"]["sent"] >= 5)
    raw = meta_webhook(
        "phone_number_quality_update",
        {"display_phone_number": "15550000000", "event": "FLAGGED", "current_limit": "TIER_UNLIMITED"},
    )
    assert (await post_webhook(world.http, raw)).status_code == 200
    stats = await world.wait_for(cid, lambda s: s["status"] == "paused")
    assert stats["pausedReason"] == "The number's quality rating dropped from GREEN to YELLOW"
    assert stats["pausedCode"] == "phone_number_quality_dropped"
    # An admin may decide to go on anyway.
    assert (await world.act(cid, "resume")).json()["status"] == "running"
    await world.act(cid, "cancel")


async def test_failures_are_recorded_with_metas_reason_and_only_retryable_ones_are_retried(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One attempt per send, so Meta's throughput error surfaces at once instead of after the backoff.
    monkeypatch.setattr(message_tasks, "MAX_SEND_ATTEMPTS", 1)
    await world.set_number(per_second=200)
    ok = await world.add_contacts(3, tags=["mixed"])
    undeliverable = await world.add_contacts(1, tags=["mixed"], prefix="1555000", start=404)
    throttled = await world.add_contacts(1, tags=["mixed"], prefix="1555000", start=429)
    campaign = await world.create(audience={"source": "contacts", "tags": ["mixed"]})
    cid = campaign["id"]
    await world.act(cid, "start")
    await world.wait_for(cid, completed, timeout=60)
    stats = await world.wait_for(cid, lambda s: s["counts"]["failed"] == 2, timeout=30)

    failures = {f["code"]: f for f in stats["failuresByCode"]}
    assert failures[131026]["retryable"] is False
    assert failures[131026]["title"] == "Message undeliverable"
    assert failures[130429]["retryable"] is True
    failed = {r["contact"]["waId"]: r for r in await world.recipients(cid, status="failed")}
    assert set(failed) == set(undeliverable + throttled)
    assert failed[throttled[0]]["attempts"] == 3  # the pump tried it again twice before giving up
    assert failed[undeliverable[0]]["error"]["explanation"]
    assert {r["contact"]["waId"] for r in await world.recipients(cid, errorCode=131026)} == set(undeliverable)
    assert len(await world.recipients(cid, status="sent")) == len(ok)

    retried = await world.act(cid, "retry-failed")
    assert retried.status_code == 200, retried.text
    assert retried.json()["requeued"] == 1
    assert retried.json()["campaign"]["status"] == "running"
    await world.wait_for(cid, completed, timeout=60)
    await world.wait_for(cid, lambda s: s["counts"]["failed"] == 2, timeout=30)
    assert world.sends_per_recipient()[undeliverable[0]] == 1  # never retried

    # With only non-retryable failures left, there is nothing to retry.
    async with db(world.app, world.tenant_id) as session:
        await session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.error_code == 130429)
            .values(status=RecipientStatus.SENT, error_code=None)
        )
    assert_error(await world.act(cid, "retry-failed"), 422, "nothing_to_retry")


async def test_a_customer_writing_back_within_the_window_marks_the_recipient_replied(world: World) -> None:
    await world.set_number(per_second=200)
    world.quiet_statuses(delivered=True)
    audience = await world.add_contacts(3, tags=["reply"])
    campaign = await world.create(audience={"source": "contacts", "tags": ["reply"]}, replyWindowHours=48)
    cid = campaign["id"]
    await world.act(cid, "start")
    await world.wait_for(cid, completed)
    await settle(world.app)
    simulator = simulator_of(world.app)
    # The customer answers within the very second of the send: Meta's timestamp (whole seconds) is then
    # earlier than the recorded send time, and must still count.
    [first] = [r for r in await world.recipients(cid) if r["contact"]["waId"] == audience[0]]
    sent_second = datetime.fromisoformat(first["sentAt"]).timestamp() // 1
    simulator.config.clock = lambda: sent_second
    _, status = await simulator.inject_inbound(
        InboundMessage.model_validate(
            {"phoneNumberId": world.meta_number_id, "from": audience[0], "text": "Yes!"}
        )
    )
    assert status == 200
    await settle(world.app)
    stats = await world.stats(cid)
    assert stats["funnel"]["replied"] == 1
    assert stats["rates"]["reply"] == round(1 / 3, 4)
    replied = await world.recipients(cid, status="replied")
    assert [r["contact"]["waId"] for r in replied] == [audience[0]]
    assert replied[0]["repliedAt"] is not None


CSV = (
    "phone,first_name,order\n"
    "+1 555 710 0001,Ana,#100\n"
    "+15557100002,Bruno,#200\n"
    "+15557100001,Ana again,#101\n"
    "not a number,Carla,#300\n"
    "\n"
    "+15557100003,,#400\n"
)


async def test_a_csv_audience_sends_each_number_once_with_its_rows_parameters(world: World) -> None:
    await world.set_number(per_second=200)
    await world.add_contacts(1, prefix="1555710", start=3, opted_out=True)
    mapping = {
        "body": {
            "1": {"source": "csv", "column": "first_name", "fallback": "friend"},
            "2": {"source": "csv", "column": "order"},
            "3": {"source": "static", "value": "ready"},
        }
    }
    campaign = await world.create(
        templateId=await world.template_id("order_update"),
        audience={"source": "csv"},
        parameterMapping=mapping,
    )
    cid = campaign["id"]
    assert_error(await world.act(cid, "start"), 422, "audience_empty")

    response = await world.admin.post(
        f"/api/campaigns/{cid}/audience/csv", content=CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    upload = response.json()
    assert upload["rows"] == 5
    assert upload["recipients"] == 3
    assert upload["duplicates"] == 1
    assert upload["invalid"] == 1
    assert upload["invalidRows"][0]["line"] == 5
    assert upload["phoneColumn"] == "phone"
    assert upload["columns"] == ["first_name", "order"]
    assert upload["mappingProblems"] == []

    preview = (await world.admin.get(f"/api/campaigns/{cid}/preview")).json()
    assert preview["total"] == 5
    assert preview["eligible"] == 2
    assert preview["sample"]["rendered"].startswith("Hi ")

    await world.act(cid, "start")
    stats = await world.wait_for(cid, completed)
    assert stats["counts"]["skipped"] == 1
    async with db(world.app, world.tenant_id) as session:
        bodies = sorted(
            m.body_text or ""
            for m in (
                await session.execute(select(Message).where(Message.campaign_recipient_id.is_not(None)))
            ).scalars()
        )
    assert [b.split(".")[0] for b in bodies] == [
        "Hi Ana, your order #100 is now ready",
        "Hi Bruno, your order #200 is now ready",
    ]


async def test_the_preview_of_an_uploaded_csv_counts_every_row_with_the_reason_it_is_left_out(
    world: World,
) -> None:
    await world.add_contacts(1, prefix="1555720", start=1, opted_out=True)
    await world.add_contacts(1, prefix="1555720", start=4, blocked=True)
    campaign = await world.create(
        templateId=await world.template_id("order_update"),
        audience={"source": "csv"},
        parameterMapping={
            "body": {
                "1": {"source": "csv", "column": "first_name"},
                "2": {"source": "csv", "column": "order"},
                "3": {"source": "static", "value": "ready"},
            }
        },
    )
    cid = campaign["id"]
    empty = (await world.admin.get(f"/api/campaigns/{cid}/preview")).json()
    assert (empty["total"], empty["eligible"], empty["skipped"], empty["sample"]) == (0, 0, [], None)

    csv = (
        "phone,first_name,order\n"
        "+15557200001,Olga,#900\n"  # opted out: the sample is the next row's
        "+15557200002,Bruno,#901\n"
        "not a number,Carla,#902\n"
        "+1 555 720 0002,Bruno again,#903\n"
        "+15557200003,Dora,#904\n"
        "+15557200004,Ezra,#905\n"  # blocked
    )
    response = await world.admin.post(
        f"/api/campaigns/{cid}/audience/csv", content=csv.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text

    response = await world.admin.get(f"/api/campaigns/{cid}/preview")
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["total"] == 6
    assert preview["eligible"] == 2
    assert preview["skipped"] == [
        {"reason": "invalid_number", "count": 1},
        {"reason": "duplicate", "count": 1},
        {"reason": "opted_out", "count": 1},
        {"reason": "blocked", "count": 1},
    ]
    assert preview["sample"]["contact"]["waId"] == "15557200002"
    assert preview["sample"]["rendered"].startswith("Hi Bruno, your order #901 is now ready")
    assert preview["sample"]["problems"] == []
    assert preview["mappingProblems"] == []

    other = await register(world.http, "Preview Other Co")
    assert_error(await other.get(f"/api/campaigns/{cid}/preview"), 404)


async def test_a_csv_upload_needs_text_csv_and_a_csv_audience(world: World) -> None:
    contacts_campaign = await world.create(audience={"source": "contacts"})
    assert_error(
        await world.admin.post(
            f"/api/campaigns/{contacts_campaign['id']}/audience/csv",
            content=b"phone\n+15557100001\n",
            headers={"Content-Type": "text/csv"},
        ),
        422,
        "audience_not_csv",
    )
    csv_campaign = await world.create(audience={"source": "csv"})
    assert_error(
        await world.admin.post(f"/api/campaigns/{csv_campaign['id']}/audience/csv", json={"phone": "1"}),
        422,
        "csv_expected",
    )
    assert_error(
        await world.admin.post(
            f"/api/campaigns/{csv_campaign['id']}/audience/csv",
            content=b"",
            headers={"Content-Type": "text/csv"},
        ),
        422,
        "csv_empty",
    )


async def test_a_tagged_audience_is_written_batch_by_batch_with_any_or_all_tags_and_none_excluded(
    world: World,
) -> None:
    only_vip = await world.add_contacts(3, tags=["vip"], prefix="1555710")
    vip_spring = await world.add_contacts(3, tags=["vip", "spring"], prefix="1555711")
    banned = await world.add_contacts(2, tags=["vip", "spring", "banned"], prefix="1555712")
    opted_out = await world.add_contacts(1, tags=["spring"], prefix="1555713", opted_out=True)
    await world.add_contacts(2, tags=["other"], prefix="1555714")
    cases = [
        ({"tags": ["vip", "spring"]}, only_vip + vip_spring + banned + opted_out),
        ({"tags": ["vip", "spring"], "tagMatch": "all"}, vip_spring + banned),
        ({"tags": ["vip", "spring"], "excludeTags": ["banned"]}, only_vip + vip_spring + opted_out),
    ]
    for audience, expected in cases:
        created = await world.create(audience={"source": "contacts", **audience})
        async with db(world.app, world.tenant_id) as session:
            repo = CampaignRepository(session)
            campaign = await repo.get_for_update(uuid.UUID(created["id"]))
            assert campaign is not None
            after, batches = None, 0
            while True:  # batches of two, as the pump's batches of a thousand
                read, after = await repo.materialise_contacts(
                    campaign, campaign.audience, after=after, batch=2
                )
                batches += 1
                if read < 2:
                    break
            written = (
                await session.execute(
                    select(Contact.wa_id, CampaignRecipient.status, CampaignRecipient.skip_reason)
                    .join(Contact, Contact.id == CampaignRecipient.contact_id)
                    .where(CampaignRecipient.campaign_id == campaign.id)
                )
            ).all()
        assert sorted(wa_id for wa_id, _, _ in written) == sorted(expected), audience
        assert batches > 2
        for wa_id, status, reason in written:
            if wa_id in opted_out:
                assert (status, reason) == (RecipientStatus.SKIPPED, "opted_out")
            else:
                assert (status, reason) == (RecipientStatus.QUEUED, None)
