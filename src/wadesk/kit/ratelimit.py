"""Rate limiting on the `limits` library, in memory (embedded) or Redis (shared by processes): failure
counters for sign-in throttling, and request limits for the API."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter


def create_limit_storage(redis_url: str | None) -> Storage:
    if redis_url:
        # redis-py is the client the rest of the app uses; limits' async default would need coredis.
        return RedisStorage(redis_url.replace("redis://", "async+redis://", 1), implementation="redispy")
    return MemoryStorage()


class FailureCounter:
    """Counts failures per key within a minute; `blocked_for` says how long a key must wait."""

    def __init__(self, storage: Storage, per_minute: int, namespace: str) -> None:
        self._limiter = FixedWindowRateLimiter(storage)
        self._item = RateLimitItemPerMinute(per_minute, namespace=namespace)

    async def blocked_for(self, key: str) -> int:
        """Seconds to wait before another attempt, or 0 when allowed."""
        if await self._limiter.test(self._item, key):
            return 0
        reset_at, _ = await self._limiter.get_window_stats(self._item, key)
        return max(1, int(reset_at - time.time()) + 1)

    async def record_failure(self, key: str) -> None:
        await self._limiter.hit(self._item, key)

    async def clear(self, key: str) -> None:
        await self._limiter.clear(self._item, key)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A request over a limit: which limit, and how many seconds until it may be tried again."""

    limit: RateLimitItem
    retry_after: int


class RequestRateLimiter:
    """Counts requests against limits given in the `limits` notation ("20/second;1200/minute").

    A sliding-window counter per key: smoother than fixed windows (no double burst at a window's edge) for
    the same storage cost. Limits of one key are checked in order and counting stops at the first exceeded,
    so a rejected request is not charged to the longer windows.
    """

    def __init__(self, storage: Storage, namespace: str) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._namespace = namespace
        self._parsed: dict[str, list[RateLimitItem]] = {}

    def _items(self, limits: str) -> list[RateLimitItem]:
        items = self._parsed.get(limits)
        if items is None:
            items = [
                type(item)(item.amount, item.multiples, namespace=self._namespace)
                for item in parse_many(limits)
            ]
            self._parsed[limits] = items
        return items

    async def hit(self, limits: str, key: str) -> Rejection | None:
        """Count one request of `key`; None when allowed, else the limit it exceeded."""
        for item in self._items(limits):
            if not await self._limiter.hit(item, key):
                reset_at, _ = await self._limiter.get_window_stats(item, key)
                return Rejection(item, max(1, math.ceil(reset_at - time.time())))
        return None
