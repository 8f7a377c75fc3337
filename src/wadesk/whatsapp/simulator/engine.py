"""The simulated Cloud API: registry, sends, statuses, templates, media and webhook delivery."""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import random
from collections import OrderedDict, deque
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog

from wadesk.whatsapp.graph import load_http_stack

from . import graph_errors
from .ambient import run_ambient_traffic
from .config import AmbientSender, SimulatedPhoneNumber, SimulatedTemplate, SimulatorConfig
from .delivery import post_webhook
from .graph_errors import GraphError
from .ids import bsuid_for, digits_only, new_conversation_id, new_wamid
from .inbound import (
    MEDIA_INBOUND_TYPES,
    REPLY_INBOUND_TYPES,
    InboundMessage,
    MediaRef,
    build_inbound_message_payload,
    default_profile_name,
)
from .media import MediaObject, MediaStore, base_mime, parse_multipart, sample_media, validate_upload
from .message_rules import MarkReadRequest, SendRequest, parse_send
from .payloads import (
    FAILURE_ERRORS,
    contact_entry,
    encode_webhook,
    graph_major_version,
    messages_webhook,
    pricing_for,
    status_object,
    template_status_webhook,
)
from .stats import SimulatorStats
from .template_rules import check_template_send, validate_template_creation

log = structlog.get_logger(__name__)

# Recipients with scripted outcomes: accepted then failed asynchronously, or refused synchronously.
RESERVED_FAILED_RECIPIENTS: dict[str, int] = {"15550000404": 131026, "15550000470": 131047}
RESERVED_RATE_LIMITED_RECIPIENT = "15550000429"
THROUGHPUT_WINDOW_SECONDS = 1.0
CONVERSATION_SECONDS = 24 * 3600
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000
_MAX_REMEMBERED_MESSAGES = 10_000
# "Event Notifications are aggregated and sent in a batch with a maximum of 1000 updates."
MAX_STATUSES_PER_WEBHOOK = 1000


@dataclass(frozen=True)
class SentMessage:
    """A message the application sent through the simulator."""

    wamid: str
    phone_number_id: str
    to: str
    wa_id: str
    type: str
    content: dict[str, Any] | list[Any]
    biz_opaque_callback_data: str | None
    accepted_at: float
    version: str


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def encode_cursor(position: int) -> str:
    """Meta's opaque cursors are base64 with `=` spelled `ZD`: position 0 → `MAZDZD`."""
    encoded = base64.b64encode(str(position).encode()).decode()
    return encoded.rstrip("=") + "ZD" * (len(encoded) - len(encoded.rstrip("=")))


