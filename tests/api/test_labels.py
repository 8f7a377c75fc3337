"""The label catalogue: every label in use has a colour; administrators rename, recolour and delete labels,
and a rename or a delete reaches every conversation carrying the label (its rows for the filter and the list
it shows)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from pipeline_kit import capture_events

from conftest import Account, assert_error, register

MARIA = "15551234001"
JAMES = "15551234002"
COLORS = {
    "gray",
    "red",
    "pink",
    "grape",
    "violet",
    "indigo",
    "blue",
    "cyan",
    "teal",
    "green",
    "lime",
    "yellow",
    "orange",
}


async def conversation_of(account: Account, wa_id: str) -> dict[str, Any]:
    (found,) = (await account.get("/api/conversations", params={"search": wa_id})).json()["items"]
    return dict(found)


async def set_labels(account: Account, conversation: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    response = await account.request(
        "PUT", f"/api/conversations/{conversation['id']}/labels", json={"labels": labels}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def catalogue(account: Account) -> dict[str, dict[str, Any]]:
    response = await account.get("/api/labels")
    assert response.status_code == 200, response.text
    return {label["label"]: label for label in response.json()}


async def labelled(account: Account, label: str) -> set[str]:
    response = await account.get("/api/conversations", params={"label": label})
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


async def test_labels_set_on_conversations_join_the_catalogue_with_a_colour(
    app: FastAPI, demo: dict[str, Account]
) -> None:
    agent = demo["agent"]
    maria = await conversation_of(agent, MARIA)
    async with capture_events(app, agent.tenant_id) as captured:
        await set_labels(agent, maria, ["VIP", "Refund"])
    labels = await catalogue(agent)
    assert set(labels) == {"vip", "refund"}
    assert all(label["color"] in COLORS and label["count"] == 1 for label in labels.values())
    assert {e.data["label"] for e in captured.of_type("label.created")} == {"vip", "refund"}
    # The same name keeps its colour wherever it is added.
    again = labels["vip"]["color"]
    await set_labels(agent, await conversation_of(agent, JAMES), ["vip"])
    assert (await catalogue(agent))["vip"] == {**labels["vip"], "count": 2, "color": again}


async def test_anyone_adds_a_label_with_its_colour_once(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    response = await agent.post("/api/labels", json={"label": "  Needs   Callback ", "color": "orange"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["label"], created["color"], created["count"]) == ("needs callback", "orange", 0)
    assert (await catalogue(agent))["needs callback"]["id"] == created["id"]
    assert_error(await agent.post("/api/labels", json={"label": "NEEDS CALLBACK"}), 409, "label_exists")
    assert_error(await agent.post("/api/labels", json={"label": "x", "color": "chartreuse"}), 422)
    assert_error(await agent.post("/api/labels", json={"label": "   "}), 422)
    assert_error(await agent.post("/api/labels", json={"label": "x" * 65}), 422)


async def test_an_admin_renames_a_label_on_every_conversation(app: FastAPI, demo: dict[str, Account]) -> None:
    admin, agent = demo["admin"], demo["agent"]
    maria, james = await conversation_of(agent, MARIA), await conversation_of(agent, JAMES)
    await set_labels(agent, maria, ["vip", "refund"])
    await set_labels(agent, james, ["vip"])
    vip = (await catalogue(agent))["vip"]

    assert_error(await agent.patch(f"/api/labels/{vip['id']}", json={"label": "gold"}), 403, "admin_required")
    assert_error(await admin.patch(f"/api/labels/{vip['id']}", json={"label": "Refund"}), 409, "label_exists")
    async with capture_events(app, admin.tenant_id) as captured:
        response = await admin.patch(f"/api/labels/{vip['id']}", json={"label": "Gold", "color": "yellow"})
    assert response.status_code == 200, response.text
    assert response.json() == {"id": vip["id"], "label": "gold", "color": "yellow", "count": 2}
    [event] = captured.of_type("label.updated")
    assert (event.data["previous"], event.data["label"]) == ("vip", "gold")

    assert await labelled(agent, "gold") == {maria["id"], james["id"]}
    assert await labelled(agent, "vip") == set()
    assert (await agent.get(f"/api/conversations/{maria['id']}")).json()["labels"] == ["gold", "refund"]
    assert (await agent.get(f"/api/conversations/{james['id']}")).json()["labels"] == ["gold"]
    assert set(await catalogue(agent)) == {"gold", "refund"}
    audit = (await admin.get("/api/audit", params={"action": "label.renamed"})).json()["items"]
    assert audit[0]["details"]["label"] == {"before": "vip", "after": "gold"}

    recoloured = await admin.patch(f"/api/labels/{vip['id']}", json={"color": "grape"})
    assert (recoloured.json()["label"], recoloured.json()["color"]) == ("gold", "grape")


async def test_an_admin_deletes_a_label_from_every_conversation(
    app: FastAPI, demo: dict[str, Account]
) -> None:
    admin, agent = demo["admin"], demo["agent"]
    maria, james = await conversation_of(agent, MARIA), await conversation_of(agent, JAMES)
    await set_labels(agent, maria, ["spam", "vip"])
    await set_labels(agent, james, ["spam"])
    spam = (await catalogue(agent))["spam"]
    assert_error(await agent.delete(f"/api/labels/{spam['id']}"), 403)
    async with capture_events(app, admin.tenant_id) as captured:
        assert (await admin.delete(f"/api/labels/{spam['id']}")).status_code == 204
    assert [e.data["label"] for e in captured.of_type("label.deleted")] == ["spam"]
    assert await labelled(agent, "spam") == set()
    assert (await agent.get(f"/api/conversations/{maria['id']}")).json()["labels"] == ["vip"]
    assert (await agent.get(f"/api/conversations/{james['id']}")).json()["labels"] == []
    assert set(await catalogue(agent)) == {"vip"}
    assert_error(await admin.delete(f"/api/labels/{spam['id']}"), 404)


async def test_another_companys_labels_are_invisible(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    agent = demo["agent"]
    await set_labels(agent, await conversation_of(agent, MARIA), ["vip"])
    vip = (await catalogue(agent))["vip"]
    other = await register(client, "Label Thieves Co")
    assert await catalogue(other) == {}
    assert_error(await other.patch(f"/api/labels/{vip['id']}", json={"label": "stolen"}), 404)
    assert_error(await other.delete(f"/api/labels/{vip['id']}"), 404)
    # The same name is free for them, with its own row.
    assert (await other.post("/api/labels", json={"label": "vip"})).status_code == 201
    assert (await catalogue(agent))["vip"] == vip
