from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from wadesk.whatsapp import outbound
from wadesk.whatsapp.errors import ErrorCategory, GraphApiError
from wadesk.whatsapp.graph import (
    GraphClient,
    MediaInfo,
    MediaTooLargeError,
    MediaUrlNotAllowedError,
    SendResult,
    TemplateCreateResult,
    TemplatesPage,
)

Loader = Callable[[str], Any]
Handler = Callable[[httpx.Request], httpx.Response]

PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
TOKEN = "EAAG-tenant-a"
MEDIA_URL = (
    "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=2621233374848975&ext=1750000000&hash=AT"
)


class Recorder:
    """A MockTransport handler that records requests and answers from a queue of responses."""

    def __init__(self, *responses: httpx.Response | Handler | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.responses:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        if callable(response):
            return response(request)
        return response

    @property
    def request(self) -> httpx.Request:
        assert len(self.requests) == 1
        return self.requests[0]


def client_for(recorder: Recorder, base_url: str = "https://graph.facebook.com") -> GraphClient:
    return GraphClient(base_url, transport=httpx.MockTransport(recorder))


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


# --- corpus responses -----------------------------------------------------------------------------------------


def test_every_corpus_send_response_parses(send_response_file: str, load_payload: Loader) -> None:
    data = load_payload(send_response_file)

    if "messages" in data:
        result = SendResult.from_response(data)
        assert result.wamid.startswith("wamid.")
        assert result.wa_id
    else:
        assert data == {"success": True}


def test_every_corpus_media_response_parses(media_response_file: str, load_payload: Loader) -> None:
    data = load_payload(media_response_file)

    if "url" in data:
        assert MediaInfo.model_validate(data).size == 303833
    elif "success" in data:
        assert data["success"] is True
    else:
        assert data["id"]


def test_every_corpus_template_response_parses(template_response_file: str, load_payload: Loader) -> None:
    data = load_payload(template_response_file)

    if "data" in data:
        page = TemplatesPage.model_validate(data)
        assert [t.name for t in page.data] == ["hello_world", "2023_april_promo"]
    else:
        assert TemplateCreateResult.model_validate(data).status == "PENDING"


# --- sending --------------------------------------------------------------------------------------------------


async def test_send_message_posts_the_payload_with_the_tenant_token(load_payload: Loader) -> None:
    recorder = Recorder(httpx.Response(200, json=load_payload("send_response_success.json")))
    payload = outbound.build_message("+16505551234", outbound.text("hi"), callback_data="msg_1")

    async with client_for(recorder) as client:
        result = await client.send_message(TOKEN, PHONE_ID, payload)

    request = recorder.request
    assert request.method == "POST"
    assert str(request.url) == f"https://graph.facebook.com/v23.0/{PHONE_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert body_of(request) == payload
    assert result == SendResult(
        wamid="wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA",
        wa_id="16505551234",
        input="+16505551234",
        message_status=None,
    )


async def test_each_call_carries_its_own_tenant_token(load_payload: Loader) -> None:
    ok = load_payload("send_response_success.json")
    recorder = Recorder(httpx.Response(200, json=ok), httpx.Response(200, json=ok))
    payload = outbound.build_message("+1555", outbound.text("hi"))

    async with client_for(recorder) as client:
        await client.send_message("token-a", "111", payload)
        await client.send_message("token-b", "222", payload)

    assert [r.headers["authorization"] for r in recorder.requests] == ["Bearer token-a", "Bearer token-b"]
    assert [r.url.path for r in recorder.requests] == ["/v23.0/111/messages", "/v23.0/222/messages"]


async def test_paced_template_send_reports_its_message_status(load_payload: Loader) -> None:
    recorder = Recorder(httpx.Response(200, json=load_payload("send_response_success_template_paced.json")))

    async with client_for(recorder) as client:
        result = await client.send_message(TOKEN, PHONE_ID, {"messaging_product": "whatsapp"})

    assert result.message_status == "accepted"


async def test_configured_version_and_base_url_are_used() -> None:
    recorder = Recorder(httpx.Response(200, json={"messages": [{"id": "wamid.1"}]}))
    client = GraphClient("http://127.0.0.1:9000/sim/", "v25.0", transport=httpx.MockTransport(recorder))

    await client.send_message(TOKEN, PHONE_ID, {})
    await client.aclose()

    assert str(recorder.request.url) == f"http://127.0.0.1:9000/sim/v25.0/{PHONE_ID}/messages"


@pytest.mark.parametrize(
    ("file", "status", "category", "retryable"),
    [
        ("send_error_130429_rate_limit.json", 400, ErrorCategory.RATE_LIMITED, True),
        ("send_error_131047_reengagement.json", 400, ErrorCategory.REENGAGEMENT_REQUIRED, False),
        ("send_error_190_token_expired.json", 401, ErrorCategory.AUTH, False),
        ("send_error_100_invalid_parameter.json", 400, ErrorCategory.INVALID_REQUEST, False),
    ],
)
async def test_send_errors_raise_categorised_graph_api_errors(
    file: str, status: int, category: ErrorCategory, retryable: bool, load_payload: Loader
) -> None:
    body = load_payload(file)
    recorder = Recorder(httpx.Response(status, json=body))

    async with client_for(recorder) as client:
        with pytest.raises(GraphApiError) as caught:
            await client.send_message(TOKEN, PHONE_ID, {})

    error = caught.value
    assert error.code == body["error"]["code"]
    assert error.http_status == status
    assert error.category is category
    assert error.retryable is retryable
    assert TOKEN not in str(error)


async def test_server_error_page_is_a_retryable_transient_error() -> None:
    recorder = Recorder(httpx.Response(502, text="<html>Bad Gateway</html>"))

    async with client_for(recorder) as client:
        with pytest.raises(GraphApiError) as caught:
            await client.send_message(TOKEN, PHONE_ID, {})

    assert caught.value.category is ErrorCategory.TRANSIENT
    assert caught.value.retryable
    assert not caught.value.outcome_unknown


async def test_connection_failure_is_retryable_and_not_ambiguous() -> None:
    recorder = Recorder(httpx.ConnectError("connection refused"))

    async with client_for(recorder) as client:
        with pytest.raises(GraphApiError) as caught:
            await client.send_message(TOKEN, PHONE_ID, {})

    assert caught.value.retryable
    assert not caught.value.outcome_unknown
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_read_timeout_on_send_is_retryable_but_outcome_unknown() -> None:
    recorder = Recorder(httpx.ReadTimeout("timed out"))

    async with client_for(recorder) as client:
        with pytest.raises(GraphApiError) as caught:
            await client.send_message(TOKEN, PHONE_ID, {})

    assert caught.value.retryable
    assert caught.value.outcome_unknown


async def test_unreadable_success_response_to_a_send_is_outcome_unknown() -> None:
    recorder = Recorder(httpx.Response(200, text="<html>ok?</html>"))

    async with client_for(recorder) as client:
        with pytest.raises(GraphApiError) as caught:
            await client.send_message(TOKEN, PHONE_ID, {})

    assert caught.value.outcome_unknown
    assert not caught.value.retryable


async def test_success_status_with_an_error_body_is_still_an_error() -> None:
    recorder = Recorder(httpx.Response(200, json={"error": {"message": "(#131056) pair", "code": 131056}}))

    async with client_for(recorder) as client:
        with pytest.raises(GraphApiError) as caught:
            await client.send_message(TOKEN, PHONE_ID, {})

    assert caught.value.category is ErrorCategory.RATE_LIMITED


async def test_mark_read_sends_meta_read_receipt_body(load_payload: Loader) -> None:
    recorder = Recorder(httpx.Response(200, json=load_payload("send_response_mark_read_or_typing.json")))
    wamid = load_payload("send_request_mark_read.json")["message_id"]

    async with client_for(recorder) as client:
        assert await client.mark_read(TOKEN, PHONE_ID, wamid) is True

    assert recorder.request.url.path == f"/v23.0/{PHONE_ID}/messages"
    assert body_of(recorder.request) == load_payload("send_request_mark_read.json")


async def test_typing_indicator_sends_meta_typing_body(load_payload: Loader) -> None:
    recorder = Recorder(httpx.Response(200, json={"success": True}))
    wamid = load_payload("send_request_typing_indicator.json")["message_id"]

    async with client_for(recorder) as client:
        assert await client.send_typing_indicator(TOKEN, PHONE_ID, wamid) is True

    assert body_of(recorder.request) == load_payload("send_request_typing_indicator.json")


# --- media ----------------------------------------------------------------------------------------------------


async def test_upload_media_sends_a_multipart_form(load_payload: Loader) -> None:
    recorder = Recorder(httpx.Response(200, json=load_payload("media_upload_response.json")))

    async with client_for(recorder) as client:
        media_id = await client.upload_media(
            TOKEN, PHONE_ID, b"%PDF-1.4 test", mime_type="application/pdf", filename="invoice.pdf"
        )

    request = recorder.request
    assert media_id == "1037543291543636"
    assert request.url.path == f"/v23.0/{PHONE_ID}/media"
    assert request.headers["content-type"].startswith("multipart/form-data")
    content = request.content
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in content
    assert b'name="type"\r\n\r\napplication/pdf' in content
    assert b'name="file"; filename="invoice.pdf"' in content
    assert b"%PDF-1.4 test" in content


async def test_get_media_returns_the_download_url(load_payload: Loader) -> None:
    recorder = Recorder(httpx.Response(200, json=load_payload("media_retrieve_url_response.json")))

    async with client_for(recorder) as client:
        info = await client.get_media(TOKEN, "2621233374848975", phone_number_id=PHONE_ID)

    assert recorder.request.url.path == "/v23.0/2621233374848975"
    assert recorder.request.url.params["phone_number_id"] == PHONE_ID
    assert info.url.startswith("https://lookaside.fbsbx.com/")
    assert info.mime_type == "image/jpeg"
    assert info.size == 303833


async def test_delete_media_uses_delete(load_payload: Loader) -> None:
    recorder = Recorder(httpx.Response(200, json=load_payload("media_delete_response.json")))

    async with client_for(recorder) as client:
        assert await client.delete_media(TOKEN, "2621233374848975") is True

    assert recorder.request.method == "DELETE"


async def test_download_streams_content_with_token_and_digest() -> None:
    content = b"\x89PNG fake image bytes" * 100
    recorder = Recorder(httpx.Response(200, content=content, headers={"content-type": "image/png"}))

    async with client_for(recorder) as client:
        media = await client.download_media(TOKEN, MEDIA_URL)

    assert str(recorder.request.url) == MEDIA_URL
    assert recorder.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert media.content == content
    assert media.size == len(content)
    assert media.mime_type == "image/png"
    digest = hashlib.sha256(content).digest()
    assert media.matches_sha256(base64.b64encode(digest).decode())
    assert media.matches_sha256(digest.hex())
    assert not media.matches_sha256(base64.b64encode(b"x" * 32).decode())


async def test_download_to_a_sink_receives_every_chunk() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"a" * 1000

    recorder = Recorder(httpx.Response(200, content=chunks()))
    received: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        received.append(chunk)

    async with client_for(recorder) as client:
        result = await client.download_media_to(TOKEN, MEDIA_URL, sink)

    assert b"".join(received) == b"a" * 5000
    assert result.size == 5000


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/whatsapp_business/attachments/?mid=1",
        "http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
        "https://lookaside.fbsbx.com.evil.example/attachments",
        "https://user:pass@lookaside.fbsbx.com/attachments",
        "https://lookaside.fbsbx.com:8443/attachments",
        "/relative/path",
        "not a url at all",
        "file:///etc/passwd",
    ],
)
async def test_download_refuses_urls_meta_does_not_serve_media_from(url: str) -> None:
    recorder = Recorder()

    async with client_for(recorder) as client:
        with pytest.raises(MediaUrlNotAllowedError):
            await client.download_media(TOKEN, url)

    assert recorder.requests == []


