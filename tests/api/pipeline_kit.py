"""Shared pieces of the message-pipeline tests: an app with the built-in simulator wired in-process, signed
webhook posts, a bounded wait for the pipeline to go quiet, realtime capture and direct row access."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import InMemoryBroker

from conftest import PAYLOADS, TEST_APP_SECRET, Account
from wadesk.app import create_app
from wadesk.campaigns.progress import ProgressPublisher
from wadesk.config import Settings
from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.db.base import Base, utcnow
from wadesk.db.session import unit_of_work
from wadesk.infra.realtime import RealtimeEvent
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.ops.simulator_link import sync_simulator
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.webhooks.models import WebhookEvent, WebhookEventStatus
from wadesk.whatsapp.signature import SIGNATURE_HEADER, sign
from wadesk.whatsapp.simulator import Simulator

PUBLIC_URL = "http://wadesk.test"
PAYLOAD_TOKEN = "payload-number-access-token"
MAIN_NUMBER = "106540352242922"  # the business number most sample payloads are addressed to
OTHER_NUMBER = "1122334455667"
# The business numbers Meta's sample payloads are addressed to, with the WABA their account updates name.
PAYLOAD_NUMBERS: dict[str, dict[str, str]] = {
    MAIN_NUMBER: {"wabaId": "102290129340398", "displayPhoneNumber": "15550783881"},
    OTHER_NUMBER: {"wabaId": "1234567890987654321", "displayPhoneNumber": "972123456789"},
}

ModelT = TypeVar("ModelT", bound=Base)


def payload_bytes(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def payload_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(payload_bytes(name))
    return data


def webhook_payload_names() -> list[str]:
    """Every sample payload that is a webhook delivery (the others are Graph API requests and answers)."""
    names = []
    for path in sorted(PAYLOADS.glob("*.json")):
        data = json.loads(path.read_bytes())
        if isinstance(data, dict) and data.get("object") == "whatsapp_business_account":
            names.append(path.name)
    return names


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(raw: bytes, secret: str = TEST_APP_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, raw)}


async def post_webhook(
    http: httpx.AsyncClient,
    raw: bytes | dict[str, Any],
    *,
    secret: str = TEST_APP_SECRET,
    path: str = "/api/webhook",
) -> httpx.Response:
    """POST a delivery the way Meta does: the raw bytes, signed with the app secret."""
    body = raw if isinstance(raw, bytes) else encode(raw)
    return await http.post(path, content=body, headers=signed_headers(body, secret))


# --- the app under test --------------------------------------------------------------------------------------


def simulated_settings(settings: Settings, **overrides: Any) -> Settings:
    """The test settings with the built-in simulator as the Graph API, statuses neither duplicated nor swapped
    (tests that want disorder ask for it)."""
    values: dict[str, Any] = {
        "simulator": True,
        "public_url": PUBLIC_URL,
        "simulator_duplicate_ratio": 0.0,
        "simulator_out_of_order_ratio": 0.0,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


@contextlib.asynccontextmanager
async def simulated_app(settings: Settings, **overrides: Any) -> AsyncIterator[FastAPI]:
    """A running app whose Graph calls reach its own simulator, and whose simulator's webhooks reach the app,
    in process over ASGI."""
    application = create_app(
        simulated_settings(settings, **overrides),
        self_transport=lambda target: httpx.ASGITransport(app=target, client=("127.0.0.1", 50001)),
    )
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=120):
        yield application


def simulator_of(app: FastAPI) -> Simulator:
    simulator = app.state.simulator
    assert isinstance(simulator, Simulator)
    return simulator


async def sync_numbers(app: FastAPI) -> None:
    """Tell the simulator about numbers and templates created since startup (it also polls every few seconds)."""
    await sync_simulator(app.state.runtime, simulator_of(app))


async def settle(app: FastAPI, timeout: float = 20.0) -> None:
    """Wait, bounded, until the pipeline is quiet: no webhook event still `received`, no job running in the
    in-memory broker, no simulator delivery pending. Fails with what is still pending."""
    runtime = app.state.runtime
    broker = runtime.jobs.broker
    assert isinstance(broker, InMemoryBroker)
    simulator: Simulator | None = getattr(app.state, "simulator", None)
    deadline = time.monotonic() + timeout
    quiet_rounds = 0
    while True:
        remaining = max(deadline - time.monotonic(), 0.01)
        if simulator is not None:
            with contextlib.suppress(TimeoutError):
                await simulator.drain(timeout=remaining)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.01)):
                await broker.wait_all()
        progress = runtime.extras.get("campaign_progress")
        if isinstance(progress, ProgressPublisher):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.01)):
                    await progress.wait_idle()
        received = await count(app, WebhookEvent, WebhookEvent.status == WebhookEventStatus.RECEIVED)
        busy = (
            bool(broker._running_tasks)
            or bool(simulator is not None and simulator._tasks)
            or (isinstance(progress, ProgressPublisher) and not progress.idle)
        )
        quiet_rounds = quiet_rounds + 1 if received == 0 and not busy else 0
        # Two quiet looks in a row: a job finishing can start another (a media download, a status webhook).
        if quiet_rounds >= 2:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"pipeline still busy after {timeout}s: {received} events received, busy={busy}"
            )
        await asyncio.sleep(0.02)


# --- rows ----------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def db(app: FastAPI, tenant_id: uuid.UUID | str | None = None) -> AsyncIterator[AsyncSession]:
    """A session on the app's database (scoped to a tenant when given), committed at the end."""
    tenant = uuid.UUID(str(tenant_id)) if tenant_id is not None else None
    async with unit_of_work(app.state.runtime.sessionmaker, tenant) as session:
        yield session


