"""Contacts through the API: numbers in any format become one WhatsApp user, tags and attributes filter,
opt-out and block stop sending, duplicates merge, CSV comes in (row by row, idempotently) and goes out."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx

from conftest import Account, assert_error, register
from wadesk.contacts.service import IMPORT_MAX_BYTES


async def create(account: Account, **body: Any) -> dict[str, Any]:
    response = await account.post("/api/contacts", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def import_csv(account: Account, text: str | bytes) -> httpx.Response:
    content = text.encode() if isinstance(text, str) else text
    return await account.post("/api/contacts/import", content=content, headers={"Content-Type": "text/csv"})


async def listed(account: Account, **params: Any) -> list[dict[str, Any]]:
    response = await account.get("/api/contacts", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- numbers and identity -------------------------------------------------------------------------------------


async def test_a_number_in_any_format_is_stored_as_e164(demo: dict[str, Account]) -> None:
    contact = await create(demo["agent"], phone="+55 (11) 98765-4321", name="Ana Souza")
    assert contact["waId"] == "5511987654321"
    assert contact["phone"] == "+5511987654321"
    assert contact["name"] == "Ana Souza"
    assert contact["savedName"] == "Ana Souza"


async def test_brazilian_mobile_without_the_ninth_digit_is_the_same_whatsapp_user(
    demo: dict[str, Account],
) -> None:
    first = await create(demo["agent"], phone="+55 11 98765-4321")
    response = await demo["agent"].post("/api/contacts", json={"phone": "+55 11 8765-4321"})
    error = assert_error(response, 409, "contact_exists")
    assert error["details"]["contactId"] == first["id"]
    assert "same WhatsApp user" in error["message"]


async def test_argentine_mobile_with_or_without_the_9_is_the_same_whatsapp_user(
    demo: dict[str, Account],
) -> None:
    first = await create(demo["agent"], phone="+54 11 2345-6789")
    response = await demo["agent"].post("/api/contacts", json={"phone": "+54 9 11 2345-6789"})
    assert assert_error(response, 409, "contact_exists")["details"]["contactId"] == first["id"]


async def test_a_brazilian_landline_is_not_confused_with_a_mobile(demo: dict[str, Account]) -> None:
    await create(demo["agent"], phone="+55 11 3456-7890")
    # 9 + a landline number is a different (mobile) number, not a variant of it.
    await create(demo["agent"], phone="+55 11 93456-7890")


async def test_an_impossible_number_is_refused_with_the_reason(demo: dict[str, Account]) -> None:
    response = await demo["agent"].post("/api/contacts", json={"phone": "+1 555 12"})
    assert_error(response, 422, "invalid_phone_number")
    response = await demo["agent"].post("/api/contacts", json={"phone": "+999 1234 5678"})
    error = assert_error(response, 422, "invalid_phone_number")
    assert "country code" in error["message"]
    response = await demo["agent"].post("/api/contacts", json={"name": "No number"})
    assert_error(response, 422, "phone_required")


async def test_an_inbound_message_from_a_national_variant_reaches_the_existing_contact(
    app: Any, demo: dict[str, Account]
) -> None:
    from pipeline_kit import post_webhook, settle

    from wadesk.whatsapp.simulator import InboundMessage, build_inbound_message_payload

    contact = await create(demo["agent"], phone="+55 21 99876-5432", name="Bruno")
    payload = build_inbound_message_payload(
        InboundMessage(phoneNumberId="1234567890", sender="552198765432", text="Oi", name="Bruno P."),
        waba_id="9876543210",
        display_phone_number="15550000000",
    )
    assert (await post_webhook(demo["agent"].http, payload)).status_code == 200
    await settle(app)
    detail = (await demo["agent"].get(f"/api/contacts/{contact['id']}")).json()
    assert [c["contact"]["id"] for c in detail["conversations"]] == [contact["id"]]
    assert detail["profileName"] == "Bruno P."
    assert detail["lastSeenAt"] is not None
    assert len(await listed(demo["agent"], search="98765432")) == 1
    assert [c["id"] for c in await listed(demo["agent"], lastSeenAfter="2000-01-01T00:00:00Z")] == [
        contact["id"]
    ]
    assert await listed(demo["agent"], lastSeenBefore="2000-01-01T00:00:00Z") == []


# --- reading and editing --------------------------------------------------------------------------------------


async def test_get_shows_the_contact_with_its_conversations(demo: dict[str, Account]) -> None:
    maria = (await listed(demo["agent"], search="15551234001"))[0]
    detail = (await demo["agent"].get(f"/api/contacts/{maria['id']}")).json()
    assert detail["waId"] == "15551234001"
    assert len(detail["conversations"]) == 1
    assert detail["conversations"][0]["contact"]["waId"] == "15551234001"


async def test_search_finds_by_name_number_and_business_scoped_id(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    await create(agent, phone="+44 7700 900123", name="Olivia Brown")
    assert [c["name"] for c in await listed(agent, search="olivia")] == ["Olivia Brown"]
    assert [c["name"] for c in await listed(agent, search="+44 7700 900")] == ["Olivia Brown"]
    assert await listed(agent, search="nobody-by-that-name") == []


async def test_tags_attributes_and_flags_are_edited_and_filtered(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    contact = await create(
        agent, phone="+33 6 12 34 56 78", tags=["VIP", " Paris "], attributes={"plan": "gold"}
    )
    assert contact["tags"] == ["vip", "paris"]
    response = await agent.patch(
        f"/api/contacts/{contact['id']}",
        json={"tags": ["vip", "wholesale"], "attributes": {"plan": None, "city": "Lyon"}, "optedOut": True},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["tags"] == ["vip", "wholesale"]
    assert updated["attributes"] == {"city": "Lyon"}
    assert updated["optedOut"] is True
    assert [c["id"] for c in await listed(agent, tag="Wholesale")] == [contact["id"]]
    assert await listed(agent, tag="paris") == []
    assert contact["id"] in [c["id"] for c in await listed(agent, optedOut="true")]
    assert contact["id"] not in [c["id"] for c in await listed(agent, optedOut="false")]
    tags = {t["tag"]: t["count"] for t in (await agent.get("/api/contacts/tags")).json()}
    assert tags["wholesale"] == 1
    assert tags["demo"] == 5


async def attribute_keys(account: Account) -> dict[str, int]:
    response = await account.get("/api/contacts/attribute-keys")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [k["key"] for k in body] == sorted(k["key"] for k in body)
    return {k["key"]: k["count"] for k in body}


async def test_attribute_keys_in_use_are_listed_sorted_with_their_contact_counts(
    client: httpx.AsyncClient,
) -> None:
    company = await register(client, "Attribute Keys Co")
    assert await attribute_keys(company) == {}
    await create(company, phone="+33 6 12 34 56 01", attributes={"plan": "gold", "city": "Lyon"})
    await create(company, phone="+33 6 12 34 56 02", attributes={"plan": "silver", "vat.id": "FR1"})
    gone = await create(company, phone="+33 6 12 34 56 03", attributes={"loyalty": 3})
    await create(company, phone="+33 6 12 34 56 04")
    assert await attribute_keys(company) == {"city": 1, "loyalty": 1, "plan": 2, "vat.id": 1}
    # A deleted contact's keys and a removed attribute are no longer in use.
    assert (await company.delete(f"/api/contacts/{gone['id']}")).status_code == 204
    city = (await listed(company, search="33612345601"))[0]
    await company.patch(f"/api/contacts/{city['id']}", json={"attributes": {"city": None}})
    assert await attribute_keys(company) == {"plan": 2, "vat.id": 1}


async def test_attribute_keys_of_two_companies_never_mix(client: httpx.AsyncClient) -> None:
    one, other = await register(client, "Keys One"), await register(client, "Keys Other")
    await create(one, phone="+33 6 12 34 56 11", attributes={"one_only": "x", "shared": "a"})
    await create(other, phone="+33 6 12 34 56 11", attributes={"shared": "b"})
    await create(other, phone="+33 6 12 34 56 12", attributes={"shared": "c", "other_only": 1})
    assert await attribute_keys(one) == {"one_only": 1, "shared": 1}
    assert await attribute_keys(other) == {"other_only": 1, "shared": 2}


async def test_the_list_pages_with_a_cursor(demo: dict[str, Account]) -> None:
    first = (await demo["agent"].get("/api/contacts", params={"limit": 2})).json()
    assert len(first["items"]) == 2
    assert first["nextCursor"]
    second = (
        await demo["agent"].get("/api/contacts", params={"limit": 2, "cursor": first["nextCursor"]})
    ).json()
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}
    assert_error(
        await demo["agent"].get("/api/contacts", params={"cursor": "garbage"}), 400, "invalid_cursor"
    )


async def test_bad_input_is_a_422_naming_the_field(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    assert_error(await agent.post("/api/contacts", json={"phone": "+15551230000", "tags": [""]}), 422)
    assert_error(await agent.post("/api/contacts", json={"phone": "+15551230000", "colour": "red"}), 422)
    response = await agent.post("/api/contacts", json={"phone": "+15551230000", "attributes": {"a b": 1}})
    assert "attribute name" in assert_error(response, 422)["message"]


async def test_opted_out_and_blocked_contacts_are_not_messaged(demo: dict[str, Account]) -> None:
    agent = demo["agent"]
    maria = (await listed(agent, search="15551234001"))[0]
    send = {"phoneNumberId": "1234567890", "to": "+15551234001", "type": "text", "text": "Hello"}
    await agent.patch(f"/api/contacts/{maria['id']}", json={"optedOut": True})
    assert_error(await agent.post("/api/messages", json=send), 422, "contact_opted_out")
    await agent.patch(f"/api/contacts/{maria['id']}", json={"optedOut": False, "blocked": True})
    assert_error(await agent.post("/api/messages", json=send), 422, "contact_blocked")
    await agent.patch(f"/api/contacts/{maria['id']}", json={"blocked": False})
    assert (await agent.post("/api/messages", json=send)).status_code == 202


async def test_changing_the_number_to_one_another_contact_has_is_refused(demo: dict[str, Account]) -> None:
    contact = await create(demo["agent"], phone="+61 412 345 678")
    response = await demo["agent"].patch(f"/api/contacts/{contact['id']}", json={"phone": "+1 555 123 4002"})
    assert_error(response, 409, "contact_exists")


# --- merge and delete -----------------------------------------------------------------------------------------


async def test_merging_moves_conversations_and_messages_and_removes_the_duplicate(
    demo: dict[str, Account],
) -> None:
    admin = demo["admin"]
    maria = (await listed(admin, search="15551234001"))[0]
    james = (await listed(admin, search="15551234002"))[0]
    await admin.patch(
        f"/api/contacts/{james['id']}", json={"tags": ["wholesale"], "attributes": {"vat": "X1"}}
    )
    response = await admin.post(f"/api/contacts/{maria['id']}/merge", json={"sourceContactId": james["id"]})
    assert response.status_code == 200, response.text
    merged = response.json()
    assert merged["waId"] == "15551234001"
    assert set(merged["tags"]) == {"demo", "wholesale"}
    assert merged["attributes"]["vat"] == "X1"
    detail = (await admin.get(f"/api/contacts/{maria['id']}")).json()
    assert len(detail["conversations"]) == 2
    messages = (await admin.get("/api/messages", params={"contactId": maria["id"], "limit": 100})).json()
    assert len(messages["items"]) == 6
    assert_error(await admin.get(f"/api/contacts/{james['id']}"), 404)
    assert [c["id"] for c in await listed(admin, tag="wholesale")] == [maria["id"]]
    audit = (await admin.get("/api/audit", params={"action": "contact.merged"})).json()["items"]
    assert audit[0]["targetId"] == maria["id"]


async def test_merge_refuses_itself_and_needs_an_admin(demo: dict[str, Account]) -> None:
    maria = (await listed(demo["admin"], search="15551234001"))[0]
    body = {"sourceContactId": maria["id"]}
    assert_error(
        await demo["admin"].post(f"/api/contacts/{maria['id']}/merge", json=body), 422, "same_contact"
    )
    assert_error(await demo["agent"].post(f"/api/contacts/{maria['id']}/merge", json=body), 403)
    missing = {"sourceContactId": str(uuid.uuid4())}
    response = await demo["admin"].post(f"/api/contacts/{maria['id']}/merge", json=missing)
    assert_error(response, 404, "source_contact_not_found")


async def test_only_a_contact_without_history_can_be_deleted(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    maria = (await listed(admin, search="15551234001"))[0]
    assert_error(await admin.delete(f"/api/contacts/{maria['id']}"), 409, "contact_has_conversations")
    fresh = await create(admin, phone="+49 151 23456789")
    assert_error(await demo["agent"].delete(f"/api/contacts/{fresh['id']}"), 403)
    assert (await admin.delete(f"/api/contacts/{fresh['id']}")).status_code == 204
    assert_error(await admin.get(f"/api/contacts/{fresh['id']}"), 404)


# --- CSV import -----------------------------------------------------------------------------------------------


async def test_import_creates_updates_and_reports_bad_rows(demo: dict[str, Account]) -> None:
    text = (
        "phone,name,tags,opted_out,city\n"
        "+52 1 55 1234 5678,Carlos,lead;mx,no,CDMX\n"
        '+15551234001,"Garcia, Maria",vip,,\n'
        "not-a-number,Nobody,,,\n"
        "+447700900555,Ellie,,maybe,\n"
        '+447700900556,"Two\nLines",,,London\n'
        "+525512345678,,returning,,\n"
    )
    response = await import_csv(demo["admin"], text)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["rows"] == 6
    assert (report["created"], report["updated"], report["unchanged"], report["failed"]) == (2, 2, 0, 2)
    errors = {e["row"]: e for e in report["errors"]}
    assert errors[4]["field"] == "phone"
    assert errors[5]["field"] == "opted_out"
    assert "maybe" in errors[5]["message"]
    carlos = (await listed(demo["admin"], search="carlos"))[0]
    # Mexico's old +52 1 form and the current one are one contact: the second row only added a tag.
    assert carlos["tags"] == ["lead", "mx", "returning"]
    assert carlos["attributes"] == {"city": "CDMX"}
    maria = (await listed(demo["admin"], search="15551234001"))[0]
    assert maria["savedName"] == "Garcia, Maria"
    assert "vip" in maria["tags"]
    two_lines = (await listed(demo["admin"], search="447700900556"))[0]
    assert two_lines["savedName"] == "Two\nLines"


async def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    demo: dict[str, Account],
) -> None:
    text = "phone,name,tags\n+33612345001,Léa,fr\n+33612345002,Hugo,fr;b2b\n"
    first = (await import_csv(demo["admin"], text)).json()
    assert first["created"] == 2
    before = {c["id"]: c for c in await listed(demo["admin"], tag="fr")}
    second = (await import_csv(demo["admin"], text)).json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 2)
    after = {c["id"]: c for c in await listed(demo["admin"], tag="fr")}
    assert after == before


async def test_malformed_csv_is_refused_with_the_reason(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    assert_error(await import_csv(admin, "name,email\nAna,a@x.com\n"), 422, "csv_missing_column")
    assert_error(await import_csv(admin, ""), 422, "csv_empty")
    assert_error(await import_csv(admin, "phone,name\n"), 422, "csv_empty")
    assert_error(await import_csv(admin, b"phone,name\n+15551239999,\xff\xfeoops\n"), 422, "csv_not_utf8")
    error = assert_error(
        await import_csv(admin, 'phone,name\n+15551239999,"never closed\n'), 422, "csv_malformed"
    )
    assert "line 2" in error["message"]
    assert_error(
        await import_csv(admin, "phone,mobile\n+15551239999,+15551239998\n"), 422, "csv_duplicate_column"
    )
    report = (await import_csv(admin, "phone,name\n+15551239997,Ana,extra\n")).json()
    assert report["errors"][0]["message"] == "the row has 3 fields but the header has 2"
    assert await listed(admin, search="15551239999") == []


async def test_an_oversize_import_is_refused_and_imports_nothing(demo: dict[str, Account]) -> None:
    header = b"phone,name\n"
    row = b"+15551230001,Someone with a long name to fill the file up quickly\n"
    body = header + row * (IMPORT_MAX_BYTES // len(row) + 1)
    assert len(body) > IMPORT_MAX_BYTES
    error = assert_error(await import_csv(demo["admin"], body), 413, "import_too_large")
    assert str(IMPORT_MAX_BYTES) in error["message"]
    assert await listed(demo["admin"], search="15551230001") == []


async def test_import_and_export_are_for_admins(demo: dict[str, Account]) -> None:
    assert_error(await import_csv(demo["agent"], "phone\n+15551230002\n"), 403)
    assert_error(await demo["agent"].get("/api/contacts/export"), 403)


# --- CSV export -----------------------------------------------------------------------------------------------


async def test_export_streams_every_contact_and_re_imports_unchanged(demo: dict[str, Account]) -> None:
    admin = demo["admin"]
    await create(admin, phone="+34 612 345 678", name="=HYPERLINK(evil)", tags=["es"], attributes={"tier": 2})
    response = await admin.get("/api/contacts/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 6
    spanish = next(r for r in rows if r["phone"] == "+34612345678")
    assert spanish["name"] == "'=HYPERLINK(evil)"  # a spreadsheet will not run it
    assert spanish["tags"] == "es"
    assert spanish["attributes"] == '{"tier":2}'
    report = (await import_csv(admin, response.content)).json()
    assert report["failed"] == 0
    assert report["unchanged"] == 6
    audit = (await admin.get("/api/audit", params={"action": "contacts.exported"})).json()["items"]
    assert audit
    assert audit[0]["actor"]["email"] == "admin@demo.com"


async def test_export_is_large_and_paged(demo: dict[str, Account]) -> None:
    lines = ["phone,name"] + [f"+1555777{i:04d},Bulk {i}" for i in range(1200)]
    assert (await import_csv(demo["admin"], "\n".join(lines))).json()["created"] == 1200
    rows = list(csv.DictReader(io.StringIO((await demo["admin"].get("/api/contacts/export")).text)))
    assert len(rows) == 1205
    assert len({r["id"] for r in rows}) == 1205


# --- tenancy --------------------------------------------------------------------------------------------------


async def test_another_companys_contacts_are_invisible(
    client: httpx.AsyncClient, demo: dict[str, Account]
) -> None:
    other = await register(client, "Other Co")
    maria = (await listed(demo["admin"], search="15551234001"))[0]
    assert_error(await other.get(f"/api/contacts/{maria['id']}"), 404)
    assert_error(await other.patch(f"/api/contacts/{maria['id']}", json={"name": "x"}), 404)
    assert_error(await other.delete(f"/api/contacts/{maria['id']}"), 404)
    own = await create(other, phone="+15551234001")
    merge = await other.post(f"/api/contacts/{own['id']}/merge", json={"sourceContactId": maria["id"]})
    assert_error(merge, 404)
    assert [c["id"] for c in await listed(other)] == [own["id"]]
    export = (await other.get("/api/contacts/export")).text
    assert maria["id"] not in export