async def test_download_from_the_configured_graph_host_is_allowed() -> None:
    recorder = Recorder(httpx.Response(200, content=b"sim"))

    async with client_for(recorder, base_url="http://127.0.0.1:9000") as client:
        media = await client.download_media(TOKEN, "http://127.0.0.1:9000/media/abc?ext=1")

    assert media.content == b"sim"


async def test_download_refuses_declared_oversized_content_before_reading() -> None:
    recorder = Recorder(httpx.Response(200, content=b"x" * 2000))

    async with client_for(recorder) as client:
        with pytest.raises(MediaTooLargeError) as caught:
            await client.download_media(TOKEN, MEDIA_URL, max_bytes=1000)

    assert caught.value.size == 2000


async def test_download_stops_streaming_past_the_cap_without_content_length() -> None:
    produced: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for i in range(1000):
            produced.append(i)
            yield b"x" * 512

    recorder = Recorder(httpx.Response(200, content=endless()))

    async with client_for(recorder) as client:
        with pytest.raises(MediaTooLargeError):
            await client.download_media(TOKEN, MEDIA_URL, max_bytes=2048)

    assert len(produced) < 10


async def test_expired_media_url_is_a_media_error() -> None:
    recorder = Recorder(httpx.Response(404, text="Not Found"))

    async with client_for(recorder) as client:
        with pytest.raises(GraphApiError) as caught:
            await client.download_media(TOKEN, MEDIA_URL)

    assert caught.value.category is ErrorCategory.MEDIA
    assert caught.value.http_status == 404
    assert not caught.value.retryable


