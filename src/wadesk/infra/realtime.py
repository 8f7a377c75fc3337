"""Realtime event bus: per-tenant ordered events with a bounded replay buffer for `Last-Event-ID`.

Embedded mode fans out in process. Production mode publishes through Redis pub/sub so an event published by a
worker reaches agents connected to any API process; ids come from a Redis counter per tenant and the replay
buffer is a capped Redis list, so every process agrees on ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis

log = structlog.get_logger(__name__)

REPLAY_BUFFER = 500


@dataclass(frozen=True, slots=True)
class RealtimeEvent:
    tenant_id: uuid.UUID
    id: int
    type: str
    data: dict[str, Any]
    # When set, only these users (and admins) may see the event; None means everyone in the tenant.
    audience: frozenset[uuid.UUID] | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "tenant_id": str(self.tenant_id),
                "id": self.id,
                "type": self.type,
                "data": self.data,
                "audience": sorted(str(a) for a in self.audience) if self.audience is not None else None,
            },
            default=str,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> RealtimeEvent:
        obj = json.loads(raw)
        audience = obj.get("audience")
        return cls(
            tenant_id=uuid.UUID(obj["tenant_id"]),
            id=int(obj["id"]),
            type=obj["type"],
            data=obj["data"],
            audience=frozenset(uuid.UUID(a) for a in audience) if audience is not None else None,
        )


class RealtimeBus(Protocol):
    async def publish(
        self,
        tenant_id: uuid.UUID,
        type: str,
        data: dict[str, Any],
        audience: frozenset[uuid.UUID] | None = None,
    ) -> RealtimeEvent: ...

    async def publish_many(
        self, tenant_id: uuid.UUID, events: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[RealtimeEvent]:
        """Publish (type, data) events of one tenant, for everyone in it, with consecutive ids in order."""
        ...

    def subscribe(
        self, tenant_id: uuid.UUID, last_event_id: int | None = None
    ) -> AsyncIterator[RealtimeEvent]: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class _Subscribers:
    queues: dict[uuid.UUID, set[asyncio.Queue[RealtimeEvent]]] = field(
        default_factory=lambda: defaultdict(set)
    )

    def deliver(self, event: RealtimeEvent) -> None:
        for queue in list(self.queues.get(event.tenant_id, ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    async def stream(
        self, tenant_id: uuid.UUID, backlog: list[RealtimeEvent], queue: asyncio.Queue[RealtimeEvent]
    ) -> AsyncIterator[RealtimeEvent]:
        try:
            last = 0
            for event in backlog:
                last = event.id
                yield event
            while True:
                event = await queue.get()
                if event.id > last:
                    last = event.id
                    yield event
        finally:
            self.queues[tenant_id].discard(queue)


class InProcessBus:
    def __init__(self) -> None:
        self._subscribers = _Subscribers()
        self._sequence: dict[uuid.UUID, int] = defaultdict(int)
        self._recent: dict[uuid.UUID, deque[RealtimeEvent]] = defaultdict(lambda: deque(maxlen=REPLAY_BUFFER))

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(
        self,
        tenant_id: uuid.UUID,
        type: str,
        data: dict[str, Any],
        audience: frozenset[uuid.UUID] | None = None,
    ) -> RealtimeEvent:
        self._sequence[tenant_id] += 1
        event = RealtimeEvent(tenant_id, self._sequence[tenant_id], type, data, audience)
        self._recent[tenant_id].append(event)
        self._subscribers.deliver(event)
        return event

    async def publish_many(
        self, tenant_id: uuid.UUID, events: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[RealtimeEvent]:
        return [await self.publish(tenant_id, type, data) for type, data in events]

    def subscribe(
        self, tenant_id: uuid.UUID, last_event_id: int | None = None
    ) -> AsyncIterator[RealtimeEvent]:
        queue: asyncio.Queue[RealtimeEvent] = asyncio.Queue(maxsize=1000)
        self._subscribers.queues[tenant_id].add(queue)
        backlog = [e for e in self._recent[tenant_id] if last_event_id is not None and e.id > last_event_id]
        return self._subscribers.stream(tenant_id, backlog, queue)


class RedisBus:
    CHANNEL = "wadesk:realtime"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._subscribers = _Subscribers()
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen())

    async def close(self) -> None:
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(self.CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._subscribers.deliver(RealtimeEvent.from_json(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarts: reconnect, clients resume with Last-Event-ID
                log.warning("realtime_listener_reconnecting", error=str(exc))
                await asyncio.sleep(1)

    async def publish(
        self,
        tenant_id: uuid.UUID,
        type: str,
        data: dict[str, Any],
        audience: frozenset[uuid.UUID] | None = None,
    ) -> RealtimeEvent:
        event_id = int(await self._redis.incr(f"wadesk:realtime:seq:{tenant_id}"))
        event = RealtimeEvent(tenant_id, event_id, type, data, audience)
        payload = event.to_json()
        key = f"wadesk:realtime:recent:{tenant_id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, payload)
            pipe.ltrim(key, -REPLAY_BUFFER, -1)
            pipe.publish(self.CHANNEL, payload)
            await pipe.execute()
        return event

    async def publish_many(
        self, tenant_id: uuid.UUID, events: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[RealtimeEvent]:
        # Two round trips for the lot (the ids, then the buffer and the channel) instead of two per event.
        if not events:
            return []
        last = int(await self._redis.incrby(f"wadesk:realtime:seq:{tenant_id}", len(events)))
        published = [
            RealtimeEvent(tenant_id, last - len(events) + index, type, data)
            for index, (type, data) in enumerate(events, start=1)
        ]
        payloads = [event.to_json() for event in published]
        key = f"wadesk:realtime:recent:{tenant_id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *payloads)
            pipe.ltrim(key, -REPLAY_BUFFER, -1)
            for payload in payloads:
                pipe.publish(self.CHANNEL, payload)
            await pipe.execute()
        return published

    def subscribe(
        self, tenant_id: uuid.UUID, last_event_id: int | None = None
    ) -> AsyncIterator[RealtimeEvent]:
        queue: asyncio.Queue[RealtimeEvent] = asyncio.Queue(maxsize=1000)
        self._subscribers.queues[tenant_id].add(queue)
        return self._replay_then_stream(tenant_id, last_event_id, queue)

    async def _replay_then_stream(
        self, tenant_id: uuid.UUID, last_event_id: int | None, queue: asyncio.Queue[RealtimeEvent]
    ) -> AsyncIterator[RealtimeEvent]:
        backlog: list[RealtimeEvent] = []
        if last_event_id is not None:
            raw = await self._redis.lrange(f"wadesk:realtime:recent:{tenant_id}", 0, -1)
            backlog = [e for e in map(RealtimeEvent.from_json, raw) if e.id > last_event_id]
        async for event in self._subscribers.stream(tenant_id, backlog, queue):
            yield event
