"""The Redis stream broker's sends: jobs sent at the same moment share one round trip to Redis, each sender
returns once its own entry is in the stream, and each one learns of a failure."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from taskiq import BrokerMessage

from conftest import REDIS_URL, unavailable
from wadesk.infra.broker import ResilientRedisStreamBroker


def message(index: int) -> BrokerMessage:
    return BrokerMessage(task_id=str(index), task_name="job", message=f"entry-{index}".encode(), labels={})


@pytest_asyncio.fixture(loop_scope="session")
async def stream() -> AsyncIterator[str]:
    probe = aioredis.from_url(REDIS_URL)
    name = f"wadesk-test:broker:{uuid.uuid4().hex}"
    try:
        await probe.ping()
    except Exception as exc:
        await probe.aclose()
        unavailable("Redis", f"{type(exc).__name__}: {exc}")
    try:
        yield name
    finally:
        await probe.delete(name)
        await probe.aclose()


async def test_jobs_sent_at_once_share_a_round_trip_and_each_lands_in_the_stream(stream: str) -> None:
    broker = ResilientRedisStreamBroker(REDIS_URL, queue_name=stream)
    pipelines = 0
    pipeline = broker._client.pipeline

    def counting_pipeline(*args: Any, **kwargs: Any) -> Any:
        nonlocal pipelines
        pipelines += 1
        return pipeline(*args, **kwargs)

    broker._client.pipeline = counting_pipeline  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(broker.kick(message(i)) for i in range(50)))
        entries = await broker._client.xrange(stream)
    finally:
        await broker.connection_pool.disconnect()
    assert [fields[b"data"] for _, fields in entries] == [f"entry-{i}".encode() for i in range(50)]
    assert pipelines <= 2  # the first send's own batch, then everything sent while it was on its way


async def test_every_sender_learns_that_redis_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    broker = ResilientRedisStreamBroker(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)
    try:
        results = await asyncio.gather(*(broker.kick(message(i)) for i in range(3)), return_exceptions=True)
    finally:
        await broker.connection_pool.disconnect()
    assert len(results) == 3
    assert all(isinstance(result, RedisConnectionError) for result in results), results


async def test_a_sender_that_stops_waiting_does_not_hold_up_the_others(stream: str) -> None:
    broker = ResilientRedisStreamBroker(REDIS_URL, queue_name=stream)
    try:
        impatient = asyncio.create_task(broker.kick(message(-1)))
        others = [asyncio.create_task(broker.kick(message(i))) for i in range(3)]
        await asyncio.sleep(0)  # every send is in the batch, waiting
        impatient.cancel()
        await asyncio.gather(*others)
        assert impatient.cancelled()
        assert await broker._client.xlen(stream) == 4  # its entry was already on its way
    finally:
        await broker.connection_pool.disconnect()
