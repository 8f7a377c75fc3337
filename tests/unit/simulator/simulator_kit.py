"""Shared pieces of the simulator tests: identities, reference payloads, a webhook receiver, a fake clock."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from wadesk.whatsapp.signature import SIGNATURE_HEADER, verify_signature
from wadesk.whatsapp.simulator import SimulatedTemplate, Simulator, get_simulator

APP_SECRET = "simulator-test-app-secret"
WEBHOOK_URL = "http://app.test/api/webhook"
SIM_BASE = "http://sim.test"
VERSION = "v23.0"
PHONE_NUMBER_ID = "1234567890"
WABA_ID = "9876543210"
DISPLAY_NUMBER = "+1 555-000-0000"
TOKEN = "EAAG-demo-token"
CUSTOMER = "15551234001"

PAYLOADS_DIR = Path(
    os.environ.get(
        "WADESK_PAYLOADS_DIR", Path(__file__).resolve().parents[4] / "shared" / "whatsapp" / "payloads"
    )
)


def load_payload(name: str) -> dict[str, Any]:
    path = PAYLOADS_DIR / name
    if not path.exists():
        pytest.skip(f"reference payload {name} not available")
    loaded = json.loads(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def demo_templates() -> list[SimulatedTemplate]:
    return [
        SimulatedTemplate(
            name="hello_world",
            language="en_US",
            category="UTILITY",
            components=[{"type": "BODY", "text": "Hello World! Thanks for choosing us."}],
        ),
        SimulatedTemplate(
            name="order_update",
            language="en_US",
            category="UTILITY",
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order {{2}} is on its way.",
                    "example": {"body_text": [["Ana", "A-100"]]},
                }
            ],
        ),
        SimulatedTemplate(
            name="appointment_reminder",
            language="en_US",
            category="UTILITY",
            components=[
                {
                    "type": "HEADER",
                    "format": "TEXT",
                    "text": "Reminder for {{1}}",
                    "example": {"header_text": ["Ana"]},
                },
                {
                    "type": "BODY",
                    "text": "Your appointment is on {{1}} at {{2}}.",
                    "example": {"body_text": [["Monday", "10:00"]]},
                },
            ],
        ),
        SimulatedTemplate(
            name="order_confirmation",
            language="en_US",
            category="UTILITY",
            parameter_format="NAMED",
            components=[
                {
                    "type": "BODY",
                    "text": "Thank you, {{first_name}}! Your order number is {{order_number}}.",
                    "example": {
                        "body_text_named_params": [
                            {"param_name": "first_name", "example": "Pablo"},
                            {"param_name": "order_number", "example": "860198-230332"},
                        ]
                    },
                }
            ],
        ),
        SimulatedTemplate(
            name="spring_promo",
            language="en_US",
            category="MARKETING",
            components=[
                {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}},
                {"type": "BODY", "text": "Spring is here, {{1}}!", "example": {"body_text": [["Ana"]]}},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {
                            "type": "URL",
                            "text": "Shop",
                            "url": "https://shop.example/{{1}}",
                            "example": ["https://shop.example/spring"],
                        }
                    ],
                },
            ],
        ),
    ]


@dataclass
class ReceivedWebhook:
    raw: bytes
    headers: dict[str, str]
    signature_valid: bool

    @property
    def payload(self) -> dict[str, Any]:
        loaded = json.loads(self.raw)
        assert isinstance(loaded, dict)
        return loaded

    @property
    def field(self) -> str:
        return str(self.payload["entry"][0]["changes"][0]["field"])

    @property
    def value(self) -> dict[str, Any]:
        value = self.payload["entry"][0]["changes"][0]["value"]
        assert isinstance(value, dict)
        return value


@dataclass
class WebhookReceiver:
    """The application's webhook endpoint, reduced to: verify the signature, keep the raw body, answer."""

    secret: str
    received: list[ReceivedWebhook] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to answer first, then 200
    delay: float = 0.0  # seconds each answer takes
    in_flight: int = 0
    most_in_flight: int = 0

    def __post_init__(self) -> None:
        self.app = FastAPI()

        @self.app.post("/api/webhook")
        async def webhook(request: Request) -> Response:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                if self.delay:
                    await asyncio.sleep(self.delay)
                return await self._answer(request)
            finally:
                self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        raw = await request.body()
        valid = verify_signature(raw, request.headers.get(SIGNATURE_HEADER), [self.secret])
        self.received.append(ReceivedWebhook(raw, dict(request.headers), valid))
        if not valid:
            return Response(status_code=401)
        return Response(status_code=self.answers.pop(0) if self.answers else 200)

    def statuses(self, wamid: str | None = None) -> list[dict[str, Any]]:
        found = []
        for hook in self.received:
            if hook.field != "messages":
                continue
            for status in hook.value.get("statuses", []):
                if wamid is None or status["id"] == wamid:
                    found.append(status)
        return found

    def of_field(self, name: str) -> list[ReceivedWebhook]:
        return [hook for hook in self.received if hook.field == name]


class FakeClock:
    def __init__(self, now: float = 1_760_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class SimulatorHarness:
    app: FastAPI
    client: httpx.AsyncClient
    receiver: WebhookReceiver

    @property
    def sim(self) -> Simulator:
        return get_simulator(self.app)

    async def send(
        self, body: dict[str, Any], *, token: str = TOKEN, phone_number_id: str = PHONE_NUMBER_ID
    ) -> httpx.Response:
        return await self.client.post(
            f"/{VERSION}/{phone_number_id}/messages", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    def auth(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}
