"""The taskiq broker of each mode: Redis streams (acknowledged) in production, in-memory when embedded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, AsyncBroker, BrokerMessage, InMemoryBroker
from taskiq.serializers import JSONSerializer
from taskiq_redis import RedisStreamBroker

from wadesk.config import Settings
from wadesk.infra.jobs import registered_jobs

log = structlog.get_logger(__name__)

# Longer than any job may run: a message unacknowledged for this long is taken by another worker.
IDLE_TIMEOUT_MS = 5 * 60 * 1000
QUEUE_NAME = "wadesk:jobs"
CONSUMER_GROUP = "wadesk-workers"
# How often a worker looks for entries a crashed worker left unacknowledged, whatever the traffic.
RECLAIM_INTERVAL_SECONDS = 30.0
# Enough connections for a burst of webhooks enqueueing at once; a kick never waits long for one.
POOL_SIZE = 200
POOL_WAIT_SECONDS = 5
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class ResilientRedisStreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, with a listener that outlives Redis trouble.

    taskiq-redis 1.2.4 reclaims a crashed worker's unacknowledged entries (XAUTOCLAIM) only right after a
    non-empty read, so they wait for new traffic; and its listener dies with the connection, taking the worker
    with it. Here the reclaim runs on a timer, a lost connection is retried with backoff, and a consumer group
    lost with Redis's memory (a restart without persistence) is declared again. Entries queued in between are
    read too: the group starts at the beginning of the stream, and every job is idempotent.

    Sends and acknowledgements share one client over the pool: taskiq-redis builds a client per call, which
    cost more CPU than the XADD itself. Sends made while an earlier batch is on its way to Redis leave together
    in the next one (one pipeline, one round trip): under a burst of webhooks that is most of them.
    """

    def __init__(
        self, url: str, *, reclaim_interval: float = RECLAIM_INTERVAL_SECONDS, **kwargs: Any
    ) -> None:
        super().__init__(url, **kwargs)
        self.reclaim_interval = reclaim_interval
        self._client = Redis(connection_pool=self.connection_pool)
        self._batch: list[tuple[str, bytes, asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def kick(self, message: BrokerMessage) -> None:
        """Returns once the entry is in the stream; raises what Redis raised for it."""
        sent = asyncio.get_running_loop().create_future()
        self._batch.append((message.labels.get("queue_name") or self.queue_name, message.message, sent))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_batches())
        await sent

    async def _send_batches(self) -> None:
        while self._batch:
            batch, self._batch = self._batch, []
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for queue, data, _ in batch:
                        pipe.xadd(queue, {b"data": data}, maxlen=self.maxlen, approximate=self.approximate)
                    results: list[Any] = await pipe.execute(raise_on_error=False)
            except Exception as exc:
                results = [exc] * len(batch)
            except BaseException:
                for *_, sent in batch:
                    sent.cancel()
                raise
            for (*_, sent), result in zip(batch, results, strict=True):
                if sent.done():  # its sender stopped waiting
                    continue
                if isinstance(result, Exception):
                    sent.set_exception(result)
                else:
                    sent.set_result(None)

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            await self._client.xack(queue_name, self.consumer_group_name, id)

        return ack

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        backoff = 0.5
        last_reclaim = time.monotonic()
        while True:
            try:
                async with Redis(connection_pool=self.connection_pool) as connection:
                    while True:
                        fetched: Any = await connection.xreadgroup(
                            self.consumer_group_name,
                            self.consumer_name,
                            {self.queue_name: ">"},
                            block=self.block,
                            noack=False,
                            count=self.count,
                        )
                        backoff = 0.5
                        for stream, entries in fetched or []:
                            for entry_id, fields in entries:
                                yield self._ackable(stream, entry_id, fields)
                        if time.monotonic() - last_reclaim >= self.reclaim_interval:
                            last_reclaim = time.monotonic()
                            async for message in self._reclaim(connection):
                                yield message
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("job_stream_group_missing", stream=self.queue_name)
                await self._redeclare(backoff)
            except _UNREACHABLE as exc:
                log.warning("job_stream_unreachable", error=str(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _redeclare(self, backoff: float) -> None:
        try:
            await self._declare_consumer_group()
        except _UNREACHABLE:
            await asyncio.sleep(backoff)

    async def _reclaim(self, connection: Redis) -> AsyncGenerator[AckableMessage, None]:
        """Take over entries idle for longer than any job runs: their worker died before acknowledging."""
        result: Any = await connection.xautoclaim(
            name=self.queue_name,
            groupname=self.consumer_group_name,
            consumername=self.consumer_name,
            min_idle_time=self.idle_timeout,
            count=self.unacknowledged_batch_size,
        )
        entries = result[1] if result else []
        if entries:
            log.info("job_stream_reclaimed", entries=len(entries))
        for entry_id, fields in entries:
            if fields:  # an entry trimmed from the stream meanwhile comes back empty
                yield self._ackable(self.queue_name, entry_id, fields)

    def _ackable(self, stream: Any, entry_id: Any, fields: Any) -> AckableMessage:
        return AckableMessage(data=fields[b"data"], ack=self._ack_generator(id=entry_id, queue_name=stream))


async def queue_backlog(redis: Redis) -> dict[str, int]:
    """Jobs not yet taken by any worker (`waiting`) and taken but not acknowledged (`pending`). The stream's
    length would also count the finished jobs it retains."""
    try:
        groups: Any = await redis.xinfo_groups(QUEUE_NAME)
    except ResponseError:  # no stream yet: nothing was ever queued
        return {"waiting": 0, "pending": 0}
    for group in groups:
        name = group.get("name")
        if (name.decode() if isinstance(name, bytes) else name) == CONSUMER_GROUP:
            return {"waiting": int(group.get("lag") or 0), "pending": int(group.get("pending") or 0)}
    # No worker declared the group yet: everything in the stream is waiting.
    return {"waiting": int(await redis.xlen(QUEUE_NAME)), "pending": 0}


def create_broker(settings: Settings) -> AsyncBroker:
    broker: AsyncBroker
    if settings.redis_url:
        broker = ResilientRedisStreamBroker(
            url=settings.redis_url,
            queue_name=QUEUE_NAME,
            consumer_group_name=CONSUMER_GROUP,
            # "0": a group declared again after Redis lost it still reads what was queued before that.
            consumer_id="0",
            idle_timeout=IDLE_TIMEOUT_MS,
            unacknowledged_lock_timeout=30.0,
            xread_block=1000,
            # A worker takes no more entries than it runs at once, so a crash strands few of them.
            xread_count=max(1, settings.worker_concurrency),
            maxlen=1_000_000,
            max_connection_pool_size=POOL_SIZE,
            timeout=POOL_WAIT_SECONDS,
            socket_connect_timeout=2,
            socket_timeout=10,
        ).with_serializer(JSONSerializer())
    else:
        broker = InMemoryBroker(max_async_tasks=settings.worker_concurrency, propagate_exceptions=False)
    # Importing the task modules registers their jobs.
    import wadesk.tasks  # noqa: F401

    for name, function in registered_jobs().items():
        broker.register_task(function, task_name=name)
    return broker
