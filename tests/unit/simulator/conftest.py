"""Fixtures for the Cloud API simulator: a simulator over ASGI and an app that receives its webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from simulator_kit import (
    APP_SECRET,
    DISPLAY_NUMBER,
    PHONE_NUMBER_ID,
    SIM_BASE,
    TOKEN,
    WABA_ID,
    WEBHOOK_URL,
    FakeClock,
    SimulatorHarness,
    WebhookReceiver,
    demo_templates,
)

from wadesk.whatsapp.simulator import (
    SimulatedPhoneNumber,
    SimulatorConfig,
    StatusDelays,
    create_simulator_app,
)


@pytest.fixture
def receiver() -> WebhookReceiver:
    return WebhookReceiver(APP_SECRET)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_config(receiver: WebhookReceiver, clock: FakeClock) -> Callable[..., SimulatorConfig]:
    def make(**overrides: Any) -> SimulatorConfig:
        settings: dict[str, Any] = {
            "app_webhook_url": WEBHOOK_URL,
            "app_secret": APP_SECRET,
            "phone_numbers": [
                SimulatedPhoneNumber(
                    phone_number_id=PHONE_NUMBER_ID,
                    waba_id=WABA_ID,
                    display_phone_number=DISPLAY_NUMBER,
                    access_token=TOKEN,
                )
            ],
            "templates": {WABA_ID: demo_templates()},
            "status_delays": StatusDelays(sent=0.01, delivered=0.02, read=0.03),
            "template_review_delay": 0.01,
            "webhook_transport": httpx.ASGITransport(app=receiver.app),
            "webhook_retry_delay": 0.001,
            "clock": clock,
            "seed": 7,
        }
        settings.update(overrides)
        return SimulatorConfig(**settings)

    return make


@pytest.fixture
async def make_harness(
    make_config: Callable[..., SimulatorConfig], receiver: WebhookReceiver
) -> AsyncIterator[Callable[..., SimulatorHarness]]:
    opened: list[SimulatorHarness] = []

    def make(**overrides: Any) -> SimulatorHarness:
        app = create_simulator_app(make_config(**overrides))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM_BASE)
        harness = SimulatorHarness(app=app, client=client, receiver=receiver)
        opened.append(harness)
        return harness

    yield make
    for harness in opened:
        await harness.sim.aclose()
        await harness.client.aclose()


@pytest.fixture
def harness(make_harness: Callable[..., SimulatorHarness]) -> SimulatorHarness:
    return make_harness()
