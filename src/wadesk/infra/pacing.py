"""Per-number send pacing (GCRA): each send reserves the next free slot, slots are 1/rate seconds apart.

Evenly spaced slots mean no calendar second ever sees more than `rate` sends, which a bursty token bucket
cannot promise. In production the reservation is one atomic Redis Lua call, using Redis's clock, so every
worker shares one schedule per number.

Slots are spaced for a little less than the limit (HEADROOM): a send leaves a few milliseconds after its slot
(event loop wake-up, connection, a busy host), and without a margin two sends of a full schedule could reach
Meta closer together than the limit allows.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from redis.asyncio import Redis

from wadesk.infra import metrics

# KEYS[1] = the number's key; ARGV[1] = interval in microseconds. Returns the wait in microseconds.
_RESERVE_SLOT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
redis.call('SET', KEYS[1], start + interval, 'PX', math.ceil((start + interval - now) / 1000) + 1000)
return start - now
"""


HEADROOM = 0.95


def slot_interval(per_second: int) -> float:
    """Seconds between two sends of a number allowed `per_second` messages a second."""
    return 1.0 / (max(per_second, 1) * HEADROOM)


class SendPacer(Protocol):
    async def wait_for_slot(self, key: str, per_second: int) -> float:
        """Wait until this send may go; returns the seconds waited."""
        ...


class InProcessPacer:
    def __init__(self) -> None:
        self._next_slot: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait_for_slot(self, key: str, per_second: int) -> float:
        interval = slot_interval(per_second)
        async with self._lock:
            now = time.monotonic()
            start = max(self._next_slot.get(key, 0.0), now)
            self._next_slot[key] = start + interval
        delay = start - now
        if delay > 0:
            await asyncio.sleep(delay)
        metrics.record_pacer_wait(key, delay)
        return delay


class RedisPacer:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(_RESERVE_SLOT)

    async def wait_for_slot(self, key: str, per_second: int) -> float:
        interval_us = int(slot_interval(per_second) * 1_000_000)
        wait_us = int(await self._script(keys=[f"wadesk:pace:{key}"], args=[interval_us]))
        delay = wait_us / 1_000_000
        if delay > 0:
            await asyncio.sleep(delay)
        metrics.record_pacer_wait(key, delay)
        return delay
