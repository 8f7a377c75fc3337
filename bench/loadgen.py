"""A small HTTP/1.1 load generator on asyncio streams (keep-alive connections, no client library in the hot
path, so the generator costs the shared CPU little). Closed loop at maximum rate, or open loop at a constant
rate where latency counts from each request's scheduled time (queueing included, no coordinated omission).
Loopback only; request counts and durations are bounded by the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    """What one run measured: completed requests, their latencies (seconds), errors, wall time."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> str:
        ok = self.statuses.get(200, 0)
        return (
            f"{self.rate:8.0f} req/s  p50 {self.percentile(50) * 1000:7.1f} ms  "
            f"p99 {self.percentile(99) * 1000:7.1f} ms  ({self.completed} requests, {ok} answered 200, "
            f"{self.errors} errors)"
        )

    def mean(self) -> float:
        return statistics.fmean(self.latencies) if self.latencies else float("nan")


Request = Callable[[int], tuple[bytes, dict[str, str]]]


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.writer is None:
            await self.open()
        assert self.reader is not None
        assert self.writer is not None
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        close = False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            lowered = name.strip().lower()
            if lowered == "content-length":
                length = int(value.strip())
            elif lowered == "connection" and value.strip().lower() == "close":
                close = True
        await self.reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def _one(
    connection: Connection, path: str, request: Request, index: int, result: Result, t0: float
) -> None:
    body, headers = request(index)
    try:
        status = await connection.post(path, body, headers)
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        result.errors += 1
        await connection.close()
        return
    result.latencies.append(time.perf_counter() - t0)
    result.statuses[status] = result.statuses.get(status, 0) + 1


async def closed_loop(url: str, request: Request, *, connections: int, seconds: float, limit: int) -> Result:
    """Each connection sends its next request as soon as the previous answer arrives, for `seconds` (or until
    `limit` requests were started)."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    started = time.perf_counter()
    deadline = started + seconds
    result = Result(seconds=0.0)
    counter = iter(range(limit))

    async def run() -> None:
        connection = Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                index = next(counter, None)
                if index is None:
                    return
                await _one(connection, path, request, index, result, time.perf_counter())
        finally:
            await connection.close()

    await asyncio.gather(*(run() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


async def open_loop(url: str, request: Request, *, rate: float, connections: int, seconds: float) -> Result:
    """Request i is due at start + i / rate whatever happened before; its latency counts from that moment."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    total = int(rate * seconds)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(host, port))
    result = Result(seconds=0.0)
    started = time.perf_counter()
    tasks = []

    async def fire(index: int, due: float) -> None:
        connection = await pool.get()
        try:
            await _one(connection, path, request, index, result, due)
        finally:
            pool.put_nowait(connection)

    for index in range(total):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(index, due)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    while not pool.empty():
        await pool.get_nowait().close()
    return result
