"""The template lifecycle against the built-in Cloud API simulator: sync (every page), submission with Meta's
validation applied first, approval arriving by webhook, preview with the sender's renderer, deletion."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pipeline_kit import capture_events, connect_number, settle, simulated_app, simulator_of, sync_numbers

from conftest import PAYLOADS, Account, assert_error, login, register
from wadesk.config import Settings
from wadesk.templates.lifecycle import sync_all_tenants
from wadesk.whatsapp.simulator import SimulatedTemplate

PHONE_NUMBER_ID = "5550007001"
WABA_ID = "8880007001"
TOKEN = "templates-test-access-token"


@dataclass
class World:
    app: FastAPI
    http: httpx.AsyncClient
    admin: Account
    agent: Account

    @property
    def simulator_templates(self) -> list[SimulatedTemplate]:
        return simulator_of(self.app).templates(WABA_ID)


@pytest_asyncio.fixture(loop_scope="session")
async def world(settings: Settings) -> AsyncIterator[World]:
    async with simulated_app(settings) as app:
        simulator_of(app).config.template_review_delay = 0.05
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            admin = await register(http, "Templates Co")
            await connect_number(admin, PHONE_NUMBER_ID, WABA_ID, "+1 555 000 7001", token=TOKEN)
            response = await admin.post(
                "/api/users",
                json={
                    "email": "agent@templates.example",
                    "name": "Agent",
                    "password": "correct horse battery",
                },
            )
            assert response.status_code == 201, response.text
            agent = await login(http, "agent@templates.example", "correct horse battery")
            await sync_numbers(app)
            yield World(app, http, admin, agent)


def order_template(name: str = "order_shipped", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Order {{1}}",
                "example": {"header_text": ["#4521"]},
            },
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} ships today. Track it with the button below.",
                "example": {"body_text": [["Maria", "#4521"]]},
            },
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Track order",
                        "url": "https://shop.example/track/{{1}}",
                        "example": ["https://shop.example/track/4521"],
                    },
                    {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550001234"},
                ],
            },
        ],
    }
    body.update(changes)
    return body


# --- sync -----------------------------------------------------------------------------------------------------


async def test_sync_fetches_every_page_and_keeps_templates_current(world: World) -> None:
    simulator = simulator_of(world.app)
    for i in range(130):
        simulator.register_template(
            WABA_ID,
            SimulatedTemplate(
                name=f"promo_{i:03d}",
                language="en_US",
                category="MARKETING",
                components=[{"type": "BODY", "text": f"Offer number {i} is here."}],
            ),
        )
    response = await world.admin.post("/api/templates/sync")
    assert response.status_code == 200, response.text
    assert response.json() == {"wabas": 1, "created": 130, "updated": 0, "removed": 0}
    first = (await world.agent.get("/api/templates", params={"limit": 100})).json()
    second = (
        await world.agent.get("/api/templates", params={"limit": 100, "cursor": first["nextCursor"]})
    ).json()
    assert len(first["items"]) + len(second["items"]) == 130
    assert first["items"][0]["status"] == "APPROVED"
    assert first["items"][0]["metaTemplateId"]

    again = (await world.admin.post("/api/templates/sync", json={"phoneNumberId": PHONE_NUMBER_ID})).json()
    assert again == {"wabas": 1, "created": 0, "updated": 0, "removed": 0}

    paused = next(t for t in simulator.templates(WABA_ID) if t.name == "promo_007")
    paused.status = "PAUSED"
    # Deleted in WhatsApp Manager, behind the app's back.
    deleted = await world.http.delete(
        f"/simulator/v23.0/{WABA_ID}/message_templates",
        params={"name": "promo_008"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert deleted.json() == {"success": True}
    tenant_id = world.admin.tenant_id
    async with capture_events(world.app, tenant_id) as captured:
        report = (await world.admin.post("/api/templates/sync")).json()
    assert report == {"wabas": 1, "created": 0, "updated": 1, "removed": 1}
    statuses = {e.data["name"]: e.data["status"] for e in captured.of_type("template.updated")}
    assert statuses == {"promo_007": "PAUSED", "promo_008": "DELETED"}
    listed = (await world.agent.get("/api/templates", params={"name": "promo_007"})).json()["items"]
    assert [t["status"] for t in listed] == ["PAUSED"]


async def test_the_periodic_job_syncs_every_company(world: World) -> None:
    simulator_of(world.app).register_template(
        WABA_ID,
        SimulatedTemplate(
            name="welcome_back",
            language="pt_BR",
            category="MARKETING",
            components=[{"type": "BODY", "text": "Oi!"}],
        ),
    )
    assert await sync_all_tenants(world.app.state.runtime) >= 1
    items = (await world.agent.get("/api/templates", params={"name": "welcome_back"})).json()["items"]
    assert [(t["language"], t["status"]) for t in items] == [("pt_BR", "APPROVED")]


# --- submission -----------------------------------------------------------------------------------------------


async def test_a_valid_template_is_submitted_and_its_approval_arrives_by_webhook(world: World) -> None:
    async with capture_events(world.app, world.admin.tenant_id) as captured:
        response = await world.admin.post("/api/templates", json=order_template())
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "PENDING"
        assert created["metaTemplateId"]
        assert created["parameters"] == {
            "headerText": ["1"],
            "headerMedia": None,
            "body": ["1", "2"],
            "buttons": {"0": ["1"]},
        }
        assert [t.name for t in world.simulator_templates] == ["order_shipped"]
        await settle(world.app)
    template = (await world.agent.get(f"/api/templates/{created['id']}")).json()
    assert template["status"] == "APPROVED"
    assert [e.data["status"] for e in captured.about("template.updated", created["id"])][-1] == "APPROVED"
    audit = (await world.admin.get("/api/audit", params={"action": "template.submitted"})).json()["items"]
    assert audit[0]["targetId"] == created["id"]
    assert audit[0]["details"]["name"] == "order_shipped"


async def test_a_named_parameter_template_from_metas_example_is_accepted(world: World) -> None:
    body = json.loads((PAYLOADS / "template_create_request_utility_named_params.json").read_text())
    response = await world.admin.post("/api/templates", json={**body, "phoneNumberId": PHONE_NUMBER_ID})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["parameterFormat"] == "NAMED"
    assert created["parameters"]["body"] == ["first_name", "order_number"]
    await settle(world.app)
    preview = await world.agent.post(
        f"/api/templates/{created['id']}/preview",
        json={"parameters": {"first_name": "Pablo", "order_number": "860198"}},
    )
    assert preview.json()["body"] == "Thank you, Pablo! Your order number is 860198."
    assert preview.json()["sendable"] is True


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("name with capitals", {"name": "Order Update"}, "name", "lowercase letters, digits and underscores"),
    ("unknown category", {"category": "PROMOTION"}, "category", "MARKETING, UTILITY, AUTHENTICATION"),
    ("unknown language", {"language": "xx_XX"}, "language", "not a language WhatsApp templates support"),
]


def _with_component(index: int, **changes: Any) -> dict[str, Any]:
    body = order_template()
    body["components"][index] = {**body["components"][index], **changes}
    return body


def _with_buttons(buttons: list[dict[str, Any]]) -> dict[str, Any]:
    body = order_template()
    body["components"][3] = {"type": "BUTTONS", "buttons": buttons}
    return body


INVALID_COMPONENTS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "body parameters with a gap",
        _with_component(1, text="Hi {{1}}, your order {{3}} ships.", example={"body_text": [["a", "b"]]}),
        "components[1].text",
        "numbered {{1}}, {{2}}, … in sequence",
    ),
    (
        "body parameters without examples",
        _with_component(1, example=None),
        "components[1].example",
        "give an example value for each",
    ),
    (
        "too few examples",
        _with_component(1, example={"body_text": [["Maria"]]}),
        "components[1].example.body_text",
        "one non-empty example each",
    ),
    (
        "body ending with a parameter",
        _with_component(1, text="Your code is {{1}}", example={"body_text": [["123"]]}),
        "components[1].text",
        "cannot start or end with a parameter",
    ),
    (
        "adjacent parameters",
        _with_component(1, text="Hi {{1}}{{2}} there.", example={"body_text": [["a", "b"]]}),
        "components[1].text",
        "next to each other",
    ),
    (
        "named parameters in a positional template",
        _with_component(1, text="Hi {{name}}, thanks.", example={"body_text": [["Ana"]]}),
        "components[1].text",
        "set it to NAMED",
    ),
    (
        "body too long",
        _with_component(1, text="x" * 1025, example=None),
        "components[1].text",
        "limit is 1024",
    ),
    (
        "header text too long",
        _with_component(0, text="H" * 61, example=None),
        "components[0].text",
        "limit is 60",
    ),
    (
        "two header parameters",
        _with_component(0, text="{{1}} and {{2}}", example={"header_text": ["a", "b"]}),
        "components[0].text",
        "at most one parameter",
    ),
    (
        "image header without a sample",
        _with_component(0, format="IMAGE", text=None, example=None),
        "components[0].example.header_handle",
        "upload a sample image",
    ),
    (
        "footer with a parameter",
        _with_component(2, text="Ref {{1}}"),
        "components[2].text",
        "cannot contain parameters",
    ),
    (
        "quick reply text too long",
        _with_buttons([{"type": "QUICK_REPLY", "text": "This label is far too long for a button"}]),
        "components[3].buttons[0].text",
        "limit is 25",
    ),
    (
        "URL button without an absolute URL",
        _with_buttons([{"type": "URL", "text": "Shop", "url": "shop.example"}]),
        "components[3].buttons[0].url",
        "absolute http:// or https:// URL",
    ),
    (
        "URL parameter not at the end",
        _with_buttons(
            [{"type": "URL", "text": "Shop", "url": "https://x.example/{{1}}/go", "example": ["x"]}]
        ),
        "components[3].buttons[0].url",
        "only at its end",
    ),
    (
        "three URL buttons",
        _with_buttons(
            [{"type": "URL", "text": f"Link {i}", "url": f"https://x.example/{i}"} for i in range(3)]
        ),
        "components[3].buttons",
        "at most 2 URL button(s)",
    ),
    (
        "phone button without a number",
        _with_buttons([{"type": "PHONE_NUMBER", "text": "Call", "phone_number": "call us"}]),
        "components[3].buttons[0].phone_number",
        "international format",
    ),
    (
        "copy code without an example",
        _with_buttons([{"type": "COPY_CODE"}]),
        "components[3].buttons[0].example",
        "needs an example code",
    ),
    (
        "quick replies not grouped",
        _with_buttons(
            [
                {"type": "QUICK_REPLY", "text": "Yes"},
                {"type": "URL", "text": "Shop", "url": "https://x.example"},
                {"type": "QUICK_REPLY", "text": "No"},
            ]
        ),
        "components[3].buttons",
        "grouped together",
    ),
    (
        "OTP button outside authentication",
        _with_buttons([{"type": "OTP", "otp_type": "COPY_CODE"}]),
        "components[3].buttons[0].type",
        "only for AUTHENTICATION",
    ),
    ("no body", {**order_template(), "components": order_template()["components"][:1]}, "components", "BODY"),
]


@pytest.mark.parametrize(
    ("changes", "path", "reason"),
    [
        pytest.param(changes, path, reason, id=case)
        for case, changes, path, reason in INVALID + INVALID_COMPONENTS
    ],
)
async def test_an_invalid_definition_is_refused_before_submission_with_the_exact_reason(
    world: World, changes: dict[str, Any], path: str, reason: str
) -> None:
    body = {**order_template(), **copy.deepcopy(changes)}
    error = assert_error(await world.admin.post("/api/templates", json=body), 422, "template_invalid")
    problems = error["details"]["problems"]
    assert any(p["path"] == path and reason in p["message"] for p in problems), problems
    assert error["message"].startswith(f"{problems[0]['path']}: ")
    assert world.simulator_templates == []
    checked = (await world.agent.post("/api/templates/validate", json=body)).json()
    assert checked["valid"] is False
    assert checked["problems"] == problems


async def test_an_authentication_template_with_its_otp_button_is_valid(world: World) -> None:
    body = {
        "name": "login_code",
        "language": "en_US",
        "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "FOOTER", "code_expiration_minutes": 10},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
        ],
    }
    checked = (await world.agent.post("/api/templates/validate", json=body)).json()
    assert checked == {"valid": True, "problems": []}


async def test_what_meta_refuses_is_reported_with_metas_reason(world: World) -> None:
    simulator_of(world.app).register_template(
        WABA_ID,
        SimulatedTemplate(name="order_shipped", language="en_US", category="UTILITY", components=[]),
    )
    error = assert_error(
        await world.admin.post("/api/templates", json=order_template()), 422, "whatsapp_error"
    )
    assert "already exists" in error["message"]


async def test_a_template_already_stored_is_a_conflict(world: World) -> None:
    assert (await world.admin.post("/api/templates", json=order_template())).status_code == 201
    assert_error(await world.admin.post("/api/templates", json=order_template()), 409, "template_exists")


# --- sending and preview --------------------------------------------------------------------------------------


async def test_sending_a_pending_or_incomplete_template_is_refused_before_meta(world: World) -> None:
    simulator_of(world.app).config.template_review_delay = 1.0  # still in review during the first send
    created = (await world.admin.post("/api/templates", json=order_template())).json()
    send = {
        "phoneNumberId": PHONE_NUMBER_ID,
        "to": "+15551230077",
        "type": "template",
        "template": {"name": "order_shipped", "language": "en_US", "parameters": ["Ana", "#9"]},
    }
    assert_error(await world.agent.post("/api/messages", json=send), 422, "template_not_approved")
    await settle(world.app)
    assert (await world.agent.get(f"/api/templates/{created['id']}")).json()["status"] == "APPROVED"
    error = assert_error(
        await world.agent.post("/api/messages", json=send), 422, "template_parameters_invalid"
    )
    assert "the header needs 1 parameter(s), got 0" in error["details"]["problems"]
    preview = (
        await world.agent.post(f"/api/templates/{created['id']}/preview", json={"parameters": ["Ana", "#9"]})
    ).json()
    assert preview["problems"] == error["details"]["problems"]
    assert preview["sendable"] is False
    assert simulator_of(world.app).sent_messages == []


async def test_the_preview_is_what_the_sender_renders(world: World) -> None:
    created = (await world.admin.post("/api/templates", json=order_template())).json()
    await settle(world.app)
    components = [
        {"type": "header", "parameters": [{"type": "text", "text": "#77"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#77"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "77"}]},
    ]
    preview = (
        await world.agent.post(f"/api/templates/{created['id']}/preview", json={"components": components})
    ).json()
    assert preview["header"] == "Order #77"
    assert preview["body"] == "Hi Ana, your order #77 ships today. Track it with the button below."
    assert preview["footer"] == "Reply STOP to opt out"
    assert [b["type"] for b in preview["buttons"]] == ["URL", "PHONE_NUMBER"]
    assert preview["sendable"] is True
    send = {
        "phoneNumberId": PHONE_NUMBER_ID,
        "to": "+15551230078",
        "type": "template",
        "template": {"name": "order_shipped", "language": "en_US", "components": components},
    }
    response = await world.agent.post("/api/messages", json=send)
    assert response.status_code == 202, response.text
    assert response.json()["content"]["rendered"] == preview["rendered"]


# --- deletion and roles ---------------------------------------------------------------------------------------


async def test_deleting_removes_the_template_at_meta_and_here(world: World) -> None:
    created = (await world.admin.post("/api/templates", json=order_template())).json()
    assert_error(await world.agent.delete(f"/api/templates/{created['id']}"), 403)
    assert (await world.admin.delete(f"/api/templates/{created['id']}")).status_code == 204
    assert world.simulator_templates == []
    assert_error(await world.agent.get(f"/api/templates/{created['id']}"), 404)
    audit = (await world.admin.get("/api/audit", params={"action": "template."})).json()["items"]
    assert [a["action"] for a in audit] == ["template.deleted", "template.submitted"]


async def test_agents_read_and_preview_but_do_not_manage(world: World) -> None:
    assert_error(await world.agent.post("/api/templates", json=order_template()), 403)
    assert_error(await world.agent.post("/api/templates/sync"), 403)
    assert (await world.agent.get("/api/templates")).status_code == 200


async def test_another_companys_templates_are_invisible(world: World) -> None:
    created = (await world.admin.post("/api/templates", json=order_template())).json()
    other = await register(world.http, "Other Templates Co")
    assert_error(await other.get(f"/api/templates/{created['id']}"), 404)
    assert_error(await other.post(f"/api/templates/{created['id']}/preview", json={}), 404)
    assert_error(await other.delete(f"/api/templates/{created['id']}"), 404)
    assert (await other.get("/api/templates")).json()["items"] == []
    assert_error(await other.post("/api/templates", json=order_template()), 422, "no_phone_number")
    assert [t.name for t in world.simulator_templates] == ["order_shipped"]
