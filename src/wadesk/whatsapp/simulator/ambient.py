"""Ambient customer traffic for demos: now and then a customer writes in."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence

import structlog

from .config import AmbientSender

log = structlog.get_logger(__name__)

AMBIENT_TEXTS: tuple[str, ...] = (
    "Hi! Is my order on its way?",
    "Hello, do you ship internationally?",
    "Can I change the delivery address for order 4417?",
    "What are your opening hours on Saturday?",
    "Thanks, that solved it 🙌",
    "Is the blue one back in stock?",
    "I was charged twice, can you check please?",
    "Can I book an appointment for tomorrow morning?",
    "Do you have a discount code for returning customers?",
    "The package arrived damaged, what should I do?",
    "Hola, ¿tienen atención en español?",
    "Perfect, see you then!",
)


async def run_ambient_traffic(
    send: Callable[[AmbientSender, str], Awaitable[object]],
    senders: Sequence[AmbientSender],
    *,
    interval: float,
    rng: random.Random,
    texts: Sequence[str] = AMBIENT_TEXTS,
) -> None:
    """Every `interval` seconds on average (±50%), a random sender writes a random text, until cancelled."""
    if not senders:
        return
    while True:
        await asyncio.sleep(interval * rng.uniform(0.5, 1.5))
        sender = rng.choice(list(senders))
        text = rng.choice(list(texts))
        try:
            await send(sender, text)
        except Exception as exc:  # a demo nicety must never die of one failed delivery
            log.warning("simulator.ambient_message_failed", sender=sender.wa_id, error=str(exc))
