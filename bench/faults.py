"""Faults under load, counted the Jepsen way: deliveries acknowledged, lost, duplicated, recovered, and the
seconds the pipeline needs after the load to have processed every acknowledged one.

Each scenario runs on a fresh cluster (scratch database, private Redis, two `wadesk serve`, two
`wadesk worker`) on a PostgreSQL server of the benchmark's own, so the database can be restarted without
touching the machine's. A sender behaving like Meta posts `--events` distinct signed inbound messages (one
wamid each) at a steady rate over both APIs; any answer but a 200, a connection error or no answer within
`--timeout` is tried again later with backoff (Meta retries for days), until every delivery is acknowledged.

- baseline: the same load, no fault: its drain seconds are the reference;
- worker SIGKILL: every `--kill-every` seconds a random worker is killed and a new one started;
- Redis down: the cluster's Redis stopped for `--down` seconds a third of the way through, then started empty;
- PostgreSQL restart: the server stopped (fast shutdown) for `--down` seconds a third of the way through.

Counted after the drain, from the rows: lost = acknowledged wamids without a message; duplicated = message
rows beyond one per wamid, plus unread counts beyond the messages (a delivery applied twice); recovered =
acknowledged deliveries refused or unanswered at least once before. A delivery the sender retried after an
unanswered attempt may be stored twice as a webhook event: that is expected ("stored twice"), and must still
make one message.

`python -m bench faults [--events=10000] [--rate=40] [--scenarios=baseline,kill,redis,postgres]` (options
written with `=`: `python -m bench` takes bare words for benchmark names).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.cluster import APP_SECRET, Cluster, PrivatePostgres, Process
from bench.drain import deliveries, open_company
from bench.loadgen import Connection
from wadesk.whatsapp.signature import SIGNATURE_HEADER, sign

PREFIX = "faults"
SCENARIOS = ("baseline", "kill", "redis", "postgres")
# Meta's retries, compressed: first again after 1 s, doubling up to 8 s, with jitter.
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 8.0
CONNECTIONS_PER_API = 16
# Lost queue entries (Redis restart, killed worker) come back through the sweeper: looked for every 5 s,
# re-sent once 30 s old, so a backlog that is merely waiting is not queued again and again.
SWEEP_INTERVAL, SWEEP_STALE = 5.0, 30.0


@dataclass
class Ledger:
    """What the sender saw, per delivery."""

    count: int
    refused: list[int] = field(init=False)
    acked_at: list[float | None] = field(init=False)
    answers: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.refused = [0] * self.count
        self.acked_at = [None] * self.count

    @property
    def acked(self) -> int:
        return sum(at is not None for at in self.acked_at)

    @property
    def recovered(self) -> int:
        return sum(1 for at, n in zip(self.acked_at, self.refused, strict=True) if at is not None and n)


async def send_like_meta(
    urls: list[str], bodies: list[bytes], *, rate: float, timeout: float, give_up_after: float
) -> Ledger:
    """Delivery i is first due at start + i / rate, on API i mod len(urls); refused or unanswered, it is sent
    again after a backoff (to the next API, as a load balancer would), until a 200 or `give_up_after`."""
    ledger = Ledger(len(bodies))
    pools: list[asyncio.Queue[Connection]] = []
    paths = []
    for url in urls:
        parts = urlsplit(url)
        pool: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(CONNECTIONS_PER_API):
            pool.put_nowait(Connection(parts.hostname or "127.0.0.1", parts.port or 80))
        pools.append(pool)
        paths.append(parts.path)
    started = time.monotonic()
    deadline = started + give_up_after
    pending: set[asyncio.Task[None]] = set()

    async def attempt(index: int, tries: int) -> None:
        which = (index + tries) % len(urls)
        body = bodies[index]
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(APP_SECRET, body)}
        connection = await pools[which].get()
        status: int | None = None
        try:
            async with asyncio.timeout(timeout):
                status = await _post(connection, paths[which], body, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError, TimeoutError):
            await connection.close()
        finally:
            pools[which].put_nowait(connection)
        ledger.answers[str(status) if status is not None else "no answer"] += 1
        if status == 200:
            ledger.acked_at[index] = time.monotonic()
            return
        ledger.refused[index] += 1
        if time.monotonic() > deadline:
            return
        backoff = min(BACKOFF_FIRST * 2**tries, BACKOFF_MAX) * random.uniform(0.8, 1.2)
        await asyncio.sleep(backoff)
        await attempt(index, tries + 1)

    for index in range(len(bodies)):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(attempt(index, 0))
        pending.add(task)
        task.add_done_callback(pending.discard)
    while pending:
        await asyncio.gather(*list(pending))
    for pool in pools:
        while not pool.empty():
            await pool.get_nowait().close()
    return ledger


async def _post(connection: Connection, path: str, body: bytes, headers: dict[str, str]) -> int:
    """POST on a kept-alive connection; if the server had closed it meanwhile (its keep-alive timeout), once
    more on a new one, as any HTTP client does: that is no refusal of the delivery."""
    reused = connection.writer is not None
    try:
        return await connection.post(path, body, headers)
    except (ConnectionError, asyncio.IncompleteReadError):
        if not reused:
            raise
        await connection.close()
        return await connection.post(path, body, headers)


@dataclass
class Counts:
    messages: int
    distinct: int
    unread: int
    events: int
    failed_events: int
    processed_twice: int
    unprocessed: int
    present: set[str]


async def counts(cluster: Cluster) -> Counts:
    connection = await cluster.connect()
    like = f"wamid.{PREFIX}-%"
    # One snapshot for every count: read one after the other while the last events are applied, the message
    # count could miss a message the wamid list and the unread counts already had (a phantom duplicate).
    transaction = connection.transaction(isolation="repeatable_read", readonly=True)
    await transaction.start()
    try:
        messages, distinct = await connection.fetchrow(
            "SELECT count(*), count(DISTINCT wamid) FROM messages WHERE wamid LIKE $1", like
        )
        present = {
            r["wamid"] for r in await connection.fetch("SELECT wamid FROM messages WHERE wamid LIKE $1", like)
        }
        unread = await connection.fetchval("SELECT coalesce(sum(unread_count), 0) FROM conversations")
        events = await connection.fetchrow(
            "SELECT count(*) AS total, count(*) FILTER (WHERE status = 'failed') AS failed, "
            "count(*) FILTER (WHERE attempts > 1) AS twice, "
            "count(*) FILTER (WHERE status = 'received') AS unprocessed FROM webhook_events"
        )
    finally:
        await transaction.rollback()
        await connection.close()
    return Counts(
        int(messages),
        int(distinct),
        int(unread),
        int(events["total"]),
        int(events["failed"]),
        int(events["twice"]),
        int(events["unprocessed"]),
        present,
    )


async def drained(cluster: Cluster, acked: set[str], timeout: float) -> tuple[float | None, Counts]:
    """Seconds until every acknowledged wamid has its message and no stored event is left unprocessed (None
    when that did not happen within `timeout`), and the counts at that moment."""
    started = time.monotonic()
    while True:
        now = await counts(cluster)
        if acked <= now.present and now.unprocessed == 0:
            return time.monotonic() - started, now
        if time.monotonic() - started > timeout:
            return None, now
        await asyncio.sleep(0.25)


@dataclass
class Outcome:
    scenario: str
    ledger: Ledger
    counts: Counts
    acked_wamids: set[str]
    load_seconds: float
    drain_seconds: float | None
    fault: str
    # The machine's 1-minute load average when the scenario ended: drain seconds move with it.
    load: float = field(default_factory=lambda: os.getloadavg()[0])

    @property
    def lost(self) -> int:
        return len(self.acked_wamids - self.counts.present)

    @property
    def duplicated(self) -> int:
        extra_rows = self.counts.messages - self.counts.distinct
        return extra_rows + max(0, self.counts.unread - self.counts.messages)

    @property
    def stored_twice(self) -> int:
        return max(0, self.counts.events - self.counts.distinct)


Fault = Callable[["Run", asyncio.Event], Coroutine[Any, Any, str]]


@dataclass
class Run:
    cluster: Cluster
    postgres: PrivatePostgres
    workers: list[Process]
    args: argparse.Namespace

    def new_worker(self, name: str) -> Process:
        return self.cluster.spawn_worker(
            name, graph_url="http://127.0.0.1:9", concurrency=self.args.concurrency
        )


async def no_fault(run: Run, done: asyncio.Event) -> str:
    return "none"


async def kill_workers(run: Run, done: asyncio.Event) -> str:
    kills = 0
    while not done.is_set():
        try:
            await asyncio.wait_for(done.wait(), run.args.kill_every)
        except TimeoutError:
            victim = random.choice(run.workers)
            await asyncio.to_thread(run.cluster.kill, victim)
            run.workers.remove(victim)
            kills += 1
            run.workers.append(await asyncio.to_thread(run.new_worker, f"worker-r{kills}"))
    return f"{kills} SIGKILLs"


async def _outage(run: Run, stop: Callable[[], None], start: Callable[[], None], what: str) -> str:
    await asyncio.sleep(run.args.events / run.args.rate / 3)
    began = time.monotonic()
    await asyncio.to_thread(stop)
    await asyncio.sleep(run.args.down)
    await asyncio.to_thread(start)
    return f"{what} down {time.monotonic() - began:.1f} s"


async def redis_down(run: Run, done: asyncio.Event) -> str:
    return await _outage(run, run.cluster.stop_redis, run.cluster.start_redis, "Redis")


async def postgres_restart(run: Run, done: asyncio.Event) -> str:
    return await _outage(run, run.postgres.stop, run.postgres.start, "PostgreSQL")


FAULTS: dict[str, Fault] = {
    "baseline": no_fault,
    "kill": kill_workers,
    "redis": redis_down,
    "postgres": postgres_restart,
}


def run_scenario(name: str, postgres: PrivatePostgres, folder: Path, args: argparse.Namespace) -> Outcome:
    cluster = Cluster(
        workdir=folder / name,
        postgres_url=postgres.url,
        sweep_interval=SWEEP_INTERVAL,
        sweep_stale=SWEEP_STALE,
    )
    try:
        cluster.open()
        apis = [cluster.spawn_api(f"api-{i}", simulator=False) for i in (1, 2)]
        run = Run(cluster, postgres, [], args)
        run.workers = [run.new_worker(f"worker-{i}") for i in (1, 2)]
        for process in (*apis, *run.workers):
            cluster.wait_ready(process)
        open_company(apis[0].url, "Faults Ltd")
        bodies = deliveries(args.events, args.customers, prefix=PREFIX)
        urls = [f"{api.url}/api/webhook" for api in apis]

        async def load_and_fault() -> tuple[Ledger, str, float]:
            done = asyncio.Event()
            fault = asyncio.create_task(FAULTS[name](run, done))
            started = time.monotonic()
            ledger = await send_like_meta(
                urls,
                bodies,
                rate=args.rate,
                timeout=args.timeout,
                give_up_after=args.events / args.rate + 600,
            )
            done.set()
            return ledger, await fault, time.monotonic() - started

        ledger, fault, load_seconds = asyncio.run(load_and_fault())
        acked = {f"wamid.{PREFIX}-{i}" for i, at in enumerate(ledger.acked_at) if at is not None}
        drain_seconds, final = asyncio.run(drained(cluster, acked, timeout=args.drain_timeout))
        return Outcome(name, ledger, final, acked, load_seconds, drain_seconds, fault)
    finally:
        cluster.close()


def report(outcomes: list[Outcome], args: argparse.Namespace, load: tuple[float, float]) -> None:
    print(
        f"faults: {args.events} distinct inbound messages per scenario at {args.rate:g}/s over 2 APIs, "
        f"2 workers of {args.concurrency} jobs; refused or unanswered (>{args.timeout:g} s) deliveries retried "
        f"with backoff {BACKOFF_FIRST:g}-{BACKOFF_MAX:g} s; load average {load[0]:.1f} → {load[1]:.1f}"
    )
    header = (
        "scenario",
        "acked",
        "lost",
        "dup",
        "recovered",
        "stored twice",
        "load s",
        "drain s",
        "loadavg",
        "fault",
    )
    print("  {:<10} {:>6} {:>5} {:>4} {:>9} {:>12} {:>7} {:>8} {:>7}  {}".format(*header))
    for o in outcomes:
        drain = f"{o.drain_seconds:.1f}" if o.drain_seconds is not None else "timeout"
        print(
            f"  {o.scenario:<10} {o.ledger.acked:>6} {o.lost:>5} {o.duplicated:>4} {o.ledger.recovered:>9} "
            f"{o.stored_twice:>12} {o.load_seconds:>7.1f} {drain:>8} {o.load:>7.1f}  {o.fault}"
        )
    for o in outcomes:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(o.ledger.answers.items()))
        print(
            f"  {o.scenario}: answers {answers}; events {o.counts.events} ({o.counts.failed_events} failed, "
            f"{o.counts.processed_twice} processed twice); messages {o.counts.messages}, unread {o.counts.unread}"
        )
    print(
        "  target: 0 lost, 0 duplicated in every scenario; baseline = the drain seconds of the no-fault run"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.faults")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=40.0, help="first attempts per second")
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds the sender waits for an answer")
    parser.add_argument("--kill-every", type=float, default=5.0)
    parser.add_argument("--down", type=float, default=10.0, help="seconds Redis or PostgreSQL stays down")
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args(argv)
    names = [n for n in args.scenarios.split(",") if n]
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    load_before = os.getloadavg()[0]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="wadesk-faults-") as folder:
        postgres = PrivatePostgres(Path(folder) / "pgdata").init()
        try:
            for name in names:
                outcomes.append(run_scenario(name, postgres, Path(folder), args))
                print(f"  ({name} done)", flush=True)
        finally:
            postgres.close()
    report(outcomes, args, (load_before, os.getloadavg()[0]))
    return 0 if all(o.lost == 0 and o.duplicated == 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