def decode_cursor(cursor: str) -> int:
    body = cursor
    padding = ""
    while body.endswith("ZD"):
        body = body[:-2]
        padding += "="
    try:
        position = int(base64.b64decode(body + padding, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise graph_errors.invalid_parameter(f"Invalid cursor: {cursor}") from None
    if position < 0:
        raise graph_errors.invalid_parameter(f"Invalid cursor: {cursor}")
    return position


@dataclass(frozen=True)
class PlannedStatus:
    """One status webhook of a sent message: when it is due (seconds after the send) and what it says."""

    offset: float
    status: str
    number: SimulatedPhoneNumber
    item: dict[str, Any]
    contacts: list[dict[str, Any]] | None


def _statuses_webhook(
    number: SimulatedPhoneNumber, statuses: list[dict[str, Any]], contacts: list[dict[str, Any]] | None
) -> dict[str, Any]:
    return messages_webhook(
        waba_id=number.waba_id,
        phone_number_id=number.phone_number_id,
        display_phone_number=number.display_phone_number,
        contacts=contacts,
        statuses=statuses,
    )


class Simulator:
    """A fake Meta Graph API with its own clock, registry and background webhook deliveries.

    Methods raising `GraphError` are called by the HTTP routes (`create_simulator_app`), which render it as
    Meta's error body. Background work (status and template webhooks) runs in tasks; `drain()` waits for it
    and `aclose()` cancels it and closes the HTTP client.
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.stats = SimulatorStats()
        self.media = MediaStore(config.media_max_total_bytes)
        self._rng = random.Random(config.seed)
        self._numbers: dict[str, SimulatedPhoneNumber] = {}
        self._templates: dict[str, list[SimulatedTemplate]] = {}
        self._windows: dict[str, deque[float]] = {}
        self._messages: OrderedDict[str, SentMessage] = OrderedDict()
        self._last_outbound: dict[tuple[str, str], str] = {}
        self._inbound_senders: OrderedDict[str, str] = OrderedDict()
        self._profiles: dict[str, str] = {}
        self._expired_tokens: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Per number: the statuses waiting to be posted together, and the timer that posts them.
        self._status_batches: dict[str, tuple[list[PlannedStatus], asyncio.TimerHandle]] = {}
        self._client: httpx.AsyncClient | None = None
        self._posting: asyncio.Semaphore | None = None
        self._ambient: asyncio.Task[None] | None = None
        for number in config.phone_numbers:
            self.register_phone_number(number)
        for waba_id, templates in config.templates.items():
            for template in templates:
                self.register_template(waba_id, template)

    # --- registry -------------------------------------------------------------------------------------------

    def register_phone_number(self, number: SimulatedPhoneNumber) -> SimulatedPhoneNumber:
        """Serve a business number (replacing any previous registration of the same id)."""
        self._numbers[number.phone_number_id] = number
        self._templates.setdefault(number.waba_id, [])
        return number

    def register_template(self, waba_id: str, template: SimulatedTemplate) -> SimulatedTemplate:
        """Add a template to a WABA, replacing one with the same name and language."""
        templates = self._templates.setdefault(waba_id, [])
        templates[:] = [t for t in templates if (t.name, t.language) != (template.name, template.language)]
        templates.append(template)
        return template

    def phone_number(self, phone_number_id: str) -> SimulatedPhoneNumber | None:
        return self._numbers.get(phone_number_id)

    @property
    def phone_numbers(self) -> list[SimulatedPhoneNumber]:
        return list(self._numbers.values())

    def templates(self, waba_id: str) -> list[SimulatedTemplate]:
        return list(self._templates.get(waba_id, []))

    def find_template(self, template_id: str) -> tuple[str, SimulatedTemplate] | None:
        for waba_id, templates in self._templates.items():
            for template in templates:
                if template.id == template_id:
                    return waba_id, template
        return None

    def expire_access_token(self, token: str) -> None:
        """From now on, calls with `token` get Meta's "session has expired" error (190, subcode 463)."""
        self._expired_tokens.add(token)

    @property
    def sent_messages(self) -> list[SentMessage]:
        """The most recent messages the application sent, oldest first."""
        return list(self._messages.values())

    def _numbers_of_waba(self, waba_id: str) -> list[SimulatedPhoneNumber]:
        return [n for n in self._numbers.values() if n.waba_id == waba_id]

    def _is_waba(self, waba_id: str) -> bool:
        return waba_id in self._templates

    # --- auth -----------------------------------------------------------------------------------------------

    def authorize(self, authorization: str | None, numbers: Iterable[SimulatedPhoneNumber]) -> str:
        """The bearer token, when the numbers concerned accept it; else Meta's 2500 / 190."""
        token = _bearer(authorization)
        if token is None:
            raise graph_errors.missing_token()
        if token in self._expired_tokens:
            raise graph_errors.expired_token()
        required = [n.access_token for n in numbers]
        if required and all(t is not None for t in required) and token not in required:
            raise graph_errors.invalid_token()
        return token

    # --- messages -------------------------------------------------------------------------------------------

    def send_message(
        self, version: str, phone_number_id: str, body: Any, authorization: str | None
    ) -> dict[str, Any]:
        """`POST /{version}/{phone-number-id}/messages`; statuses follow in the background."""
        now = self.config.clock()
        self.stats.record_messages_call(phone_number_id, now)
        try:
            result = self._send_message(version, phone_number_id, body, authorization, now)
        except GraphError as error:
            self.stats.record_response(error.code)
            raise
        self.stats.record_response(None)
        return result

    def _send_message(
        self, version: str, phone_number_id: str, body: Any, authorization: str | None, now: float
    ) -> dict[str, Any]:
        number = self._numbers.get(phone_number_id)
        self.authorize(authorization, [number] if number else [])
        if number is None:
            raise graph_errors.unknown_object(phone_number_id, "post")
        request = parse_send(body)
        if isinstance(request, MarkReadRequest):
            self.stats.total_mark_read += 1
            return {"success": True}
        if request.wa_id == RESERVED_RATE_LIMITED_RECIPIENT:
            raise graph_errors.rate_limit_hit()
        template = self._template_for_send(number, request) if request.type == "template" else None
        self._take_throughput(number, now)

        wamid = new_wamid(request.wa_id, inbound=False)
        sent = SentMessage(
            wamid=wamid,
            phone_number_id=phone_number_id,
            to=request.to,
            wa_id=request.wa_id,
            type=request.type,
            content=request.content,
            biz_opaque_callback_data=request.biz_opaque_callback_data,
            accepted_at=now,
            version=version,
        )
        self._remember(sent)
        self.stats.total_sends += 1
        category = template.category.lower() if template else "service"
        self._spawn(self._deliver_statuses(self._plan_statuses(number, sent, category)))

        message: dict[str, Any] = {"id": wamid}
        if request.type == "template":
            message["message_status"] = "accepted"
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": request.to, "wa_id": request.wa_id}],
            "messages": [message],
        }

    def _take_throughput(self, number: SimulatedPhoneNumber, now: float) -> None:
        """A sliding one-second window over accepted messages, on the simulator clock."""
        window = self._windows.setdefault(number.phone_number_id, deque())
        while window and now - window[0] >= THROUGHPUT_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= number.messages_per_second:
            raise graph_errors.rate_limit_hit()
        window.append(now)

    def _template_for_send(self, number: SimulatedPhoneNumber, request: SendRequest) -> SimulatedTemplate:
        content = request.content
        assert isinstance(content, dict)
        name = str(content["name"])
        language = str(content["language"]["code"])
        template = next(
            (t for t in self._templates.get(number.waba_id, []) if t.name == name and t.language == language),
            None,
        )
        if template is None or template.status not in {"APPROVED", "PAUSED", "DISABLED"}:
            raise graph_errors.template_missing(name, language)
        if template.status == "PAUSED":
            raise graph_errors.template_paused(name)
        if template.status == "DISABLED":
            raise graph_errors.template_disabled(name)
        check_template_send(template, content.get("components"))
        return template

    def _remember(self, sent: SentMessage) -> None:
        self._messages[sent.wamid] = sent
        while len(self._messages) > _MAX_REMEMBERED_MESSAGES:
            self._messages.popitem(last=False)
        self._last_outbound[(sent.phone_number_id, sent.wa_id)] = sent.wamid

    def _plan_statuses(
        self, number: SimulatedPhoneNumber, sent: SentMessage, category: str
    ) -> list[PlannedStatus]:
        """Each status delivery of one sent message, in posting order, duplicates included."""
        delays = self.config.status_delays
        failure = RESERVED_FAILED_RECIPIENTS.get(sent.wa_id)
        events: list[tuple[str, float]] = [("failed" if failure else "sent", delays.sent)]
        if failure is None and sent.type != "reaction":  # a reaction only ever gets "sent"
            if delays.delivered is not None:
                events.append(("delivered", max(delays.delivered, delays.sent)))
            if delays.read is not None:
                events.append(("read", max(delays.read, delays.delivered or 0.0, delays.sent)))
        with_conversation = graph_major_version(sent.version) <= 23
        conversation_id = new_conversation_id()
        pricing_status = "delivered" if any(e == "delivered" for e, _ in events) else "read"
        known_name = self._profiles.get(sent.wa_id)

        planned: list[PlannedStatus] = []
        for status, offset in events:
            timestamp = int(sent.accepted_at + offset)
            if status == "failed":
                assert failure is not None
                item = status_object(
                    wamid=sent.wamid,
                    status="failed",
                    timestamp=timestamp,
                    recipient_id=sent.wa_id,
                    biz_opaque_callback_data=sent.biz_opaque_callback_data,
                    errors=[FAILURE_ERRORS[failure]],
                )
                contacts = None
            else:
                conversation: dict[str, Any] | None = None
                if with_conversation:
                    conversation = {"id": conversation_id}
                    if status == "sent":
                        conversation["expiration_timestamp"] = str(
                            int(sent.accepted_at) + CONVERSATION_SECONDS
                        )
                    conversation["origin"] = {"type": category}
                item = status_object(
                    wamid=sent.wamid,
                    status=status,
                    timestamp=timestamp,
                    recipient_id=sent.wa_id,
                    recipient_user_id=bsuid_for(sent.wa_id),
                    biz_opaque_callback_data=sent.biz_opaque_callback_data,
                    conversation=conversation,
                    pricing=pricing_for(category) if status in {"sent", pricing_status} else None,
                )
                contacts = (
                    [contact_entry(sent.wa_id, name=known_name, user_id=bsuid_for(sent.wa_id))]
                    if known_name
                    else None
                )
            planned.append(PlannedStatus(offset, status, number, item, contacts))

        if len(planned) > 1 and self._rng.random() < self.config.out_of_order_ratio:
            i = self._rng.randrange(len(planned) - 1)
            first, second = planned[i], planned[i + 1]
            planned[i] = dataclasses.replace(second, offset=first.offset)
            planned[i + 1] = dataclasses.replace(first, offset=second.offset)

        deliveries: list[PlannedStatus] = []
        for delivery in planned:
            deliveries.append(delivery)
            if self._rng.random() < self.config.duplicate_ratio:
                deliveries.append(delivery)
        return deliveries

    async def _deliver_statuses(self, deliveries: list[PlannedStatus]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for delivery in deliveries:
            wait = started + delivery.offset - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.stats.status_webhooks[delivery.status] += 1
            if self.config.status_batch_seconds > 0:
                self._batch_status(delivery)
            else:
                await self.deliver_webhook(
                    _statuses_webhook(delivery.number, [delivery.item], delivery.contacts), field="messages"
                )

    def _batch_status(self, delivery: PlannedStatus) -> None:
        """Add a due status to its number's next batch, posted `status_batch_seconds` after the batch's first
        status or as soon as it holds Meta's maximum of 1,000 updates."""
        number_id = delivery.number.phone_number_id
        if number_id not in self._status_batches:
            timer = asyncio.get_running_loop().call_later(
                self.config.status_batch_seconds, self._post_status_batch, number_id
            )
            self._status_batches[number_id] = ([], timer)
        batch, _ = self._status_batches[number_id]
        batch.append(delivery)
        if len(batch) >= MAX_STATUSES_PER_WEBHOOK:
            self._post_status_batch(number_id)

    def _post_status_batch(self, number_id: str) -> None:
        batch, timer = self._status_batches.pop(number_id)
        timer.cancel()  # when it filled up before its timer
        contacts: dict[str, dict[str, Any]] = {}
        for delivery in batch:
            for contact in delivery.contacts or ():
                contacts.setdefault(str(contact.get("wa_id")), contact)
        payload = _statuses_webhook(batch[0].number, [d.item for d in batch], list(contacts.values()) or None)
        self._spawn(self.deliver_webhook(payload, field="messages"))

    # --- webhook delivery -----------------------------------------------------------------------------------

    def http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            if self.config.http_client_factory is not None:
                self._client = self.config.http_client_factory()
            else:
                self._client = httpx.AsyncClient(
                    transport=self.config.webhook_transport, timeout=self.config.webhook_timeout
                )
        return self._client

    async def deliver_webhook(
        self, payload: dict[str, Any] | bytes, *, field: str, attempts: int | None = None
    ) -> int | None:
        """POST a signed webhook, retrying non-200 answers with backoff as Meta does.

        Returns the last HTTP status (None when the app could not be reached).
        """
        raw = payload if isinstance(payload, bytes) else encode_webhook(payload)
        attempts = self.config.webhook_max_attempts if attempts is None else attempts
        status: int | None = None
        for attempt in range(attempts):
            try:
                async with self._posting_slots():
                    response = await post_webhook(
                        self.http_client(), self.config.app_webhook_url, self.config.app_secret, raw
                    )
                status = response.status_code
            except httpx.HTTPError as exc:
                log.warning("simulator.webhook_unreachable", url=self.config.app_webhook_url, error=str(exc))
                status = None
            if status == 200:
                self.stats.record_webhook(field, delivered=True)
                return status
            if attempt + 1 < attempts:
                await asyncio.sleep(self.config.webhook_retry_delay * 2**attempt)
        self.stats.record_webhook(field, delivered=False)
        return status

    def _posting_slots(self) -> asyncio.Semaphore:
        """At most `webhook_concurrency` webhooks in flight: the rest wait their turn here, as Meta queues
        deliveries to a slow endpoint, rather than each opening a connection of its own."""
        if self._posting is None:
            self._posting = asyncio.Semaphore(self.config.webhook_concurrency)
        return self._posting

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("simulator.background_task_failed", error=repr(task.exception()))

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every scheduled webhook (status, template review) has been delivered."""
        async with asyncio.timeout(timeout):
            while self._tasks or self._status_batches:
                if self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)
                else:  # statuses waiting for their batch to be posted
                    await asyncio.sleep(self.config.status_batch_seconds / 2)

    async def start(self) -> None:
        """Open the webhook client and start what the configuration asks to run in the background (ambient
        traffic). The client is opened and httpx's stack loaded now rather than at the first webhook: both
        hold the event loop for tens of milliseconds (over 100 on a loaded host), and the Graph calls held up
        behind them would then reach the throughput window in a bunch."""
        self.http_client()
        await load_http_stack()
        if self.config.ambient_interval is not None and self.config.ambient_senders:
            self.start_ambient()

    async def aclose(self) -> None:
        """Cancel background work and close the webhook client."""
        await self.stop_ambient()
        for _, timer in self._status_batches.values():
            timer.cancel()
        self._status_batches.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- templates ------------------------------------------------------------------------------------------

    def list_templates(
        self, waba_id: str, params: dict[str, str], authorization: str | None, request_url: str
    ) -> dict[str, Any]:
        """`GET /{waba-id}/message_templates` with Meta's `limit` / `after` / `before` cursor paging."""
        self.authorize(authorization, self._numbers_of_waba(waba_id))
        if not self._is_waba(waba_id):
            raise graph_errors.unknown_object(waba_id, "get")
        templates = self._templates[waba_id]
        for key in ("name", "status", "language", "category"):
            wanted = params.get(key)
            if wanted:
                if key == "name":
                    templates = [t for t in templates if wanted in t.name]
                else:
                    templates = [t for t in templates if getattr(t, key).lower() == wanted.lower()]
        try:
            limit = int(params.get("limit", DEFAULT_PAGE_SIZE))
        except ValueError:
            raise graph_errors.invalid_parameter("Param limit must be an integer.") from None
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise graph_errors.invalid_parameter(f"Param limit must be between 1 and {MAX_PAGE_SIZE}.")
        if params.get("after"):
            start = decode_cursor(params["after"]) + 1
        elif params.get("before"):
            start = max(0, decode_cursor(params["before"]) - limit)
        else:
            start = 0
        page = templates[start : start + limit]
        fields = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
        data = [self._template_fields(t, fields) for t in page]
        if not page:
            return {"data": data}
        end = start + len(page) - 1
        paging: dict[str, Any] = {"cursors": {"before": encode_cursor(start), "after": encode_cursor(end)}}
        base = request_url.split("?", 1)[0]
        query = {k: v for k, v in params.items() if k not in {"after", "before"}}
        if end + 1 < len(templates):
            paging["next"] = f"{base}?{urlencode({**query, 'after': encode_cursor(end)})}"
        if start > 0:
            paging["previous"] = f"{base}?{urlencode({**query, 'before': encode_cursor(start)})}"
        return {"data": data, "paging": paging}

    @staticmethod
    def _template_fields(template: SimulatedTemplate, fields: list[str]) -> dict[str, Any]:
        full = template.to_graph()
        if not fields:
            return full
        return {key: value for key, value in full.items() if key in fields or key == "id"}

    def create_template(self, waba_id: str, body: Any, authorization: str | None) -> dict[str, Any]:
        """`POST /{waba-id}/message_templates`: PENDING now, reviewed after `template_review_delay`."""
        self.authorize(authorization, self._numbers_of_waba(waba_id))
        if not self._is_waba(waba_id):
            raise graph_errors.unknown_object(waba_id, "post")
        template, review = validate_template_creation(body, self._templates[waba_id])
        self._templates[waba_id].append(template)
        self._spawn(
            self._review_template(waba_id, template, review.event, review.reason, review.rejection_info)
        )
        return {"id": template.id, "status": template.status, "category": template.category}

    async def _review_template(
        self,
        waba_id: str,
        template: SimulatedTemplate,
        event: str,
        reason: str,
        rejection_info: dict[str, str] | None,
    ) -> None:
        await asyncio.sleep(self.config.template_review_delay)
        if template not in self._templates.get(waba_id, []):
            return  # deleted while in review
        template.status = event
        payload = template_status_webhook(
            waba_id=waba_id,
            time=int(self.config.clock()),
            template=template,
            event=event,
            reason=reason,
            rejection_info=rejection_info,
        )
        await self.deliver_webhook(payload, field="message_template_status_update")

    def edit_template(self, template_id: str, body: Any, authorization: str | None) -> dict[str, Any]:
        """`POST /{template-id}`: new components or category; the template goes back to review."""
        found = self.find_template(template_id)
        if found is None:
            raise graph_errors.unknown_object(template_id, "post")
        waba_id, template = found
        self.authorize(authorization, self._numbers_of_waba(waba_id))
        if template.status == "PENDING":
            raise graph_errors.template_management_error(
                "Template is in review", "You can't edit a template while it is in review.", subcode=2388039
            )
        if not isinstance(body, dict) or not ({"components", "category"} & body.keys()):
            raise graph_errors.required_parameter("components")
        others = [t for t in self._templates[waba_id] if t is not template]
        candidate = {
            "name": template.name,
            "language": template.language,
            "category": body.get("category", template.category),
            "parameter_format": template.parameter_format,
            "components": body.get("components", template.components),
        }
        updated, review = validate_template_creation(candidate, others)
        template.components = updated.components
        template.category = updated.category
        template.status = "PENDING"
        self._spawn(
            self._review_template(waba_id, template, review.event, review.reason, review.rejection_info)
        )
        return {"success": True}

    def delete_template(
        self, waba_id: str, params: dict[str, str], authorization: str | None
    ) -> dict[str, Any]:
        """`DELETE /{waba-id}/message_templates?name=…[&hsm_id=…]`: every language, or just that id."""
        self.authorize(authorization, self._numbers_of_waba(waba_id))
        if not self._is_waba(waba_id):
            raise graph_errors.unknown_object(waba_id, "delete")
        name = params.get("name")
        if not name:
            raise graph_errors.required_parameter("name")
        hsm_id = params.get("hsm_id")
        templates = self._templates[waba_id]
        doomed = [t for t in templates if t.name == name and (hsm_id is None or t.id == hsm_id)]
        if not doomed:
            raise graph_errors.template_management_error(
                "Message template not found", f"No message template named {name} was found.", subcode=2593002
            )
        templates[:] = [t for t in templates if t not in doomed]
        return {"success": True}

    # --- objects by id --------------------------------------------------------------------------------------

    def get_object(
        self, object_id: str, params: dict[str, str], authorization: str | None, base_url: str
    ) -> dict[str, Any]:
        """`GET /{id}` for a phone number, media object, template or WABA."""
        fields = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
        number = self._numbers.get(object_id)
        if number is not None:
            self.authorize(authorization, [number])
            return self._only(self._phone_number_info(number), fields)
        media = self.media.get(object_id)
        if media is not None:
            owner = self._numbers.get(media.phone_number_id)
            self.authorize(authorization, [owner] if owner else [])
            wanted_number = params.get("phone_number_id")
            if wanted_number and wanted_number != media.phone_number_id:
                raise graph_errors.invalid_parameter(
                    f"Media {object_id} does not belong to phone number {wanted_number}."
                )
            return self._media_info(media, base_url)
        found = self.find_template(object_id)
        if found is not None:
            waba_id, template = found
            self.authorize(authorization, self._numbers_of_waba(waba_id))
            return self._template_fields(template, fields)
        if self._is_waba(object_id):
            self.authorize(authorization, self._numbers_of_waba(object_id))
            return self._only({"id": object_id, "name": f"WhatsApp Business Account {object_id}"}, fields)
        self.authorize(authorization, [])
        raise graph_errors.unknown_object(object_id, "get")

    @staticmethod
    def _only(info: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        if not fields:
            return info
        return {key: value for key, value in info.items() if key in fields or key == "id"}

    @staticmethod
    def _phone_number_info(number: SimulatedPhoneNumber) -> dict[str, Any]:
        return {
            "verified_name": number.verified_name,
            "code_verification_status": "VERIFIED",
            "display_phone_number": number.display_phone_number,
            "quality_rating": number.quality_rating,
            "platform_type": "CLOUD_API",
            "throughput": {"level": "HIGH" if number.messages_per_second >= 1000 else "STANDARD"},
            "messaging_limit_tier": number.messaging_limit_tier,
            "whatsapp_business_manager_messaging_limit": number.messaging_limit_tier,
            "id": number.phone_number_id,
        }

    def list_phone_numbers(self, waba_id: str, authorization: str | None) -> dict[str, Any]:
        """`GET /{waba-id}/phone_numbers`."""
        numbers = self._numbers_of_waba(waba_id)
        self.authorize(authorization, numbers)
        if not self._is_waba(waba_id):
            raise graph_errors.unknown_object(waba_id, "get")
        data = [self._phone_number_info(n) for n in numbers]
        if not data:
            return {"data": data}
        return {
            "data": data,
            "paging": {"cursors": {"before": encode_cursor(0), "after": encode_cursor(len(data) - 1)}},
        }

    # --- media ----------------------------------------------------------------------------------------------

    def _media_info(self, media: MediaObject, base_url: str) -> dict[str, Any]:
        expires = int(self.config.clock() + self.config.media_url_ttl_seconds)
        return {
            "url": self.media.download_url(base_url, media.id, expires),
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": str(media.file_size),
            "id": media.id,
            "messaging_product": "whatsapp",
        }

    def upload_media(
        self, phone_number_id: str, content_type: str, body: bytes, authorization: str | None
    ) -> dict[str, Any]:
        """`POST /{phone-number-id}/media` (multipart: `file`, `type`, `messaging_product`)."""
        number = self._numbers.get(phone_number_id)
        self.authorize(authorization, [number] if number else [])
        if number is None:
            raise graph_errors.unknown_object(phone_number_id, "post")
        parts = parse_multipart(content_type, body)
        product = parts.get("messaging_product")
        if product is None or product.data.decode(errors="replace").strip() != "whatsapp":
            raise graph_errors.required_parameter("messaging_product")
        file_part = parts.get("file")
        if file_part is None or file_part.filename is None:
            raise graph_errors.required_parameter("file")
        type_part = parts.get("type")
        mime = type_part.data.decode(errors="replace").strip() if type_part else file_part.content_type
        if not mime:
            raise graph_errors.required_parameter("type")
        validate_upload(file_part.data, mime)
        media = self.media.put(phone_number_id, file_part.data, base_mime(mime), file_part.filename)
        return {"id": media.id}

    def store_media(
        self, phone_number_id: str, data: bytes, mime_type: str, filename: str | None = None
    ) -> MediaObject:
        """Keep a file as if a customer had sent it to `phone_number_id`."""
        if phone_number_id not in self._numbers:
            raise graph_errors.unknown_object(phone_number_id, "post")
        return self.media.put(phone_number_id, data, mime_type, filename)

    def delete_media(
        self, media_id: str, params: dict[str, str], authorization: str | None
    ) -> dict[str, Any]:
        """`DELETE /{media-id}`."""
        media = self.media.get(media_id)
        owner = self._numbers.get(media.phone_number_id) if media else None
        self.authorize(authorization, [owner] if owner else [])
        if media is None:
            raise graph_errors.unknown_object(media_id, "delete")
        wanted_number = params.get("phone_number_id")
        if wanted_number and wanted_number != media.phone_number_id:
            raise graph_errors.invalid_parameter(
                f"Media {media_id} does not belong to phone number {wanted_number}."
            )
        self.media.delete(media_id)
        return {"success": True}

    def download_media(self, params: dict[str, str], authorization: str | None) -> MediaObject | None:
        """The media behind a download URL when the URL is intact and unexpired and the token is accepted.

        Returns None for a bad or expired URL (404); raises GraphError for a missing or wrong token.
        """
        media_id = params.get("mid", "")
        expires = params.get("ext", "")
        if not self.media.url_is_valid(media_id, expires, params.get("hash", "")):
            return None
        media = self.media.get(media_id)
        owner = self._numbers.get(media.phone_number_id) if media else None
        self.authorize(authorization, [owner] if owner else [])
        if media is None or int(expires) < self.config.clock():
            return None
        return media

    # --- simulated customers --------------------------------------------------------------------------------

    async def inject_inbound(
        self, message: InboundMessage, *, base_url: str | None = None
    ) -> tuple[str, int | None]:
        """A customer sends `message`: the signed webhook is posted once; returns (wamid, the app's status).

        Media messages get a sample file stored here (or `message.media_id` if it is one of ours). Reactions
        and button/list replies without an explicit target refer to the last message sent to that customer.
        Raises ValueError when the message is incomplete or the phone number unknown.
        """
        number = self._numbers.get(message.phone_number_id)
        if number is None:
            raise ValueError(f"unknown phone number id {message.phone_number_id}")
        sender = digits_only(message.sender)
        if not sender:
            raise ValueError("from must be a phone number")
        last_outbound = self._last_outbound.get((number.phone_number_id, sender))
        updates: dict[str, Any] = {}
        if message.type == "reaction" and message.react_to_wamid is None:
            if last_outbound is None:
                raise ValueError("a reaction needs reactToWamid (no message was sent to this customer yet)")
            updates["react_to_wamid"] = last_outbound
        if (
            message.type in REPLY_INBOUND_TYPES
            and message.reply_to_wamid is None
            and last_outbound is not None
        ):
            updates["reply_to_wamid"] = last_outbound
        name = message.name or self._profiles.get(sender) or default_profile_name(sender)
        updates["name"] = name
        message = message.model_copy(update=updates)
        self._profiles[sender] = name

        media_ref: MediaRef | None = None
        if message.type in MEDIA_INBOUND_TYPES:
            media_ref = self._inbound_media(number, message, base_url or self.config.public_url)
        reply_to = message.reply_to_wamid
        context_from = self._inbound_senders.get(reply_to) if reply_to else None
        payload = build_inbound_message_payload(
            message,
            waba_id=number.waba_id,
            display_phone_number=number.display_phone_number,
            media=media_ref,
            wamid=new_wamid(sender, inbound=True),
            timestamp=int(self.config.clock()),
            context_from=context_from,
        )
        wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        self._inbound_senders[wamid] = sender
        while len(self._inbound_senders) > _MAX_REMEMBERED_MESSAGES:
            self._inbound_senders.popitem(last=False)
        status = await self.deliver_webhook(payload, field="messages", attempts=1)
        return wamid, status

    def _inbound_media(
        self, number: SimulatedPhoneNumber, message: InboundMessage, base_url: str | None
    ) -> MediaRef:
        media = self.media.get(message.media_id) if message.media_id else None
        if media is None:
            sample = sample_media(message.type, filename=message.filename)
            media = self.media.put(number.phone_number_id, sample.data, sample.mime_type, sample.filename)
        url = None
        if base_url:
            expires = int(self.config.clock() + self.config.media_url_ttl_seconds)
            url = self.media.download_url(base_url, media.id, expires)
        return MediaRef(
            id=media.id, mime_type=media.mime_type, sha256=media.sha256, url=url, filename=media.filename
        )

    # --- ambient traffic ------------------------------------------------------------------------------------

    def start_ambient(
        self,
        *,
        phone_number_id: str | None = None,
        senders: list[AmbientSender] | None = None,
        interval: float | None = None,
    ) -> None:
        """Start occasional customer messages (arguments default to the configuration's `ambient_*`)."""
        if self._ambient is not None and not self._ambient.done():
            return
        interval = interval if interval is not None else self.config.ambient_interval
        senders = senders if senders is not None else self.config.ambient_senders
        target = phone_number_id or self.config.ambient_phone_number_id
        if target is None and self._numbers:
            target = next(iter(self._numbers))
        if interval is None or interval <= 0 or not senders or target is None:
            raise ValueError("ambient traffic needs a positive interval, senders and a phone number")
        pnid: str = target

        async def send(sender: AmbientSender, text: str) -> object:
            message = InboundMessage(phone_number_id=pnid, sender=sender.wa_id, name=sender.name, text=text)
            return await self.inject_inbound(message)

        self._ambient = asyncio.get_running_loop().create_task(
            run_ambient_traffic(send, senders, interval=interval, rng=self._rng)
        )

    async def stop_ambient(self) -> None:
        task, self._ambient = self._ambient, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @property
    def ambient_running(self) -> bool:
        return self._ambient is not None and not self._ambient.done()
