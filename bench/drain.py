"""End-to-end processing rate: a backlog of stored webhook deliveries (inbound messages from many customers)
drained by real `wadesk worker` processes on PostgreSQL + Redis. Each event is parsed, routed to its company,
its contact upserted, its conversation found or opened, its message inserted, the conversation updated, the
event marked processed, and realtime events published.

The backlog is posted through `wadesk serve` with no worker running; then the workers start, and the rate is
taken over the steady part of the drain (from 10% to 90% of the backlog processed), so process start-up is
not counted. Baseline in the same run: PostgreSQL's own single-row INSERT rate (pgbench), the ceiling of
anything that commits each event on its own. Target (issue 4): ≥ 500 events per second.

`python -m bench.drain [--events 4000] [--workers 2] [--concurrency 16]`
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.cluster import APP_SECRET, Cluster, cpu_seconds
from bench.loadgen import closed_loop
from bench.pgbench import single_row_insert_rate
from bench.webhook_ingest import PAYLOADS
from wadesk.whatsapp.signature import SIGNATURE_HEADER, sign

NUMBER = "7600000001"


def deliveries(count: int, customers: int, prefix: str = "drain") -> list[bytes]:
    """`count` signed-to-be inbound text messages from `customers` customers, wamids `wamid.<prefix>-<i>`."""
    template = json.loads((PAYLOADS / "inbound_text.json").read_bytes())
    bodies = []
    for index in range(count):
        payload = copy.deepcopy(template)
        value = payload["entry"][0]["changes"][0]["value"]
        sender = f"1555760{index % customers:04d}"
        value["metadata"] = {"display_phone_number": NUMBER, "phone_number_id": NUMBER}
        value["contacts"][0].update(wa_id=sender, profile={"name": f"Customer {index % customers}"})
        value["messages"][0].update(
            id=f"wamid.{prefix}-{index}", timestamp=str(1750000000 + index), text={"body": f"message {index}"}
        )
        value["messages"][0]["from"] = sender
        bodies.append(json.dumps(payload, separators=(",", ":")).encode())
    return bodies


async def backlog(cluster: Cluster) -> int:
    connection = await cluster.connect()
    try:
        return int(await connection.fetchval("SELECT count(*) FROM webhook_events WHERE status = 'received'"))
    finally:
        await connection.close()


async def post_backlog(url: str, bodies: list[bytes]) -> None:
    def request(index: int) -> tuple[bytes, dict[str, str]]:
        body = bodies[index]
        return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(APP_SECRET, body)}

    result = await closed_loop(url, request, connections=32, seconds=600, limit=len(bodies))
    if result.statuses.get(200) != len(bodies):
        raise SystemExit(f"posting the backlog failed: {result.statuses}, {result.errors} errors")


@dataclass
class Drain:
    steady_seconds: float  # from 10% to 90% of the backlog processed
    whole_seconds: float  # from the first to the last event processed
    steady_worker_cpu: float  # CPU seconds the workers used over the steady part


async def watch_drain(cluster: Cluster, total: int, timeout: float, worker_pids: list[int]) -> Drain:
    marks: dict[str, float] = {}
    cpu: dict[str, float] = {}
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        done = total - await backlog(cluster)
        now = time.monotonic()
        if done > 0:
            marks.setdefault("first", now)
        if done >= total * 0.1 and "p10" not in marks:
            marks["p10"], cpu["p10"] = now, cpu_seconds(worker_pids)
        if done >= total * 0.9 and "p90" not in marks:
            marks["p90"], cpu["p90"] = now, cpu_seconds(worker_pids)
        if done >= total:
            return Drain(marks["p90"] - marks["p10"], now - marks["first"], cpu["p90"] - cpu["p10"])
        await asyncio.sleep(0.05)
    raise SystemExit(f"the backlog did not drain within {timeout:.0f} s")


def open_company(api_url: str, name: str) -> None:
    """A company with the benchmark's number connected, through the API."""
    with httpx.Client(base_url=api_url, timeout=30) as http:
        registered = http.post(
            "/api/auth/register",
            json={"companyName": name, "name": "Owner", "email": "owner@example.com",
                  "password": "correct horse battery"},
        )  # fmt: skip
        registered.raise_for_status()
        connected = http.post(
            "/api/phone-numbers",
            headers={"Authorization": f"Bearer {registered.json()['accessToken']}"},
            json={"wabaId": "7600000002", "phoneNumberId": NUMBER, "displayPhoneNumber": f"+{NUMBER}",
                  "accessToken": "bench-token"},
        )  # fmt: skip
        connected.raise_for_status()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.drain")
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wadesk-bench-") as folder:
        cluster = Cluster(workdir=Path(folder), sweep_interval=10.0, sweep_stale=600.0)
        try:
            cluster.open()
            insert_rate = single_row_insert_rate(cluster.database_url, seconds=5)
            api = cluster.start_api("api", simulator=False)
            open_company(api.url, "Drain Ltd")
            bodies = deliveries(args.events, args.customers)
            asyncio.run(post_backlog(f"{api.url}/api/webhook", bodies))
            workers = [
                cluster.spawn_worker(
                    f"worker-{i}", graph_url="http://127.0.0.1:9", concurrency=args.concurrency
                )
                for i in range(args.workers)
            ]
            drain = asyncio.run(
                watch_drain(cluster, args.events, timeout=600, worker_pids=[w.popen.pid for w in workers])
            )
            for worker in workers:
                cluster.stop(worker)
        finally:
            cluster.close()
    steady_events = args.events * 0.8
    steady_rate = steady_events / drain.steady_seconds if drain.steady_seconds else float("nan")
    whole = drain.whole_seconds
    print(
        f"drain: {args.events} inbound messages from {args.customers} customers, {args.workers} workers of "
        f"{args.concurrency} concurrent jobs"
    )
    print(f"  steady drain (10%→90%): {steady_rate:8.0f} events/s")
    print(
        f"  first to last event:    {args.events / whole if whole else float('nan'):8.0f} events/s ({whole:.1f} s)"
    )
    print(f"  worker CPU per event (steady part): {drain.steady_worker_cpu / steady_events * 1000:.2f} ms")
    if insert_rate is not None:
        print(f"  baseline, PostgreSQL single-row INSERTs (pgbench, 4 clients): {insert_rate:,.0f}/s")
    print("  target ≥ 500 events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