async def test_download_follows_redirects_only_to_allowed_hosts() -> None:
    target = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=2"
    recorder = Recorder(
        httpx.Response(302, headers={"location": target}),
        httpx.Response(200, content=b"moved"),
    )

    async with client_for(recorder) as client:
        media = await client.download_media(TOKEN, MEDIA_URL)

    assert media.content == b"moved"
    assert str(recorder.requests[1].url) == target


async def test_download_refuses_a_redirect_to_a_foreign_host() -> None:
    recorder = Recorder(httpx.Response(302, headers={"location": "https://attacker.example/steal"}))

    async with client_for(recorder) as client:
        with pytest.raises(MediaUrlNotAllowedError):
            await client.download_media(TOKEN, MEDIA_URL)

    assert len(recorder.requests) == 1


async def test_download_timeout_is_a_retryable_graph_error() -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"))

    async with client_for(recorder) as client:
        with pytest.raises(GraphApiError) as caught:
            await client.download_media(TOKEN, MEDIA_URL)

    assert caught.value.retryable


# --- templates ------------------------------------------------------------------------------------------------


def _templates_page(names: list[str], *, next_url: str | None, after: str) -> dict[str, Any]:
    paging: dict[str, Any] = {"cursors": {"before": "B", "after": after}}
    if next_url is not None:
        paging["next"] = next_url
    return {
        "data": [
            {"id": str(i), "name": n, "language": "en_US", "status": "APPROVED"} for i, n in enumerate(names)
        ],
        "paging": paging,
    }


