"""Per-number send pacing (GCRA): each send reserves the next free slot, slots are 1/rate seconds apart.

Evenly spaced slots mean no calendar second ever sees more than `rate` sends, which a bursty token bucket
cannot promise. In production the reservation is one atomic Redis Lua call, using Redis's clock, so every
worker shares one schedule per number.

Slots are spaced for a little less than the limit (HEADROOM) and a send that wakes too late for its slot takes
a new one: a send leaves some milliseconds after its slot (event loop wake-up, connection, a busy host), and
without both, sends of a full schedule could reach Meta closer together than the limit allows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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


# Slots are spaced for 96.5% of the limit. A send may leave up to LATE_TOLERANCE after its slot and reach Meta
# some milliseconds later again; rate + 1 sends span 1/HEADROOM seconds of slots, so what is left of that margin
# (about 21 ms) is how much the transit times of two sends may differ before one second could see more than
# `rate`. Measured from slot to the simulator's clock, sends arrive 3 ms late at the median and 11-16 ms at
# p99.9 (bench/README.md); with two workers on a saturated CPU, no 51 sends came closer than 1.024 s. A send
# wakes more than 10 ms late about once in a hundred (the host's scheduler, another job's turn on the event
# loop, a garbage collection): each of those gives its slot up, so a tighter tolerance costs rate.
HEADROOM = 0.965
# A send that wakes later than this after its slot (a busy event loop, a slow Redis round trip) gives the slot
# up and reserves a new one: leaving late would bunch it up with the sends after it.
LATE_TOLERANCE = 0.015
MAX_RESERVATIONS = 5


def slot_interval(per_second: int) -> float:
    """Seconds between two sends of a number allowed `per_second` messages a second."""
    return 1.0 / (max(per_second, 1) * HEADROOM)


class SendPacer(Protocol):
    async def wait_for_slot(self, key: str, per_second: int) -> float:
        """Wait until this send may go; returns the seconds waited."""
        ...


async def _wait_on_time(key: str, reserve: Callable[[], Awaitable[float]]) -> float:
    """Reserve a slot (`reserve` returns the seconds until it), sleep until it, and check the wake-up was on
    time; a late one reserves again, a bounded number of times (after that the send goes, and a 130429 from
    Meta would be retried like any other)."""
    waited = 0.0
    for _ in range(MAX_RESERVATIONS):
        asked = time.monotonic()
        delay = await reserve()
        # The slot was computed somewhere between asking and hearing back (a Redis round trip).
        slot = (asked + time.monotonic()) / 2 + delay
        if delay > 0:
            await asyncio.sleep(delay)
        waited += delay
        if time.monotonic() - slot <= LATE_TOLERANCE:
            break
        metrics.record_late_slot(key)
    metrics.record_pacer_wait(key, waited)
    return waited


class InProcessPacer:
    def __init__(self) -> None:
        self._next_slot: dict[str, float] = {}

    async def wait_for_slot(self, key: str, per_second: int) -> float:
        interval = slot_interval(per_second)

        async def reserve() -> float:
            # No await between reading and writing the schedule: atomic on the event loop.
            now = time.monotonic()
            start = max(self._next_slot.get(key, 0.0), now)
            self._next_slot[key] = start + interval
            return start - now

        return await _wait_on_time(key, reserve)


class RedisPacer:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(_RESERVE_SLOT)

    async def wait_for_slot(self, key: str, per_second: int) -> float:
        interval_us = int(slot_interval(per_second) * 1_000_000)

        async def reserve() -> float:
            wait_us = int(await self._script(keys=[f"wadesk:pace:{key}"], args=[interval_us]))
            return wait_us / 1_000_000

        return await _wait_on_time(key, reserve)
