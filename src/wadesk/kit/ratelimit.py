"""Fixed-window counters on the `limits` library: in memory (embedded) or Redis (shared by processes)."""

from __future__ import annotations

import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter


def create_limit_storage(redis_url: str | None) -> Storage:
    if redis_url:
        return RedisStorage(redis_url.replace("redis://", "async+redis://", 1))
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
