"""Keeps the built-in Cloud API simulator in step with the database: it knows every connected number (with
its real access token, so a wrong token is refused as Meta would) and every template."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import structlog
from sqlalchemy import select

from wadesk.config import Settings
from wadesk.infra.runtime import Runtime
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.phone_numbers.service import decrypt_credential
from wadesk.templates.models import Template
from wadesk.whatsapp.simulator import (
    AmbientSender,
    SimulatedPhoneNumber,
    SimulatedTemplate,
    Simulator,
    SimulatorConfig,
)

log = structlog.get_logger(__name__)
SYNC_INTERVAL_SECONDS = 3.0


def simulator_config_for(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> SimulatorConfig:
    assert settings.meta_app_secret is not None
    return SimulatorConfig(
        app_webhook_url=f"{settings.public_url.rstrip('/')}/api/webhook",
        app_secret=settings.meta_app_secret,
        public_url=f"{settings.public_url.rstrip('/')}/simulator",
        webhook_transport=transport,
        duplicate_ratio=settings.simulator_duplicate_ratio,
        out_of_order_ratio=settings.simulator_out_of_order_ratio,
        status_batch_seconds=settings.simulator_status_batch_seconds,
    )


async def sync_simulator(runtime: Runtime, simulator: Simulator) -> None:
    """Register every number and template the simulator does not know yet (all companies)."""
    async with runtime.sessionmaker() as session:
        numbers = (await session.execute(select(PhoneNumber))).scalars().all()
        templates = (await session.execute(select(Template))).scalars().all()
        for number in numbers:
            known = simulator.phone_number(number.phone_number_id)
            if known is not None and known.messages_per_second == number.messages_per_second:
                continue
            simulator.register_phone_number(
                SimulatedPhoneNumber(
                    phone_number_id=number.phone_number_id,
                    waba_id=number.waba_id,
                    display_phone_number=number.display_phone_number,
                    verified_name=number.verified_name or number.name or "wadesk",
                    messages_per_second=number.messages_per_second,
                    access_token=decrypt_credential(
                        runtime.keyring, number.tenant_id, number.access_token_encrypted
                    ),
                    quality_rating=number.quality_rating,
                    messaging_limit_tier=number.messaging_limit_tier or "TIER_250",
                )
            )
        for template in templates:
            present = {(t.name, t.language) for t in simulator.templates(template.waba_id)}
            if (template.name, template.language) in present:
                continue
            simulator.register_template(
                template.waba_id,
                SimulatedTemplate(
                    name=template.name,
                    language=template.language,
                    category=template.category,
                    components=list(template.components),
                    status=template.status,
                    parameter_format=template.parameter_format,
                    **({"id": template.meta_template_id} if template.meta_template_id else {}),
                ),
            )


async def keep_simulator_in_sync(runtime: Runtime, simulator: Simulator, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await sync_simulator(runtime, simulator)
        except Exception as exc:  # the demo keeps running; the next round retries
            log.warning("simulator_sync_failed", error=str(exc))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=SYNC_INTERVAL_SECONDS)


async def start_ambient_traffic(runtime: Runtime, simulator: Simulator) -> None:
    """In the demo, the demo tenant's customers occasionally write on their own, if configured."""
    interval = runtime.settings.simulator_ambient_seconds
    if interval <= 0:
        return
    from wadesk.ops.demo_seed import DEMO_CONVERSATIONS, DEMO_PHONE_NUMBER_ID

    senders = [AmbientSender(wa_id=wa_id, name=name) for wa_id, name, *_ in DEMO_CONVERSATIONS]
    simulator.start_ambient(phone_number_id=DEMO_PHONE_NUMBER_ID, senders=senders, interval=interval)