async def rows(app: FastAPI, model: type[ModelT], *where: Any, order_by: Any = None) -> list[ModelT]:
    async with db(app) as session:
        stmt = select(model).where(*where).execution_options(skip_tenant_scope=True)
        if order_by is not None:
            stmt = stmt.order_by(order_by)
        return list((await session.execute(stmt)).scalars())


async def one(app: FastAPI, model: type[ModelT], *where: Any) -> ModelT:
    found = await rows(app, model, *where)
    assert len(found) == 1, f"expected one {model.__name__}, found {len(found)}"
    return found[0]


async def count(app: FastAPI, model: type[Base], *where: Any) -> int:
    async with db(app) as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt.execution_options(skip_tenant_scope=True))).scalar_one())


async def connect_number(
    admin: Account,
    phone_number_id: str,
    waba_id: str,
    display_phone_number: str,
    *,
    token: str = PAYLOAD_TOKEN,
    **extra: Any,
) -> dict[str, Any]:
    response = await admin.post(
        "/api/phone-numbers",
        json={
            "name": f"Line {phone_number_id}",
            "wabaId": waba_id,
            "phoneNumberId": phone_number_id,
            "displayPhoneNumber": display_phone_number,
            "accessToken": token,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def connect_payload_numbers(admin: Account) -> dict[str, uuid.UUID]:
    """Connect the numbers of Meta's sample payloads to the admin's company; Meta id → our id."""
    ids = {}
    for phone_number_id, spec in PAYLOAD_NUMBERS.items():
        body = await connect_number(admin, phone_number_id, spec["wabaId"], spec["displayPhoneNumber"])
        ids[phone_number_id] = uuid.UUID(body["id"])
    return ids


async def seed_outbound(
    app: FastAPI,
    tenant_id: uuid.UUID | str,
    phone_number_id: str,
    wa_id: str,
    wamid: str | None,
    *,
    status: MessageStatus = MessageStatus.SENT,
    text: str = "Hello from the business",
    created_at: datetime | None = None,
) -> uuid.UUID:
    """An outbound message already sent to `wa_id` (with its contact and conversation), as statuses expect."""
    async with db(app, tenant_id) as session:
        number = (
            await session.execute(select(PhoneNumber).where(PhoneNumber.phone_number_id == phone_number_id))
        ).scalar_one()
        contact = (await session.execute(select(Contact).where(Contact.wa_id == wa_id))).scalar_one_or_none()
        if contact is None:
            contact = Contact(wa_id=wa_id)
            session.add(contact)
            await session.flush()
        conversation = (
            await session.execute(
                select(Conversation).where(
                    Conversation.contact_id == contact.id, Conversation.phone_number_id == number.id
                )
            )
        ).scalar_one_or_none()
        now = created_at or utcnow()
        if conversation is None:
            conversation = Conversation(
                contact_id=contact.id,
                phone_number_id=number.id,
                status=ConversationStatus.OPEN,
                last_message_at=now,
            )
            session.add(conversation)
            await session.flush()
        message = Message(
            conversation_id=conversation.id,
            phone_number_id=number.id,
            contact_id=contact.id,
            direction=Direction.OUTBOUND,
            type="text",
            content={"body": text},
            body_text=text,
            wamid=wamid,
            status=status,
            created_at=now,
            sent_at=now if status not in (MessageStatus.QUEUED, MessageStatus.SENDING) else None,
        )
        session.add(message)
        await session.flush()
        return message.id


# --- realtime --------------------------------------------------------------------------------------------------


@dataclass
class Captured:
    """Realtime events of one tenant, captured from the bus while the block runs."""

    events: list[RealtimeEvent] = field(default_factory=list)

    def of_type(self, kind: str) -> list[RealtimeEvent]:
        return [e for e in self.events if e.type == kind]

    def about(self, kind: str, subject_id: uuid.UUID | str) -> list[RealtimeEvent]:
        return [e for e in self.of_type(kind) if e.data.get("id") == str(subject_id)]


@contextlib.asynccontextmanager
async def capture_events(app: FastAPI, tenant_id: uuid.UUID | str) -> AsyncIterator[Captured]:
    captured = Captured()
    stream = app.state.runtime.bus.subscribe(uuid.UUID(str(tenant_id)))

    async def pump() -> None:
        async for event in stream:
            captured.events.append(event)

    task = asyncio.create_task(pump())
    try:
        await asyncio.sleep(0)
        yield captured
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await stream.aclose()  # type: ignore[attr-defined]


# --- Server-Sent Events over ASGI ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse_frame(frame: str) -> SseEvent | None:
    """One frame of an event stream; None for a frame of comments only (a heartbeat)."""
    fields: dict[str, list[str]] = {}
    for line in frame.splitlines():
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
    if "data" not in fields and "event" not in fields:
        return None
    return SseEvent(
        event=fields.get("event", ["message"])[-1],
        data="\n".join(fields.get("data", [])),
        id=fields.get("id", [None])[-1],
    )


class SseClient:
    """Reads a Server-Sent Events response straight from the ASGI app, frame by frame, with timeouts (an
    httpx client over ASGI waits for the whole body, which a stream never ends). Leaving the block sends the
    client's disconnect."""

    def __init__(
        self, app: FastAPI, path: str = "/api/events", headers: dict[str, str] | None = None
    ) -> None:
        self.app = app
        self.path = path
        self.headers = {"accept": "text/event-stream", **{k.lower(): v for k, v in (headers or {}).items()}}
        self.status: int | None = None
        self.response_headers: dict[str, str] = {}
        self.raw = ""
        self._chunks: asyncio.Queue[str] = asyncio.Queue()
        self._started = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._requested = False
        self._task: asyncio.Task[None] | None = None
        self._buffer = ""

    async def __aenter__(self) -> SseClient:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                *((k.encode(), v.encode()) for k, v in self.headers.items()),
            ],
            "client": ("127.0.0.1", 50002),
            "server": ("testserver", 80),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            if not self._requested:
                self._requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self._disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.response_headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
                self._started.set()
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"").decode()
                self.raw += chunk
                await self._chunks.put(chunk)

        self._task = asyncio.create_task(self.app(scope, receive, send))
        async with asyncio.timeout(10):
            await self._started.wait()
        return self

    async def __aexit__(self, *_: object) -> None:
        self._disconnected.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(5):
                    await self._task
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def next_event(self, timeout: float = 5.0) -> SseEvent:
        """The next event (heartbeats skipped); TimeoutError when none comes in time."""
        async with asyncio.timeout(timeout):
            while True:
                for separator in ("\r\n\r\n", "\n\n"):
                    if separator in self._buffer:
                        frame, self._buffer = self._buffer.split(separator, 1)
                        event = parse_sse_frame(frame)
                        if event is not None:
                            return event
                        break
                else:
                    self._buffer += await self._chunks.get()

    async def events_until(self, kind: str, timeout: float = 10.0) -> list[SseEvent]:
        """Events up to and including the first of type `kind`."""
        seen: list[SseEvent] = []
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next_event(timeout)
                seen.append(event)
                if event.event == kind:
                    return seen

    async def silence(self, seconds: float) -> list[SseEvent]:
        """Whatever events arrive within `seconds` (a client that should receive nothing gets [])."""
        seen: list[SseEvent] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    seen.append(await self.next_event(seconds))
        return seen
