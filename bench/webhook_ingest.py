"""Webhook ingest: POST /api/webhook of a real `wadesk serve` (production mode: PostgreSQL + Redis) next to the
bare baseline (bench.bare_ingest: a FastAPI route that only verifies the signature and inserts the body with
asyncpg), same database, same machine, same run, same load generator.

Load: Meta's sample deliveries, each made unique (its message and status ids) and signed with the app
secret; 64 keep-alive connections. Measured for each endpoint: the maximum rate (closed loop) with its
p50/p99 latency and the server's CPU time per request (from /proc: unlike the rates, barely moved by other
work on the machine), then the latency of both at one constant rate (open loop, 320 requests/s by default).
Workers do not run meanwhile: this measures the acknowledgement path (verify, store, queue).

Targets: wadesk ≥ 50% of the bare endpoint's maximum; p99 under 100 ms at 64 connections; p99 under
25 ms at 320 requests/s.

`python -m bench.webhook_ingest [--seconds 8] [--connections 64] [--rate 320]`
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.cluster import APP_SECRET, Cluster, ClusterError, cpu_seconds, free_port, libpq_url
from bench.loadgen import Result, closed_loop, open_loop
from wadesk.whatsapp.signature import SIGNATURE_HEADER, sign

PAYLOADS = Path(__file__).resolve().parents[2] / "shared" / "whatsapp" / "payloads"
MAX_REQUESTS = 40_000


def sample_deliveries() -> list[dict[str, Any]]:
    deliveries = []
    for path in sorted(PAYLOADS.glob("*.json")):
        data = json.loads(path.read_bytes())
        if isinstance(data, dict) and data.get("object") == "whatsapp_business_account":
            deliveries.append(data)
    if not deliveries:
        raise SystemExit(f"no sample payloads under {PAYLOADS}")
    return deliveries


def unique(delivery: dict[str, Any], index: int) -> bytes:
    """The delivery with its message and status ids made unique, as Meta's would be."""
    copied = copy.deepcopy(delivery)
    for entry in copied.get("entry", []):
        for change in entry.get("changes", []):
            value = change.get("value", {})
            for item in (*value.get("messages", []), *value.get("statuses", [])):
                item["id"] = f"{item['id']}.{index}"
    return json.dumps(copied, separators=(",", ":")).encode()


def prepared_requests(count: int) -> list[tuple[bytes, dict[str, str]]]:
    samples = sample_deliveries()
    requests = []
    for index in range(count):
        body = unique(samples[index % len(samples)], index)
        requests.append(
            (body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(APP_SECRET, body)})
        )
    return requests


def start_bare(cluster: Cluster) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (cluster.workdir / "bare.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_ingest", "--port", str(port)],
        env={
            **cluster.env(),
            "BENCH_DATABASE_URL": libpq_url(cluster.database_url),
            "BENCH_APP_SECRET": APP_SECRET,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[1],
    )
    url = f"http://127.0.0.1:{port}/webhook"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ClusterError("the bare endpoint exited")
        try:
            httpx.post(url, content=b"{}", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise ClusterError("the bare endpoint did not start")


async def measure(
    name: str,
    url: str,
    pid: int,
    requests: list[tuple[bytes, dict[str, str]]],
    *,
    connections: int,
    seconds: float,
) -> tuple[Result, float]:
    """The closed-loop result and the server's CPU seconds per request."""

    def request(index: int) -> tuple[bytes, dict[str, str]]:
        return requests[index % len(requests)]

    await closed_loop(url, request, connections=connections, seconds=1.0, limit=MAX_REQUESTS)  # warm-up
    before = cpu_seconds([pid])
    result = await closed_loop(url, request, connections=connections, seconds=seconds, limit=MAX_REQUESTS)
    cpu = (cpu_seconds([pid]) - before) / max(1, result.completed)
    print(f"  {name:<28} max rate:  {result.summary()}, CPU {cpu * 1000:.2f} ms/request", flush=True)
    return result, cpu


async def at_rate(
    name: str,
    url: str,
    requests: list[tuple[bytes, dict[str, str]]],
    *,
    rate: float,
    connections: int,
    seconds: float,
) -> Result:
    def request(index: int) -> tuple[bytes, dict[str, str]]:
        return requests[(index + 7919) % len(requests)]

    result = await open_loop(url, request, rate=rate, connections=connections, seconds=seconds)
    print(f"  {name:<28} {rate:5.0f}/s:  {result.summary()}", flush=True)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.webhook_ingest")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=320.0)
    args = parser.parse_args(argv)
    requests = prepared_requests(MAX_REQUESTS // 4)
    with tempfile.TemporaryDirectory(prefix="wadesk-bench-") as folder:
        cluster = Cluster(workdir=Path(folder))
        bare: subprocess.Popen[bytes] | None = None
        try:
            cluster.open()
            api = cluster.start_api("api", simulator=False)
            bare, bare_url = start_bare(cluster)
            print(
                f"webhook ingest: {len(sample_deliveries())} sample deliveries made unique, signed; "
                f"{args.connections} connections, {args.seconds:.0f} s per run",
                flush=True,
            )
            wadesk_url = f"{api.url}/api/webhook"
            results = asyncio.run(
                _run(
                    (wadesk_url, api.popen.pid),
                    (bare_url, bare.pid),
                    requests,
                    args.connections,
                    args.seconds,
                    args.rate,
                )
            )
        finally:
            if bare is not None:
                bare.terminate()
                bare.wait(10)
            cluster.close()
    (wadesk_max, wadesk_cpu), (bare_max, bare_cpu), wadesk_rate = results
    ratio = wadesk_max.rate / bare_max.rate if bare_max.rate else float("nan")
    print(f"  throughput ratio wadesk / bare: {ratio:.0%} (target ≥ 50%)")
    print(f"  CPU per request, bare / wadesk: {bare_cpu / wadesk_cpu:.0%} (the same ratio, from CPU time)")
    print(
        f"  p99 at {args.connections} connections, max rate: {wadesk_max.percentile(99) * 1000:.0f} ms "
        f"(target < 100 ms); at {args.rate:.0f}/s: {wadesk_rate.percentile(99) * 1000:.0f} ms (target < 25 ms)"
    )
    return 0


async def _run(
    wadesk: tuple[str, int],
    bare: tuple[str, int],
    requests: list[tuple[bytes, dict[str, str]]],
    connections: int,
    seconds: float,
    rate: float,
) -> tuple[tuple[Result, float], tuple[Result, float], Result]:
    """Each endpoint (url, server pid) at its maximum rate, then both at `rate`."""
    bare_max = await measure(
        "bare FastAPI + asyncpg", *bare, requests, connections=connections, seconds=seconds
    )
    wadesk_max = await measure(
        "wadesk POST /api/webhook", *wadesk, requests, connections=connections, seconds=seconds
    )
    await at_rate(
        "bare FastAPI + asyncpg", bare[0], requests, rate=rate, connections=connections, seconds=seconds
    )
    wadesk_rate = await at_rate(
        "wadesk POST /api/webhook", wadesk[0], requests, rate=rate, connections=connections, seconds=seconds
    )
    return wadesk_max, bare_max, wadesk_rate


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
