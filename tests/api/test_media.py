"""Media by upload: POST /api/media keeps a file WhatsApp accepts (type, size and content checked as it
streams in), POST /api/messages sends it by `uploadId`, and the sender uploads it to Meta (here the built-in
simulator) and sends Meta's media id. Another company's upload does not exist for anyone else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pipeline_kit import connect_number, post_webhook, settle, simulated_app, simulator_of, sync_numbers

from conftest import Account, assert_error, register
from wadesk.config import Settings
from wadesk.media.rules import KB, MB
from wadesk.ops.demo_seed import DEMO_PHONE_NUMBER_ID
from wadesk.whatsapp.simulator import InboundMessage, build_inbound_message_payload

IN_WINDOW = "+15551234001"  # the demo customer who wrote minutes ago
OTHER_NUMBER = "5550008002"
OTHER_WABA = "5550008000"

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00" + b"\x00" * 64
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
STATIC_WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64
ANIMATED_WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02" + b"\x00" * 64


@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with simulated_app(settings) as application:
        yield application


@pytest_asyncio.fixture(loop_scope="session")
async def admin(app: FastAPI, demo: dict[str, Account]) -> Account:
    await sync_numbers(app)
    return demo["admin"]


async def upload(account: Account, name: str, data: bytes, mime: str | None) -> httpx.Response:
    file: tuple[str, bytes] | tuple[str, bytes, str] = (name, data) if mime is None else (name, data, mime)
    return await account.post("/api/media", files={"file": file})


async def uploaded(account: Account, name: str, data: bytes, mime: str | None) -> dict[str, Any]:
    response = await upload(account, name, data, mime)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def send(account: Account, kind: str, media: dict[str, Any], to: str = IN_WINDOW) -> httpx.Response:
    return await account.post(
        "/api/messages", json={"phoneNumberId": DEMO_PHONE_NUMBER_ID, "to": to, "type": kind, kind: media}
    )


def stored_files(app: FastAPI, tenant_id: str) -> list[Path]:
    folder = app.state.runtime.settings.data_dir / "media" / tenant_id / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


async def test_an_uploaded_image_is_handed_to_meta_and_sent_by_its_media_id(
    app: FastAPI, admin: Account
) -> None:
    image = await uploaded(admin, "label.png", PNG, "image/png")
    assert image["kind"] == "image"
    assert image["mimeType"] == "image/png"
    assert image["filename"] == "label.png"
    assert image["size"] == len(PNG)
    assert image["attached"] is False

    response = await send(admin, "image", {"uploadId": image["id"], "caption": "Your shipping label"})
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["content"]["media"]["stored"] is True
    await settle(app)

    message = (await admin.get(f"/api/messages/{queued['id']}")).json()
    assert message["status"] == "read", message
    (sent,) = [m for m in simulator_of(app).sent_messages if m.wamid == message["wamid"]]
    assert sent.type == "image"
    assert isinstance(sent.content, dict)
    assert set(sent.content) == {"id", "caption"}  # Meta's media id, never our own keys or a link
    assert sent.content["caption"] == "Your shipping label"
    at_meta = simulator_of(app).media.get(sent.content["id"])
    assert at_meta is not None
    assert at_meta.data == PNG
    assert at_meta.mime_type == "image/png"
    assert at_meta.phone_number_id == DEMO_PHONE_NUMBER_ID
    # The thread shows our copy; a retry within 29 days would reuse Meta's id.
    assert message["content"]["id"] == sent.content["id"]
    assert message["content"]["media"]["metaUploadedAt"]
    file = await admin.get(f"/api/messages/{queued['id']}/media")
    assert file.status_code == 200
    assert file.content == PNG
    assert file.headers["content-type"] == "image/png"
    assert (await admin.get(f"/api/media/{image['id']}")).json()["attached"] is True


async def test_an_uploaded_document_is_sent_with_its_file_name(app: FastAPI, admin: Account) -> None:
    document = await uploaded(admin, "../../etc/Invoice 4521.pdf", PDF, "application/pdf")
    assert document["filename"] == "Invoice 4521.pdf"  # never a path
    response = await send(admin, "document", {"uploadId": document["id"]})
    assert response.status_code == 202, response.text
    await settle(app)
    message = (await admin.get(f"/api/messages/{response.json()['id']}")).json()
    (sent,) = [m for m in simulator_of(app).sent_messages if m.wamid == message["wamid"]]
    assert isinstance(sent.content, dict)
    assert sent.content["filename"] == "Invoice 4521.pdf"
    media = simulator_of(app).media.get(sent.content["id"])
    assert media is not None
    assert media.data == PDF


async def test_the_type_comes_from_the_extension_when_the_browser_gives_none(admin: Account) -> None:
    photo = await uploaded(admin, "IMG_0001.JPG", JPEG, "application/octet-stream")
    assert (photo["kind"], photo["mimeType"]) == ("image", "image/jpeg")
    voice = await uploaded(admin, "note.ogg", b"OggS" + b"\x00" * 60, None)
    assert (voice["kind"], voice["mimeType"]) == ("audio", "audio/ogg")
    m4a = await uploaded(admin, "song.m4a", b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 40, "audio/x-m4a")
    assert (m4a["kind"], m4a["mimeType"]) == ("audio", "audio/mp4")
    sticker = await uploaded(admin, "wave.webp", ANIMATED_WEBP, "image/webp")
    assert sticker["kind"] == "sticker"


@pytest.mark.parametrize(
    ("name", "data", "mime", "status", "code"),
    [
        ("big.png", PNG + b"\x00" * (5 * MB), "image/png", 413, "media_too_large"),
        ("big.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (16 * MB), "video/mp4", 413, "media_too_large"),
        ("still.webp", STATIC_WEBP + b"\x00" * (100 * KB), "image/webp", 413, "media_too_large"),
        ("moving.webp", ANIMATED_WEBP + b"\x00" * (500 * KB), "image/webp", 413, "media_too_large"),
        ("cat.gif", b"GIF89a" + b"\x00" * 64, "image/gif", 415, "media_type_unsupported"),
        ("clip.mov", b"\x00" * 64, "video/quicktime", 415, "media_type_unsupported"),
        ("setup.exe", b"MZ" + b"\x00" * 64, "application/octet-stream", 415, "media_type_unsupported"),
        ("fake.png", JPEG, "image/png", 415, "media_content_mismatch"),
        ("fake.pdf", b"<html>not a pdf</html>", "application/pdf", 415, "media_content_mismatch"),
        ("empty.txt", b"", "text/plain", 422, "media_empty"),
    ],
)
async def test_files_whatsapp_would_refuse_are_refused_and_not_kept(
    app: FastAPI, admin: Account, name: str, data: bytes, mime: str, status: int, code: str
) -> None:
    before = stored_files(app, admin.tenant_id)
    error = assert_error(await upload(admin, name, data, mime), status, code)
    assert error["message"]
    assert stored_files(app, admin.tenant_id) == before


async def test_an_upload_needs_a_file_part(admin: Account) -> None:
    assert_error(await admin.post("/api/media", data={"note": "no file"}), 422)
    assert_error(await admin.post("/api/media", json={"file": "label.png"}), 422)


async def test_an_upload_is_sent_only_as_its_own_type(admin: Account) -> None:
    image = await uploaded(admin, "label.png", PNG, "image/png")
    mismatch = await send(admin, "document", {"uploadId": image["id"]})
    assert "send it as type 'image'" in assert_error(mismatch, 422, "media_type_mismatch")["message"]
    two_sources = await send(admin, "image", {"uploadId": image["id"], "link": "https://example.com/a.png"})
    assert_error(two_sources, 422)
    wrong_field = await send(admin, "image", {"mediaId": image["id"]})
    assert "uploadId" in assert_error(wrong_field, 422)["message"]
    missing = await send(admin, "image", {"uploadId": str(uuid.uuid4())})
    assert_error(missing, 404)


async def test_an_unused_upload_can_be_discarded_but_a_sent_one_is_kept(app: FastAPI, admin: Account) -> None:
    draft = await uploaded(admin, "draft.png", PNG, "image/png")
    assert (await admin.delete(f"/api/media/{draft['id']}")).status_code == 204
    assert_error(await admin.get(f"/api/media/{draft['id']}"), 404)
    assert all(draft["id"] not in path.name for path in stored_files(app, admin.tenant_id))

    kept = await uploaded(admin, "kept.png", PNG, "image/png")
    assert (await send(admin, "image", {"uploadId": kept["id"]})).status_code == 202
    assert_error(await admin.delete(f"/api/media/{kept['id']}"), 409, "media_in_use")


async def test_another_companys_upload_does_not_exist_for_anyone_else(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    image = await uploaded(admin, "private.png", PNG, "image/png")
    other = await register(client, "Other Co")
    assert_error(await other.get(f"/api/media/{image['id']}"), 404)
    assert_error(await other.delete(f"/api/media/{image['id']}"), 404)
    # The other company has its own number and a customer who just wrote (an open window), so only the
    # upload's owner decides the answer.
    await connect_number(other, OTHER_NUMBER, OTHER_WABA, "+1 555 000 8002")
    payload = build_inbound_message_payload(
        InboundMessage(phoneNumberId=OTHER_NUMBER, sender="15557770001", text="Hi, can you send the label?"),
        waba_id=OTHER_WABA,
        display_phone_number="15550008002",
    )
    assert (await post_webhook(client, payload)).status_code == 200
    await settle(app)
    (conversation,) = (await other.get("/api/conversations")).json()["items"]
    stolen = await other.post(
        "/api/messages",
        json={"conversationId": conversation["id"], "type": "image", "image": {"uploadId": image["id"]}},
    )
    assert assert_error(stolen, 404)["message"] == "Uploaded media not found."
    thread = (await other.get("/api/messages", params={"conversationId": conversation["id"]})).json()
    assert [m["direction"] for m in thread["items"]] == ["inbound"]
    assert (await admin.get(f"/api/media/{image['id']}")).json()["attached"] is False


async def test_an_api_key_that_may_send_may_upload_media(admin: Account) -> None:
    keys = {}
    for scope in ("send", "read"):
        created = await admin.post("/api/api-keys", json={"name": f"ERP {scope}", "scopes": [scope]})
        assert created.status_code == 201, created.text
        keys[scope] = created.json()["key"]
    file = {"file": ("label.png", PNG, "image/png")}
    with_send = await admin.http.post(
        "/api/media", files=file, headers={"Authorization": f"Bearer {keys['send']}"}
    )
    assert with_send.status_code == 201, with_send.text
    with_read = await admin.http.post(
        "/api/media", files=file, headers={"Authorization": f"Bearer {keys['read']}"}
    )
    assert_error(with_read, 403, "api_key_scope_missing")
