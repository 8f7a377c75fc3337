"""Templates: sending against approved templates, and the management API (create, review, list, delete)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from simulator_kit import CUSTOMER, PHONE_NUMBER_ID, VERSION, WABA_ID, load_payload

from wadesk.whatsapp.simulator import SimulatedTemplate

TEMPLATES_URL = f"/{VERSION}/{WABA_ID}/message_templates"


def template_message(
    name: str, language: str = "en_US", components: list[Any] | None = None
) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components is not None:
        template["components"] = components
    return {"messaging_product": "whatsapp", "to": "+" + CUSTOMER, "type": "template", "template": template}


def body_params(*values: str) -> dict[str, Any]:
    return {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}


def error_code(response: Any) -> int:
    code = response.json()["error"]["code"]
    assert isinstance(code, int)
    return code


# --- sending ---------------------------------------------------------------------------------------------------


async def test_template_with_the_right_parameters_is_accepted(harness):
    components = [
        {"type": "header", "parameters": [{"type": "text", "text": "Ana"}]},
        body_params("Monday", "10:00"),
    ]

    response = await harness.send(template_message("appointment_reminder", components=components))

    assert response.status_code == 200, response.text


async def test_unknown_template_name_is_132001(harness):
    response = await harness.send(template_message("no_such_template"))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 132001
    assert error["message"] == "(#132001) Template name does not exist in the translation"
    assert error["error_data"]["details"] == "template name (no_such_template) does not exist in en_US"


async def test_known_template_in_an_unknown_language_is_132001(harness):
    response = await harness.send(template_message("hello_world", language="pt_BR"))

    assert error_code(response) == 132001


async def test_pending_template_cannot_be_sent(harness):
    harness.sim.register_template(
        WABA_ID,
        SimulatedTemplate(
            name="not_yet",
            language="en_US",
            category="UTILITY",
            components=[{"type": "BODY", "text": "x"}],
            status="PENDING",
        ),
    )

    assert error_code(await harness.send(template_message("not_yet"))) == 132001


@pytest.mark.parametrize(("status", "code"), [("PAUSED", 132015), ("DISABLED", 132016)])
async def test_paused_and_disabled_templates_have_their_own_errors(harness, status, code):
    harness.sim.register_template(
        WABA_ID,
        SimulatedTemplate(
            name="tired",
            language="en_US",
            category="MARKETING",
            components=[{"type": "BODY", "text": "x"}],
            status=status,
        ),
    )

    assert error_code(await harness.send(template_message("tired"))) == code


@pytest.mark.parametrize(
    ("name", "components", "details"),
    [
        (
            "order_update",
            [body_params("Ana")],
            "body: number of localizable_params (1) does not match the expected number of params (2)",
        ),
        ("order_update", [body_params("Ana", "A-1", "extra")], "body: number of localizable_params (3)"),
        ("order_update", None, "body: number of localizable_params (0)"),
        ("hello_world", [body_params("unexpected")], "body: number of localizable_params (1)"),
        (
            "appointment_reminder",
            [body_params("Monday", "10:00")],
            "header: number of localizable_params (0)",
        ),
        (
            "spring_promo",
            [
                {
                    "type": "header",
                    "parameters": [{"type": "image", "image": {"link": "https://x.example/a.jpg"}}],
                },
                body_params("Ana"),
            ],
            "button at index 0",
        ),
    ],
)
async def test_wrong_parameter_count_is_132000(harness, name, components, details):
    response = await harness.send(template_message(name, components=components))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 132000
    assert error["message"] == "(#132000) Number of parameters does not match the expected number of params"
    assert details in error["error_data"]["details"]


async def test_header_media_of_the_wrong_kind_is_132012(harness):
    components = [
        {"type": "header", "parameters": [{"type": "video", "video": {"link": "https://x.example/a.mp4"}}]},
        body_params("Ana"),
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "spring"}],
        },
    ]

    assert error_code(await harness.send(template_message("spring_promo", components=components))) == 132012


async def test_media_header_template_with_all_parameters_is_accepted(harness):
    components = [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.example/a.jpg"}}]},
        body_params("Ana"),
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "spring"}],
        },
    ]

    assert (await harness.send(template_message("spring_promo", components=components))).status_code == 200


async def test_named_parameters_are_checked_by_name(harness):
    reference = load_payload("send_request_template_named_params.json")
    good = json.loads(json.dumps(reference).replace("+16505551234", "+" + CUSTOMER))

    assert (await harness.send(good)).status_code == 200

    wrong = copy.deepcopy(good)
    wrong["template"]["components"][0]["parameters"][1]["parameter_name"] = "order_id"
    assert error_code(await harness.send(wrong)) == 132000

    short = copy.deepcopy(good)
    del short["template"]["components"][0]["parameters"][1]
    assert error_code(await harness.send(short)) == 132000


async def test_template_send_requires_name_and_language(harness):
    body = template_message("hello_world")
    del body["template"]["language"]

    assert error_code(await harness.send(body)) == 100


# --- management ------------------------------------------------------------------------------------------------


async def test_create_answers_pending_then_posts_the_approval(harness):
    request = load_payload("template_create_request_utility_named_params.json")
    request["name"] = "order_confirmation_v2"  # the fixture WABA already has order_confirmation
    reference_answer = load_payload("template_create_response.json")
    reference_hook = load_payload("template_status_approved.json")

    response = await harness.client.post(TEMPLATES_URL, json=request, headers=harness.auth())

    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == set(reference_answer)
    assert answer["status"] == "PENDING"
    assert answer["category"] == "UTILITY"
    assert answer["id"].isdigit()

    await harness.sim.drain(timeout=5)
    [hook] = harness.receiver.of_field("message_template_status_update")
    assert hook.signature_valid
    assert list(hook.payload) == list(reference_hook)
    assert list(hook.payload["entry"][0]) == list(reference_hook["entry"][0])
    assert isinstance(hook.payload["entry"][0]["time"], int)
    value = hook.value
    assert list(value) == list(reference_hook["entry"][0]["changes"][0]["value"])
    assert value["event"] == "APPROVED"
    assert value["message_template_id"] == int(answer["id"])
    assert value["message_template_name"] == "order_confirmation_v2"
    assert value["message_template_language"] == "en_US"
    assert value["message_template_category"] == "UTILITY"
    assert value["reason"] == "NONE"

    listed = (
        await harness.client.get(TEMPLATES_URL, params={"name": request["name"]}, headers=harness.auth())
    ).json()
    statuses = {(t["language"], t["status"]) for t in listed["data"] if t["id"] == answer["id"]}
    assert statuses == {("en_US", "APPROVED")}


async def test_created_template_can_be_sent_once_approved(harness):
    request = load_payload("template_create_request_marketing_quick_replies.json")
    created = await harness.client.post(TEMPLATES_URL, json=request, headers=harness.auth())
    assert created.status_code == 200, created.text

    pending = template_message(
        request["name"], language="en", components=[body_params("August", "25OFF", "25%")]
    )
    header = {"type": "header", "parameters": [{"type": "text", "text": "Summer Sale"}]}
    pending["template"]["components"].insert(0, header)
    assert error_code(await harness.send(pending)) == 132001

    await harness.sim.drain(timeout=5)
    assert (await harness.send(pending)).status_code == 200


async def test_adjacent_placeholders_get_rejected_in_review(harness):
    request = {
        "name": "abandoned_cart",
        "language": "en",
        "category": "MARKETING",
        "components": [
            {"type": "BODY", "text": "Hi {{1}}{{2}} come back!", "example": {"body_text": [["Ana", "!"]]}}
        ],
    }

    response = await harness.client.post(TEMPLATES_URL, json=request, headers=harness.auth())
    assert response.status_code == 200
    await harness.sim.drain(timeout=5)

    reference = load_payload("template_status_rejected_invalid_format.json")["entry"][0]["changes"][0][
        "value"
    ]
    [hook] = harness.receiver.of_field("message_template_status_update")
    assert hook.value["event"] == "REJECTED"
    assert hook.value["reason"] == "INVALID_FORMAT"
    assert hook.value["rejection_info"] == reference["rejection_info"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"name": "Has Capitals"}, "lowercase"),
        ({"name": "x" * 513}, "lowercase"),
        ({"category": "PROMOTIONAL"}, "category"),
        ({"language": "english!"}, "language"),
        ({"components": []}, "components"),
        ({"components": [{"type": "FOOTER", "text": "bye"}]}, "BODY"),
        ({"components": [{"type": "BODY", "text": "Hi {{1}}, welcome"}]}, "example"),
        (
            {
                "components": [
                    {"type": "BODY", "text": "Hi {{1}} and {{2}}.", "example": {"body_text": [["Ana"]]}}
                ]
            },
            "example",
        ),
        (
            {
                "components": [
                    {"type": "BODY", "text": "Hi {{1}} and {{3}}!", "example": {"body_text": [["a", "b"]]}}
                ]
            },
            "numbered",
        ),
        (
            {"components": [{"type": "BODY", "text": "{{1}} is here", "example": {"body_text": [["Ana"]]}}]},
            "start or end",
        ),
        (
            {"components": [{"type": "BODY", "text": "Hi"}, {"type": "HEADER", "format": "IMAGE"}]},
            "header_handle",
        ),
        ({"components": [{"type": "BODY", "text": "Hi {{first_name}}!"}]}, "named"),
    ],
)
async def test_invalid_creations_are_refused(harness, change, fragment):
    request = {
        "name": "welcome_note",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Welcome aboard!"}],
    }
    request.update(change)

    response = await harness.client.post(TEMPLATES_URL, json=request, headers=harness.auth())

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["type"] == "OAuthException"
    assert fragment in error["error_user_title"] + " " + error["error_user_msg"]


async def test_same_name_and_language_cannot_be_created_twice(harness):
    request = {
        "name": "hello_world",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hello again"}],
    }

    response = await harness.client.post(TEMPLATES_URL, json=request, headers=harness.auth())

    assert response.status_code == 400
    assert response.json()["error"]["error_subcode"] == 2388024
    request["language"] = "es"
    assert (await harness.client.post(TEMPLATES_URL, json=request, headers=harness.auth())).status_code == 200


async def test_list_has_metas_shape(harness):
    reference = load_payload("templates_list_response.json")

    listed = (await harness.client.get(TEMPLATES_URL, headers=harness.auth())).json()

    assert set(listed) == set(reference)
    assert set(listed["paging"]["cursors"]) == set(reference["paging"]["cursors"])
    required = {"name", "components", "language", "status", "category", "id"}
    assert all(required <= set(item) for item in listed["data"])
    assert {t["name"] for t in listed["data"]} >= {"hello_world", "order_update", "appointment_reminder"}


async def test_list_pagination_walks_every_template_once(harness):
    for i in range(7):
        harness.sim.register_template(
            WABA_ID,
            SimulatedTemplate(
                name=f"extra_{i}",
                language="en_US",
                category="UTILITY",
                components=[{"type": "BODY", "text": "x"}],
            ),
        )
    total = len(harness.sim.templates(WABA_ID))
    names: list[str] = []
    params: dict[str, str] = {"limit": "3"}
    pages = 0
    while True:
        page = (await harness.client.get(TEMPLATES_URL, params=params, headers=harness.auth())).json()
        pages += 1
        assert len(page["data"]) <= 3
        names.extend(t["name"] for t in page["data"])
        if "next" not in page["paging"]:
            break
        assert "limit=3" in page["paging"]["next"]
        params = {"limit": "3", "after": page["paging"]["cursors"]["after"]}
    assert len(names) == total == len(set(names))
    assert pages == -(-total // 3)

    first = (await harness.client.get(TEMPLATES_URL, params={"limit": "3"}, headers=harness.auth())).json()
    assert first["paging"]["cursors"]["before"] == "MAZDZD"  # Meta's spelling of position 0
    second = (
        await harness.client.get(
            TEMPLATES_URL,
            params={"limit": "3", "after": first["paging"]["cursors"]["after"]},
            headers=harness.auth(),
        )
    ).json()
    back = (
        await harness.client.get(
            TEMPLATES_URL,
            params={"limit": "3", "before": second["paging"]["cursors"]["before"]},
            headers=harness.auth(),
        )
    ).json()
    assert [t["id"] for t in back["data"]] == [t["id"] for t in first["data"]]


async def test_list_filters_and_fields(harness):
    listed = (
        await harness.client.get(
            TEMPLATES_URL,
            params={"status": "approved", "fields": "name,status", "name": "order"},
            headers=harness.auth(),
        )
    ).json()

    assert {t["name"] for t in listed["data"]} == {"order_update", "order_confirmation"}
    assert all(set(t) == {"name", "status", "id"} for t in listed["data"])


async def test_an_empty_page_has_no_paging(harness):
    listed = (
        await harness.client.get(TEMPLATES_URL, params={"name": "nothing_like_this"}, headers=harness.auth())
    ).json()

    assert listed == {"data": []}


async def test_bad_cursor_is_error_100(harness):
    response = await harness.client.get(TEMPLATES_URL, params={"after": "%%%"}, headers=harness.auth())

    assert error_code(response) == 100


async def test_delete_by_name_removes_every_language(harness):
    harness.sim.register_template(
        WABA_ID,
        SimulatedTemplate(
            name="hello_world",
            language="es",
            category="UTILITY",
            components=[{"type": "BODY", "text": "Hola"}],
        ),
    )

    response = await harness.client.delete(
        TEMPLATES_URL, params={"name": "hello_world"}, headers=harness.auth()
    )

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert not [t for t in harness.sim.templates(WABA_ID) if t.name == "hello_world"]
    assert error_code(await harness.send(template_message("hello_world"))) == 132001
    again = await harness.client.delete(TEMPLATES_URL, params={"name": "hello_world"}, headers=harness.auth())
    assert again.status_code == 400


async def test_get_template_by_id(harness):
    template = next(t for t in harness.sim.templates(WABA_ID) if t.name == "order_update")

    found = (
        await harness.client.get(
            f"/{VERSION}/{template.id}", params={"fields": "status"}, headers=harness.auth()
        )
    ).json()

    assert found == {"status": "APPROVED", "id": template.id}


async def test_edit_sends_the_template_back_to_review(harness):
    template = next(t for t in harness.sim.templates(WABA_ID) if t.name == "hello_world")

    response = await harness.client.post(
        f"/{VERSION}/{template.id}",
        json={
            "components": [
                {"type": "BODY", "text": "Hello there, {{1}}!", "example": {"body_text": [["Ana"]]}}
            ]
        },
        headers=harness.auth(),
    )

    assert response.json() == {"success": True}
    assert template.status == "PENDING"
    await harness.sim.drain(timeout=5)
    assert template.status == "APPROVED"
    assert (
        await harness.send(template_message("hello_world", components=[body_params("Ana")]))
    ).status_code == 200


async def test_management_calls_need_the_wabas_token(harness):
    response = await harness.client.get(TEMPLATES_URL, headers=harness.auth("wrong"))

    assert response.status_code == 401
    assert error_code(response) == 190


async def test_unknown_waba_is_error_100(harness):
    response = await harness.client.get(f"/{VERSION}/424242/message_templates", headers=harness.auth())

    assert error_code(response) == 100


async def test_phone_number_info(harness):
    info = (await harness.client.get(f"/{VERSION}/{PHONE_NUMBER_ID}", headers=harness.auth())).json()

    assert info["id"] == PHONE_NUMBER_ID
    assert info["display_phone_number"] == "+1 555-000-0000"
    assert info["quality_rating"] == "GREEN"
    assert info["throughput"] == {"level": "STANDARD"}
    assert info["messaging_limit_tier"] == "TIER_250"
    assert "verified_name" in info

    only = (
        await harness.client.get(
            f"/{VERSION}/{PHONE_NUMBER_ID}", params={"fields": "throughput"}, headers=harness.auth()
        )
    ).json()
    assert only == {"throughput": {"level": "STANDARD"}, "id": PHONE_NUMBER_ID}

    numbers = (await harness.client.get(f"/{VERSION}/{WABA_ID}/phone_numbers", headers=harness.auth())).json()
    assert [n["id"] for n in numbers["data"]] == [PHONE_NUMBER_ID]
