"""An async client for the parts of Meta's Graph API the platform uses: messaging, media, templates.

One `GraphClient` (one pooled `httpx.AsyncClient`) serves every tenant: each call takes the tenant's access
token. Every failure surfaces as `GraphApiError` carrying the catalogue category and whether a retry can help;
the client itself never retries, so retry policy stays with the caller (jobs use tenacity).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import anyio.lowlevel
import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from wadesk.whatsapp import outbound
from wadesk.whatsapp.errors import CatalogueEntry, ErrorCategory, GraphApiError

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v23.0"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
MEDIA_DOWNLOAD_TIMEOUT = httpx.Timeout(120.0, connect=5.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
META_MEDIA_HOSTS = frozenset({"lookaside.fbsbx.com"})
"""Hosts Meta serves media downloads from; the bearer token is only ever sent there or to the Graph host."""
MAX_MEDIA_BYTES = 100 * 1024 * 1024
"""The largest media WhatsApp carries (documents, 100 MB)."""
MAX_REDIRECTS = 3
MAX_TEMPLATE_PAGES = 1000
DEFAULT_PHONE_NUMBER_FIELDS = (
    "id",
    "display_phone_number",
    "verified_name",
    "quality_rating",
    "code_verification_status",
    "name_status",
    "platform_type",
    "throughput",
    "whatsapp_business_manager_messaging_limit",
)

_VERSION = re.compile(r"^v[0-9]+\.[0-9]+$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_\-.]+$")
_MAX_ERROR_BODY = 64 * 1024

MEDIA_URL_EXPIRED = CatalogueEntry(
    code=None,
    category=ErrorCategory.MEDIA,
    retryable=False,
    title="Media URL expired",
    explanation="The media link expired (links last 5 minutes). Fetch a fresh link with the media id.",
)
UNEXPECTED_RESPONSE = CatalogueEntry(
    code=None,
    category=ErrorCategory.UNKNOWN,
    retryable=False,
    title="Unexpected response",
    explanation="WhatsApp answered with something this platform does not understand.",
)


class MediaUrlNotAllowedError(ValueError):
    """A media URL is not one Meta serves media from, so the tenant's token must not be sent to it."""


class MediaTooLargeError(Exception):
    """A media download exceeded the size cap; nothing more was read."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        self.limit = limit
        self.size = size
        shown = f"{size} bytes" if size is not None else "more bytes"
        super().__init__(f"media is {shown}, over the {limit}-byte limit")


# ------------------------------------------------------------------------------------------------------------
# Typed results
# ------------------------------------------------------------------------------------------------------------


class GraphModel(BaseModel):
    """Base of Graph API response models: keeps unknown keys, immutable."""

    model_config = ConfigDict(extra="allow", frozen=True)


class _SendContact(GraphModel):
    input: str | None = None
    wa_id: str | None = None


class _SentMessage(GraphModel):
    id: str
    message_status: str | None = None


class _SendResponse(GraphModel):
    messaging_product: str | None = None
    contacts: list[_SendContact] | None = None
    messages: list[_SentMessage]


@dataclass(frozen=True, slots=True)
class SendResult:
    """Meta accepted a message (accepted, not delivered: delivery arrives by status webhook)."""

    wamid: str
    wa_id: str | None
    """The WhatsApp id Meta resolved `to` into (may differ from the input, e.g. Brazil/Mexico numbers)."""
    input: str | None
    """The `to` value as sent."""
    message_status: str | None
    """Only for paced templates: `accepted`, `held_for_quality_assessment` or `paused`."""

    @classmethod
    def from_response(cls, data: Any) -> SendResult:
        """Parse Meta's send response; raises `ValueError` if it is not one."""
        try:
            parsed = _SendResponse.model_validate(data)
        except ValidationError as exc:
            raise ValueError(f"not a send response: {exc.error_count()} problem(s)") from None
        if not parsed.messages:
            raise ValueError("not a send response: no messages")
        contact = parsed.contacts[0] if parsed.contacts else None
        return cls(
            wamid=parsed.messages[0].id,
            wa_id=contact.wa_id if contact else None,
            input=contact.input if contact else None,
            message_status=parsed.messages[0].message_status,
        )


