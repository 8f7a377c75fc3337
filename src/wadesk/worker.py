"""`wadesk worker`: consumes the Redis job stream; stops gracefully on SIGTERM.

On SIGTERM it stops taking new jobs, lets in-flight jobs finish (up to a grace period) and exits. A job cut
short is not acknowledged, so the stream hands it to another worker, and the sweeper re-enqueues its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from concurrent.futures import ThreadPoolExecutor

import structlog
from taskiq.receiver import Receiver
from taskiq_redis import RedisStreamBroker

from wadesk.app import build_runtime, close_runtime
from wadesk.config import Settings
from wadesk.infra import metrics
from wadesk.infra.logging import configure_logging
from wadesk.ops.sweeper import run_sweeper

log = structlog.get_logger(__name__)
GRACE_SECONDS = 20.0


async def run_worker(settings: Settings, *, concurrency: int) -> int:
    configure_logging(
        json_output=settings.log_json if settings.log_json is not None else settings.is_production
    )
    runtime = await build_runtime(settings, serves_clients=False)
    broker = runtime.jobs.broker
    broker.is_worker_process = True
    if isinstance(broker, RedisStreamBroker):
        # Take from the stream no more than this worker runs at once (see infra.broker).
        broker.count = max(1, concurrency)
    finish = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, finish.set)
    sweeper = asyncio.create_task(run_sweeper(runtime, finish))
    metrics.serve_worker_metrics(settings.worker_metrics_port)
    log.info("worker_started", concurrency=concurrency)
    try:
        with ThreadPoolExecutor(max_workers=2) as executor:
            receiver = Receiver(
                broker=broker,
                executor=executor,
                run_startup=False,
                max_async_tasks=concurrency,
                wait_tasks_timeout=GRACE_SECONDS,
                propagate_exceptions=False,
            )
            await receiver.listen(finish)
    finally:
        finish.set()
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await close_runtime(runtime)
        log.info("worker_stopped")
    return 0