async def test_template_list_follows_paging_next_until_the_last_page(load_payload: Loader) -> None:
    next_url = f"https://graph.facebook.com/v23.0/{WABA_ID}/message_templates?limit=2&after=MjQZD"
    recorder = Recorder(
        httpx.Response(200, json=_templates_page(["a", "b"], next_url=next_url, after="MjQZD")),
        httpx.Response(200, json=load_payload("templates_list_response.json")),
    )

    async with client_for(recorder) as client:
        templates = await client.list_templates(TOKEN, WABA_ID, limit=2, status="APPROVED")

    assert [t.name for t in templates] == ["a", "b", "hello_world", "2023_april_promo"]
    first, second = recorder.requests
    assert first.url.path == f"/v23.0/{WABA_ID}/message_templates"
    assert first.url.params["limit"] == "2"
    assert first.url.params["status"] == "APPROVED"
    assert str(second.url) == next_url
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in recorder.requests)


async def test_template_list_uses_the_cursor_when_next_points_elsewhere() -> None:
    recorder = Recorder(
        httpx.Response(
            200, json=_templates_page(["a"], next_url="https://elsewhere.example/next", after="CUR")
        ),
        httpx.Response(200, json=_templates_page(["b"], next_url=None, after="END")),
    )

    async with client_for(recorder) as client:
        templates = await client.list_templates(TOKEN, WABA_ID, fields=["name", "status"])

    assert [t.name for t in templates] == ["a", "b"]
    second = recorder.requests[1]
    assert second.url.host == "graph.facebook.com"
    assert second.url.params["after"] == "CUR"
    assert second.url.params["fields"] == "name,status"


async def test_template_list_stops_when_paging_repeats() -> None:
    next_url = f"https://graph.facebook.com/v23.0/{WABA_ID}/message_templates?after=SAME"
    page = _templates_page(["a"], next_url=next_url, after="SAME")
    recorder = Recorder(httpx.Response(200, json=page), httpx.Response(200, json=page))

    async with client_for(recorder) as client:
        templates = await client.list_templates(TOKEN, WABA_ID)

    assert len(recorder.requests) == 2
    assert len(templates) == 2


async def test_template_list_error_mid_way_raises() -> None:
    next_url = f"https://graph.facebook.com/v23.0/{WABA_ID}/message_templates?after=X"
    recorder = Recorder(
        httpx.Response(200, json=_templates_page(["a"], next_url=next_url, after="X")),
        httpx.Response(400, json={"error": {"message": "(#80007) limit", "code": 80007}}),
    )

    async with client_for(recorder) as client:
        with pytest.raises(GraphApiError) as caught:
            await client.list_templates(TOKEN, WABA_ID)

    assert caught.value.category is ErrorCategory.RATE_LIMITED