class MediaInfo(GraphModel):
    """`GET /{media-id}`: where to download a media object (the URL is valid for 5 minutes)."""

    id: str
    url: str
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | str | None = None
    messaging_product: str | None = None

    @property
    def size(self) -> int | None:
        """`file_size` as an integer (Meta sends it as a string)."""
        try:
            return int(self.file_size) if self.file_size is not None else None
        except ValueError:
            return None


class _UploadResponse(GraphModel):
    id: str


class _SuccessResponse(GraphModel):
    success: bool


class TemplateInfo(GraphModel):
    """One message template as `GET /{waba-id}/message_templates` returns it."""

    id: str
    name: str
    language: str
    status: str | None = None
    category: str | None = None
    components: list[dict[str, Any]] | None = None
    previous_category: str | None = None
    parameter_format: str | None = None
    rejected_reason: str | None = None
    quality_score: Any = None


class _Cursors(GraphModel):
    before: str | None = None
    after: str | None = None


class _Paging(GraphModel):
    cursors: _Cursors | None = None
    next: str | None = None
    previous: str | None = None


class TemplatesPage(GraphModel):
    """One page of the template list."""

    data: list[TemplateInfo]
    paging: _Paging | None = None


class TemplateCreateResult(GraphModel):
    """`POST /{waba-id}/message_templates`: the new template's id and review status (usually PENDING)."""

    id: str
    status: str | None = None
    category: str | None = None


class Throughput(GraphModel):
    level: str | None = None


class PhoneNumberInfo(GraphModel):
    """`GET /{phone-number-id}`: the business number's name, quality, limits and throughput."""

    id: str
    display_phone_number: str | None = None
    verified_name: str | None = None
    quality_rating: str | None = None
    code_verification_status: str | None = None
    name_status: str | None = None
    platform_type: str | None = None
    throughput: Throughput | None = None
    whatsapp_business_manager_messaging_limit: str | None = None


@dataclass(frozen=True, slots=True)
class MediaDownload:
    """What was downloaded: size, type and digest (content went to the caller's sink)."""

    size: int
    mime_type: str | None
    sha256_hex: str

    def matches_sha256(self, expected: str) -> bool:
        """True if `expected` (Meta's `sha256`, base64 or hex) is this content's digest."""
        expected = expected.strip()
        if expected.lower() == self.sha256_hex:
            return True
        try:
            decoded = base64.b64decode(expected, validate=True)
        except (binascii.Error, ValueError):
            return False
        return decoded.hex() == self.sha256_hex


@dataclass(frozen=True, slots=True)
class DownloadedMedia(MediaDownload):
    """A media download held in memory."""

    content: bytes


# ------------------------------------------------------------------------------------------------------------
# The client
# ------------------------------------------------------------------------------------------------------------


def _segment(value: str, what: str) -> str:
    # Ids end up in URL paths; anything but an id-like token could reach another Graph object.
    if not _PATH_SEGMENT.match(value) or value in (".", ".."):
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default_port


def _unexpected(what: str, *, http_status: int | None, outcome_unknown: bool = False) -> GraphApiError:
    return GraphApiError(
        f"unexpected response to {what}",
        http_status=http_status,
        outcome_unknown=outcome_unknown,
        entry=UNEXPECTED_RESPONSE,
    )


async def load_http_stack() -> None:
    """Load what httpx imports on its first request (anyio's event loop backend): 30-50 ms, several times that
    on a loaded host, that would otherwise hold the event loop in the middle of traffic. Await it at start."""
    await anyio.lowlevel.checkpoint()


