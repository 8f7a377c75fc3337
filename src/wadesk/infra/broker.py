"""The taskiq broker of each mode: Redis streams (acknowledged) in production, in-memory when embedded."""

from __future__ import annotations

from taskiq import AsyncBroker, InMemoryBroker
from taskiq.serializers import JSONSerializer
from taskiq_redis import RedisStreamBroker

from wadesk.config import Settings
from wadesk.infra.jobs import registered_jobs

# Longer than any job may run: a message unacknowledged for this long is taken by another worker.
IDLE_TIMEOUT_MS = 5 * 60 * 1000
QUEUE_NAME = "wadesk:jobs"


def create_broker(settings: Settings) -> AsyncBroker:
    broker: AsyncBroker
    if settings.redis_url:
        broker = RedisStreamBroker(
            url=settings.redis_url,
            queue_name=QUEUE_NAME,
            consumer_group_name="wadesk-workers",
            idle_timeout=IDLE_TIMEOUT_MS,
            unacknowledged_lock_timeout=30.0,
            xread_block=1000,
            maxlen=1_000_000,
        ).with_serializer(JSONSerializer())
    else:
        broker = InMemoryBroker(max_async_tasks=settings.worker_concurrency, propagate_exceptions=False)
    # Importing the task modules registers their jobs.
    import wadesk.tasks  # noqa: F401

    for name, function in registered_jobs().items():
        broker.register_task(function, task_name=name)
    return broker
