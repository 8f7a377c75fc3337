"""Media: upload, retrieve the URL, download with the token, delete; in memory with a size cap."""

from __future__ import annotations

import base64
import hashlib
import os

import httpx
import pytest
from fastapi import FastAPI
from simulator_kit import PHONE_NUMBER_ID, SIM_BASE, TOKEN, VERSION, load_payload

from wadesk.whatsapp.simulator import create_simulator_app, get_simulator

MEDIA_URL = f"/{VERSION}/{PHONE_NUMBER_ID}/media"


async def upload(harness, data: bytes, mime: str = "image/png", *, filename: str = "photo.png", **form: str):
    fields = {"messaging_product": "whatsapp", "type": mime, **form}
    return await harness.client.post(
        MEDIA_URL, files={"file": (filename, data, mime)}, data=fields, headers=harness.auth()
    )


async def test_upload_retrieve_download_delete(harness):
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(2048) + b"\r\n--boundary\r\n" + os.urandom(64)

    uploaded = await upload(harness, data)

    assert uploaded.status_code == 200, uploaded.text
    assert set(uploaded.json()) == set(load_payload("media_upload_response.json"))
    media_id = uploaded.json()["id"]
    assert media_id.isdigit()

    info = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.auth())).json()
    assert set(info) == set(load_payload("media_retrieve_url_response.json"))
    assert info["id"] == media_id
    assert info["messaging_product"] == "whatsapp"
    assert info["mime_type"] == "image/png"
    assert info["file_size"] == str(len(data))
    assert info["sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert info["url"].startswith(f"{SIM_BASE}/whatsapp_business/attachments/?mid={media_id}&ext=")

    downloaded = await harness.client.get(info["url"], headers=harness.auth())
    assert downloaded.status_code == 200
    assert downloaded.content == data
    assert downloaded.headers["content-type"] == "image/png"

    deleted = await harness.client.delete(f"/{VERSION}/{media_id}", headers=harness.auth())
    assert deleted.json() == load_payload("media_delete_response.json")
    gone = await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.auth())
    assert gone.json()["error"]["code"] == 100
    assert (await harness.client.get(info["url"], headers=harness.auth())).status_code == 404


async def test_the_mime_type_comes_from_the_type_field(harness):
    uploaded = await harness.client.post(
        MEDIA_URL,
        files={"file": ("voice.ogg", b"OggS" + b"\x00" * 100, "application/octet-stream")},
        data={"messaging_product": "whatsapp", "type": "audio/ogg"},
        headers=harness.auth(),
    )

    media_id = uploaded.json()["id"]
    info = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.auth())).json()
    assert info["mime_type"] == "audio/ogg"


async def test_download_needs_the_token(harness):
    media_id = (await upload(harness, b"\x89PNG" + b"1" * 100)).json()["id"]
    url = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.auth())).json()["url"]

    assert (await harness.client.get(url)).status_code == 400
    assert (await harness.client.get(url, headers=harness.auth("not-the-token"))).status_code == 401
    assert (await harness.client.get(url, headers=harness.auth())).status_code == 200


async def test_download_urls_expire_after_five_minutes(harness, clock):
    media_id = (await upload(harness, b"\x89PNG" + b"1" * 100)).json()["id"]
    url = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.auth())).json()["url"]

    clock.advance(299)
    assert (await harness.client.get(url, headers=harness.auth())).status_code == 200
    clock.advance(2)
    assert (await harness.client.get(url, headers=harness.auth())).status_code == 404
    fresh = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.auth())).json()["url"]
    assert (await harness.client.get(fresh, headers=harness.auth())).status_code == 200


async def test_a_tampered_url_is_not_found(harness):
    first = (await upload(harness, b"\x89PNG" + b"1" * 100)).json()["id"]
    second = (await upload(harness, b"\x89PNG" + b"2" * 100)).json()["id"]
    url = (await harness.client.get(f"/{VERSION}/{first}", headers=harness.auth())).json()["url"]

    assert (await harness.client.get(url.replace(first, second), headers=harness.auth())).status_code == 404


async def test_media_of_another_number_is_refused_with_phone_number_id(harness):
    media_id = (await upload(harness, b"\x89PNG" + b"1" * 100)).json()["id"]

    response = await harness.client.get(
        f"/{VERSION}/{media_id}", params={"phone_number_id": "999"}, headers=harness.auth()
    )

    assert response.json()["error"]["code"] == 100


@pytest.mark.parametrize(
    ("data", "mime", "form", "code"),
    [
        (b"MZ\x90\x00", "application/x-msdownload", {}, 131053),
        (b"RIFF" + b"\x00" * (501 * 1024), "image/webp", {}, 131053),
        (b"\x89PNG", "image/png", {"messaging_product": "facebook"}, 100),
    ],
)
async def test_invalid_uploads_are_refused(harness, data, mime, form, code):
    response = await upload(harness, data, mime, **form)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


async def test_upload_without_a_file_is_refused(harness):
    response = await harness.client.post(
        MEDIA_URL,
        files={"type": (None, "image/png"), "messaging_product": (None, "whatsapp")},
        headers=harness.auth(),
    )

    assert response.status_code == 400
    assert "file" in response.json()["error"]["message"]


async def test_upload_to_an_unknown_number_is_error_100(harness):
    response = await harness.client.post(
        f"/{VERSION}/31337/media",
        files={"file": ("a.png", b"\x89PNG", "image/png")},
        data={"messaging_product": "whatsapp", "type": "image/png"},
        headers=harness.auth(),
    )

    assert response.json()["error"]["code"] == 100


async def test_storage_keeps_under_its_cap_by_dropping_the_oldest(make_harness):
    harness = make_harness(media_max_total_bytes=3000)

    ids = [(await upload(harness, bytes([i]) * 1200)).json()["id"] for i in range(3)]

    store = harness.sim.media
    assert store.total_bytes <= 3000
    assert store.get(ids[0]) is None
    assert store.get(ids[1]) is not None
    assert store.get(ids[2]) is not None


async def test_media_urls_include_the_mount_prefix(make_config):
    simulator_app = create_simulator_app(make_config())
    host = FastAPI()
    host.mount("/simulator", simulator_app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=host), base_url="http://app.test"
    ) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        uploaded = await client.post(
            f"/simulator/{VERSION}/{PHONE_NUMBER_ID}/media",
            files={"file": ("a.png", b"\x89PNG" + b"x" * 10, "image/png")},
            data={"messaging_product": "whatsapp", "type": "image/png"},
            headers=headers,
        )
        media_id = uploaded.json()["id"]
        url = (await client.get(f"/simulator/{VERSION}/{media_id}", headers=headers)).json()["url"]

        assert url.startswith("http://app.test/simulator/whatsapp_business/attachments/?mid=")
        assert (await client.get(url, headers=headers)).content == b"\x89PNG" + b"x" * 10
    await get_simulator(simulator_app).aclose()