class GraphClient:
    """Async Graph API client shared by all tenants; the access token is passed on every call.

    `http` lets the caller supply (and own) the `httpx.AsyncClient`; otherwise one pooled client is created,
    with `transport` injectable for tests, and closed by `aclose()`. `media_hosts` lists the hosts media may
    be downloaded from besides the Graph host itself.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_VERSION,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        media_timeout: httpx.Timeout | float = MEDIA_DOWNLOAD_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        media_hosts: Iterable[str] = META_MEDIA_HOSTS,
    ) -> None:
        if not _VERSION.match(version):
            raise ValueError(f"Graph API version must look like 'v23.0', got {version!r}")
        base = httpx.URL(base_url.rstrip("/"))
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        self.base_url = str(base)
        self.version = version
        self._root = f"{self.base_url}/{version}"
        self._graph_origin = _origin(base)
        self._media_origins = {self._graph_origin} | {("https", host.lower(), 443) for host in media_hosts}
        self._timeout = timeout
        self._media_timeout = media_timeout
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            transport=transport, timeout=timeout, limits=limits, follow_redirects=False
        )

    async def aclose(self) -> None:
        """Close the connection pool if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- plumbing -------------------------------------------------------------------------------------------

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        if not token or any(c in token for c in "\r\n "):
            raise ValueError("an access token is required")
        return {"Authorization": f"Bearer {token}"}

    async def _call(
        self,
        method: str,
        url: str,
        *,
        token: str,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> tuple[int, Any]:
        """One Graph request: returns (status, decoded JSON) for 2xx, raises GraphApiError otherwise."""
        headers = self._auth(token)
        try:
            response = await self._http.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                files=files,
                headers=headers,
                timeout=timeout if timeout is not None else self._timeout,
            )
        except httpx.TransportError as exc:
            raise GraphApiError.from_transport_error(exc) from exc
        if not response.is_success:
            raise GraphApiError.from_response(response.status_code, response.content)
        try:
            decoded = response.json()
        except ValueError:
            # A 2xx we cannot read: for a send, Meta probably acted on it.
            raise _unexpected(
                f"{method} {url}", http_status=response.status_code, outcome_unknown=method != "GET"
            ) from None
        if isinstance(decoded, Mapping) and isinstance(decoded.get("error"), Mapping):
            raise GraphApiError.from_response(response.status_code, decoded)
        return response.status_code, decoded

    def _url(self, *segments: str) -> str:
        return "/".join((self._root, *segments))

    @staticmethod
    def _success(status: int, data: Any, what: str) -> bool:
        try:
            return _SuccessResponse.model_validate(data).success
        except ValidationError:
            raise _unexpected(what, http_status=status) from None

    # --- messages -------------------------------------------------------------------------------------------

    async def send_message(self, token: str, phone_number_id: str, payload: Mapping[str, Any]) -> SendResult:
        """Send a message (`payload` from `outbound.build_message`) from a business number.

        Returns once Meta accepted it; delivery and failures after acceptance arrive as status webhooks.
        """
        url = self._url(_segment(phone_number_id, "phone number id"), "messages")
        status, data = await self._call("POST", url, token=token, json=dict(payload))
        try:
            return SendResult.from_response(data)
        except ValueError:
            # Meta answered 2xx, so the message may well be on its way: the caller must reconcile, not resend.
            raise _unexpected("send message", http_status=status, outcome_unknown=True) from None

    async def mark_read(self, token: str, phone_number_id: str, wamid: str, *, typing: bool = False) -> bool:
        """Mark an inbound message (and earlier ones) as read; with `typing`, also show a typing indicator."""
        body = outbound.typing_indicator_request(wamid) if typing else outbound.mark_read_request(wamid)
        url = self._url(_segment(phone_number_id, "phone number id"), "messages")
        status, data = await self._call("POST", url, token=token, json=body)
        return self._success(status, data, "mark as read")

    async def send_typing_indicator(self, token: str, phone_number_id: str, wamid: str) -> bool:
        """Show "typing…" to the user who sent `wamid` (up to 25 s or until we reply); also marks it read."""
        return await self.mark_read(token, phone_number_id, wamid, typing=True)

    # --- media ----------------------------------------------------------------------------------------------

    async def upload_media(
        self, token: str, phone_number_id: str, content: bytes, *, mime_type: str, filename: str = "file"
    ) -> str:
        """Upload media for sending; returns the media id (valid 30 days)."""
        url = self._url(_segment(phone_number_id, "phone number id"), "media")
        status, data = await self._call(
            "POST",
            url,
            token=token,
            data={"messaging_product": outbound.MESSAGING_PRODUCT, "type": mime_type},
            files={"file": (filename, content, mime_type)},
            # Up to 100 MB go up: as long as a download may take.
            timeout=self._media_timeout,
        )
        try:
            return _UploadResponse.model_validate(data).id
        except ValidationError:
            raise _unexpected("media upload", http_status=status) from None

    async def get_media(self, token: str, media_id: str, *, phone_number_id: str | None = None) -> MediaInfo:
        """Where to download a media object. With `phone_number_id`, Meta checks the media belongs to it."""
        params = (
            {"phone_number_id": _segment(phone_number_id, "phone number id")} if phone_number_id else None
        )
        status, data = await self._call(
            "GET", self._url(_segment(media_id, "media id")), token=token, params=params
        )
        try:
            return MediaInfo.model_validate(data)
        except ValidationError:
            raise _unexpected("media lookup", http_status=status) from None

    async def delete_media(self, token: str, media_id: str, *, phone_number_id: str | None = None) -> bool:
        """Delete uploaded media."""
        params = (
            {"phone_number_id": _segment(phone_number_id, "phone number id")} if phone_number_id else None
        )
        status, data = await self._call(
            "DELETE", self._url(_segment(media_id, "media id")), token=token, params=params
        )
        return self._success(status, data, "media delete")

    def check_media_url(self, url: str) -> httpx.URL:
        """The parsed URL if media may be downloaded from it, else `MediaUrlNotAllowedError`.

        Downloads carry the tenant's bearer token, so only Meta's media hosts (and the configured Graph host)
        qualify, over https, without credentials in the URL.
        """
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise MediaUrlNotAllowedError(f"not a URL: {exc}") from None
        if parsed.userinfo or not parsed.host:
            raise MediaUrlNotAllowedError("media URL must be absolute and carry no credentials")
        if _origin(parsed) not in self._media_origins:
            raise MediaUrlNotAllowedError(f"media is not downloaded from {parsed.scheme}://{parsed.host}")
        return parsed

    async def download_media_to(
        self,
        token: str,
        url: str,
        write: Callable[[bytes], Awaitable[object]],
        *,
        max_bytes: int = MAX_MEDIA_BYTES,
    ) -> MediaDownload:
        """Stream media from `url` (as Meta returned it) into `write`, refusing more than `max_bytes`.

        Raises `MediaUrlNotAllowedError` before any request for a foreign host, `MediaTooLargeError` as soon
        as the size is known to exceed the cap, and `GraphApiError` for HTTP/network failures (an expired URL
        gives category MEDIA: fetch a fresh one with `get_media`).
        """
        target = self.check_media_url(url)
        headers = self._auth(token)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with self._http.stream(
                    "GET", target, headers=headers, timeout=self._media_timeout
                ) as rsp:
                    if rsp.is_redirect:
                        location = rsp.headers.get("location")
                        if not location:
                            raise _unexpected("media download", http_status=rsp.status_code)
                        target = self.check_media_url(str(target.join(location)))
                        continue
                    if not rsp.is_success:
                        raise await self._download_error(rsp)
                    return await self._stream_body(rsp, write, max_bytes)
            except httpx.TransportError as exc:
                raise GraphApiError.from_transport_error(exc) from exc
        raise _unexpected("media download (too many redirects)", http_status=None)

    async def download_media(
        self, token: str, url: str, *, max_bytes: int = MAX_MEDIA_BYTES
    ) -> DownloadedMedia:
        """Download media from `url` into memory (see `download_media_to` for the rules)."""
        chunks: list[bytes] = []

        async def collect(chunk: bytes) -> None:
            chunks.append(chunk)

        info = await self.download_media_to(token, url, collect, max_bytes=max_bytes)
        return DownloadedMedia(
            size=info.size, mime_type=info.mime_type, sha256_hex=info.sha256_hex, content=b"".join(chunks)
        )

    @staticmethod
    async def _stream_body(
        rsp: httpx.Response, write: Callable[[bytes], Awaitable[object]], max_bytes: int
    ) -> MediaDownload:
        declared = rsp.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise MediaTooLargeError(max_bytes, int(declared))
        digest = hashlib.sha256()
        size = 0
        async for chunk in rsp.aiter_bytes():
            size += len(chunk)
            # Checked per chunk, not trusted from Content-Length: a lying server cannot make us buffer more.
            if size > max_bytes:
                raise MediaTooLargeError(max_bytes)
            digest.update(chunk)
            await write(chunk)
        mime = rsp.headers.get("content-type")
        return MediaDownload(
            size=size, mime_type=mime.split(";")[0].strip() if mime else None, sha256_hex=digest.hexdigest()
        )

    @staticmethod
    async def _download_error(rsp: httpx.Response) -> GraphApiError:
        body = bytearray()
        async for chunk in rsp.aiter_bytes():
            body += chunk
            if len(body) >= _MAX_ERROR_BODY:
                break
        error = GraphApiError.from_response(rsp.status_code, bytes(body[:_MAX_ERROR_BODY]))
        if error.code is None and rsp.status_code in (403, 404, 410):
            return GraphApiError(error.message, http_status=rsp.status_code, entry=MEDIA_URL_EXPIRED)
        return error

    # --- templates ------------------------------------------------------------------------------------------

    async def iter_templates(
        self,
        token: str,
        waba_id: str,
        *,
        fields: Sequence[str] | None = None,
        limit: int = 100,
        status: str | None = None,
        name: str | None = None,
    ) -> AsyncIterator[TemplateInfo]:
        """Every template of a WhatsApp Business Account, page by page (following `paging.next`)."""
        url = self._url(_segment(waba_id, "WABA id"), "message_templates")
        params: dict[str, str | int] = {"limit": limit}
        if fields:
            params["fields"] = ",".join(fields)
        if status:
            params["status"] = status
        if name:
            params["name"] = name
        seen: set[str] = set()
        next_params: Mapping[str, str | int] | None = params
        for _ in range(MAX_TEMPLATE_PAGES):
            http_status, data = await self._call("GET", url, token=token, params=next_params)
            try:
                page = TemplatesPage.model_validate(data)
            except ValidationError:
                raise _unexpected("template list", http_status=http_status) from None
            for template in page.data:
                yield template
            paging = page.paging
            # Meta omits `next` on the last page even when cursors are present.
            if paging is None or not paging.next or paging.next in seen:
                return
            seen.add(paging.next)
            next_url = httpx.URL(paging.next)
            if next_url.is_absolute_url and _origin(next_url) == self._graph_origin:
                url, next_params = paging.next, None
            elif paging.cursors and paging.cursors.after:
                # Never send the token to a host other than the Graph host: rebuild the page URL ourselves.
                next_params = {**params, "after": paging.cursors.after}
            else:
                return

    async def list_templates(
        self,
        token: str,
        waba_id: str,
        *,
        fields: Sequence[str] | None = None,
        limit: int = 100,
        status: str | None = None,
        name: str | None = None,
    ) -> list[TemplateInfo]:
        """All templates of a WhatsApp Business Account (every page)."""
        return [
            t
            async for t in self.iter_templates(
                token, waba_id, fields=fields, limit=limit, status=status, name=name
            )
        ]

    async def create_template(
        self, token: str, waba_id: str, definition: Mapping[str, Any]
    ) -> TemplateCreateResult:
        """Submit a template for review (`definition` from `outbound.template_definition`)."""
        url = self._url(_segment(waba_id, "WABA id"), "message_templates")
        status, data = await self._call("POST", url, token=token, json=dict(definition))
        try:
            return TemplateCreateResult.model_validate(data)
        except ValidationError:
            raise _unexpected("template create", http_status=status) from None

    async def delete_template(
        self, token: str, waba_id: str, name: str, *, template_id: str | None = None
    ) -> bool:
        """Delete a template: every language of `name`, or only the one with `template_id`."""
        params = {"name": name}
        if template_id is not None:
            params["hsm_id"] = _segment(template_id, "template id")
        url = self._url(_segment(waba_id, "WABA id"), "message_templates")
        status, data = await self._call("DELETE", url, token=token, params=params)
        return self._success(status, data, "template delete")

    # --- account --------------------------------------------------------------------------------------------

    async def get_phone_number(
        self, token: str, phone_number_id: str, *, fields: Sequence[str] = DEFAULT_PHONE_NUMBER_FIELDS
    ) -> PhoneNumberInfo:
        """A business number's display name, quality rating, messaging limit and throughput."""
        url = self._url(_segment(phone_number_id, "phone number id"))
        status, data = await self._call("GET", url, token=token, params={"fields": ",".join(fields)})
        try:
            return PhoneNumberInfo.model_validate(data)
        except ValidationError:
            raise _unexpected("phone number lookup", http_status=status) from None

    async def subscribe_app(
        self,
        token: str,
        waba_id: str,
        *,
        override_callback_uri: str | None = None,
        verify_token: str | None = None,
    ) -> bool:
        """Subscribe our app to a WhatsApp Business Account's webhooks (optionally to another URL)."""
        body: dict[str, str] = {}
        if override_callback_uri is not None:
            if not verify_token:
                raise ValueError("an override callback URI needs its verify token")
            body = {"override_callback_uri": override_callback_uri, "verify_token": verify_token}
        url = self._url(_segment(waba_id, "WABA id"), "subscribed_apps")
        status, data = await self._call("POST", url, token=token, json=body or None)
        return self._success(status, data, "app subscription")
