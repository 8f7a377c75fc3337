"""Background jobs: plain async functions with explicit ids, registered once, enqueued after commit.

The queue only carries ids; the rows are the truth. A job enqueued inside a transaction is sent after the
transaction commits and forgotten if it rolls back, so a worker never sees an id whose row is not there yet.
If sending fails (queue down), the sweeper finds the row later by its state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import AsyncBroker
from taskiq.kicker import AsyncKicker

from wadesk.db.session import run_after_commit

log = structlog.get_logger(__name__)

JobFunction = Callable[..., Awaitable[Any]]
ENQUEUE_TIMEOUT_SECONDS = 3.0
_registry: dict[str, JobFunction] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register an async function as the queue job `name`."""

    def register(function: JobFunction) -> JobFunction:
        _registry[name] = function
        return function

    return register


def registered_jobs() -> dict[str, JobFunction]:
    return dict(_registry)


class JobQueue:
    """Sends jobs through the broker of the current mode (in-memory or Redis streams)."""

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker

    async def send_now(self, name: str, **kwargs: Any) -> bool:
        """Send a job immediately; False (logged) when the queue is unreachable, for the sweeper to retry.

        Bounded in time: a request that enqueues after its commit (a webhook's 200) must not hang on a queue
        that is down; its row is saved and the sweeper queues it later.
        """
        try:
            async with asyncio.timeout(ENQUEUE_TIMEOUT_SECONDS):
                await AsyncKicker(task_name=name, broker=self.broker, labels={}).kiq(**kwargs)
        except Exception as exc:
            log.warning("job_enqueue_failed", job=name, error=f"{type(exc).__name__}: {exc}", **kwargs)
            return False
        return True

    def enqueue_after_commit(self, session: AsyncSession, name: str, **kwargs: Any) -> None:
        async def send() -> None:
            await self.send_now(name, **kwargs)

        run_after_commit(session, send)