async def test_create_template_posts_the_definition(load_payload: Loader) -> None:
    definition = load_payload("template_create_request_utility_named_params.json")
    recorder = Recorder(httpx.Response(200, json=load_payload("template_create_response.json")))

    async with client_for(recorder) as client:
        result = await client.create_template(TOKEN, WABA_ID, definition)

    assert recorder.request.url.path == f"/v23.0/{WABA_ID}/message_templates"
    assert body_of(recorder.request) == definition
    assert result == TemplateCreateResult(id="1689556908129832", status="PENDING", category="UTILITY")


async def test_delete_template_by_name_and_id() -> None:
    recorder = Recorder(httpx.Response(200, json={"success": True}))

    async with client_for(recorder) as client:
        assert await client.delete_template(
            TOKEN, WABA_ID, "order_confirmation", template_id="1689556908129832"
        )

    request = recorder.request
    assert request.method == "DELETE"
    assert request.url.params["name"] == "order_confirmation"
    assert request.url.params["hsm_id"] == "1689556908129832"


# --- account --------------------------------------------------------------------------------------------------


async def test_phone_number_info_asks_for_the_useful_fields() -> None:
    info = {
        "id": PHONE_ID,
        "display_phone_number": "+1 555-078-3881",
        "verified_name": "Lucky Shrub",
        "quality_rating": "GREEN",
        "throughput": {"level": "STANDARD"},
        "whatsapp_business_manager_messaging_limit": "TIER_2K",
    }
    recorder = Recorder(httpx.Response(200, json=info))

    async with client_for(recorder) as client:
        result = await client.get_phone_number(TOKEN, PHONE_ID)

    assert recorder.request.url.path == f"/v23.0/{PHONE_ID}"
    assert "quality_rating" in recorder.request.url.params["fields"].split(",")
    assert result.throughput is not None
    assert result.throughput.level == "STANDARD"
    assert result.whatsapp_business_manager_messaging_limit == "TIER_2K"


async def test_subscribe_app_posts_to_subscribed_apps() -> None:
    recorder = Recorder(httpx.Response(200, json={"success": True}))

    async with client_for(recorder) as client:
        assert await client.subscribe_app(TOKEN, WABA_ID) is True

    assert recorder.request.url.path == f"/v23.0/{WABA_ID}/subscribed_apps"
    assert recorder.request.method == "POST"


# --- safety and lifecycle -------------------------------------------------------------------------------------


@pytest.mark.parametrize("phone_number_id", ["../me", "1/2", "", "1?x=y", "..", "1 2"])
async def test_ids_that_could_escape_the_path_are_refused(phone_number_id: str) -> None:
    recorder = Recorder()

    async with client_for(recorder) as client:
        with pytest.raises(ValueError, match="phone number id"):
            await client.send_message(TOKEN, phone_number_id, {})

    assert recorder.requests == []


@pytest.mark.parametrize("token", ["", "two words", "line\nbreak"])
async def test_missing_or_malformed_token_is_refused_before_any_request(token: str) -> None:
    recorder = Recorder()

    async with client_for(recorder) as client:
        with pytest.raises(ValueError, match="token"):
            await client.send_message(token, PHONE_ID, {})

    assert recorder.requests == []


@pytest.mark.parametrize("version", ["23.0", "v23", "latest"])
def test_version_must_look_like_a_graph_version(version: str) -> None:
    with pytest.raises(ValueError, match="version"):
        GraphClient(version=version)


def test_base_url_must_be_absolute_http() -> None:
    with pytest.raises(ValueError, match="base_url"):
        GraphClient("graph.facebook.com")


async def test_aclose_closes_only_a_client_it_created() -> None:
    external = httpx.AsyncClient(transport=httpx.MockTransport(Recorder()))
    shared = GraphClient(http=external)
    owned = GraphClient(transport=httpx.MockTransport(Recorder()))

    await shared.aclose()
    await owned.aclose()

    assert not external.is_closed
    await external.aclose()


async def test_injected_http_client_is_used_for_requests(load_payload: Loader) -> None:
    recorder = Recorder(httpx.Response(200, json=load_payload("send_response_success.json")))
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        client = GraphClient(http=http)
        await client.send_message(TOKEN, PHONE_ID, {})

    assert len(recorder.requests) == 1
