"""Campaign pacing: a 10,000-recipient campaign on one number limited to 80 messages per second, against the
built-in Cloud API simulator, and peak memory for 10,000 and 100,000 recipients.

    python -m bench campaign_pacing                                 # production topology (below)
    python -m bench.campaign_pacing --mode embedded                 # one process, SQLite
    python -m bench.campaign_pacing --recipients 2000 --memory-recipients 0     # a quick look

Topologies:
- production (default): the way `deploy/` runs it, from bench.cluster: a scratch PostgreSQL database, a
  private Redis, `--workers` `wadesk worker` processes (Redis job stream, Redis-shared pacer) and a `wadesk
  serve` receiving the webhooks and the admin's calls; a second `wadesk serve` plays Meta (the simulator
  mounted, its status webhooks posted to the first: by default a number's statuses due within 0.25 s in one
  webhook, as Meta aggregates them, `--status-batch-seconds 0` for one webhook per status);
- embedded: one process (`create_app` under uvicorn, in-memory queue, in-process pacer), SQLite unless
  `--database-url` says otherwise.

Each run starts fresh processes, seeds the demo company plus the audience straight into the database, and
drives the campaign through the HTTP API as the demo admin. The simulator counts every call to the messages
endpoint per number and second; the figures come from its counters, the campaign's stats and the database:

- achieved rate / configured rate over the sending period: the calls after the first, divided by the time from
  the first call to the last (the simulator's clock);
- the most calls in any calendar second and in any sliding one-second window (the limit is the rate);
- completion time next to the ideal (recipients / rate), and whether it is within 10% of it;
- sends per recipient (each exactly once) and the opted-out contacts skipped;
- each process's resident memory: when the campaign starts (the baseline, same run) and its peak (VmHWM).
  The 100,000-recipient run writes the whole audience and sends for `--memory-seconds`, then cancels: memory
  that grew with the audience would show there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.cluster import ENCRYPTION_KEY, Cluster, ClusterError, cpu_seconds, free_port, postgres_pids

TAG = "bench"
OPTED_OUT = 100


@dataclass
class Deployment:
    """What one run talks to: the API's base URL, the database, and the processes to watch."""

    base: str
    database_url: str
    processes: dict[str, int] = field(default_factory=dict)
    # Where the simulator is (its counters): the API's /simulator unless it runs on its own.
    simulator: str | None = None

    def rss_kib(self, key: str = "VmRSS") -> dict[str, int]:
        found = {}
        for name, pid in self.processes.items():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(key + ":"):
                        found[name] = int(line.split()[1])
        return found

    def cpu(self) -> dict[str, dict[int, float]]:
        """CPU seconds used so far by each process, and by each PostgreSQL server process (keyed by pid,
        since backends come and go)."""
        mine = {name: {pid: cpu_seconds([pid])} for name, pid in self.processes.items()}
        return {**mine, "postgres": {pid: cpu_seconds([pid]) for pid in postgres_pids()}}


def cpu_used(start: dict[str, dict[int, float]], end: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds each process (and PostgreSQL) used between two readings."""
    return {
        name: sum(seconds - start.get(name, {}).get(pid, 0.0) for pid, seconds in pids.items())
        for name, pids in end.items()
    }


# --- embedded: one process ---------------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    """The app with the simulator mounted, under uvicorn (the embedded run's child process)."""
    import uvicorn

    from wadesk.app import create_app
    from wadesk.config import Settings
    from wadesk.infra.logging import configure_logging

    settings = Settings(
        env="development",
        data_dir=Path(args.data_dir),
        database_url=args.database_url,
        encryption_key=ENCRYPTION_KEY,
        simulator=True,
        public_url=f"http://127.0.0.1:{args.port}",
        simulator_duplicate_ratio=0.0,
        simulator_out_of_order_ratio=0.0,
        simulator_status_batch_seconds=args.status_batch_seconds,
        log_json=True,
        rate_limit_enabled=False,
    )
    app = create_app(settings)
    configure_logging(json_output=True, level=getattr(logging, args.log_level.upper()))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


@contextlib.contextmanager
def embedded(args: argparse.Namespace, folder: Path, name: str) -> Iterator[Deployment]:
    data_dir = folder / name
    data_dir.mkdir()
    database_url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'wadesk.db'}"
    if args.database_url:
        reset_postgres(database_url)
    from wadesk.db.migrate import upgrade_to_head

    upgrade_to_head(database_url)
    port = free_port()
    log = data_dir / "server.log"
    command = [
        sys.executable, "-m", "bench.campaign_pacing", "--serve", "--port", str(port), "--data-dir", str(data_dir),
        "--database-url", database_url, "--log-level", args.log_level,
        "--status-batch-seconds", str(args.status_batch_seconds),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(
        command, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=data_dir, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/health/live", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise ClusterError(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield Deployment(base, database_url, {"server": process.pid})
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def reset_postgres(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def reset() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


# --- production: API + workers + PostgreSQL + Redis ---------------------------------------------------------------


@contextlib.contextmanager
def production(args: argparse.Namespace, folder: Path, name: str) -> Iterator[Deployment]:
    cluster = Cluster(folder / name, sweep_interval=5.0, sweep_stale=30.0).open()
    try:
        # Meta and the company are two services: `meta` serves the simulated Graph API to the workers and
        # posts its webhooks to `api`, which is what the company runs (webhooks in, the admin API).
        api = cluster.start_api("api", simulator=False, WADESK_RATE_LIMIT_ENABLED="false")
        meta = cluster.start_api(
            "meta",
            WADESK_PUBLIC_URL=api.url,
            WADESK_RATE_LIMIT_ENABLED="false",
            WADESK_SIMULATOR_STATUS_BATCH_SECONDS=str(args.status_batch_seconds),
        )
        processes = {"api": api.popen.pid, "meta": meta.popen.pid}
        for n in range(args.workers):
            worker = cluster.start_worker(f"worker{n + 1}", graph_url=f"{meta.url}/simulator")
            processes[worker.name] = worker.popen.pid
        yield Deployment(api.url, cluster.database_url, processes, simulator=f"{meta.url}/simulator")
    finally:
        cluster.close()


# --- seeding ------------------------------------------------------------------------------------------------------


async def seed(database_url: str, recipients: int) -> tuple[str, str, str]:
    """The demo company, then `recipients` tagged contacts and OPTED_OUT opted-out ones, in bulk.

    Returns the demo number's id, its Meta id and the id of the `hello_world` template."""
    from sqlalchemy import insert, select, text

    from wadesk.config import decode_encryption_key
    from wadesk.contacts.models import Contact, ContactTag
    from wadesk.db.session import create_engine, make_sessionmaker, unit_of_work
    from wadesk.kit.crypto import Keyring
    from wadesk.ops.demo_seed import seed_demo
    from wadesk.phone_numbers.models import PhoneNumber
    from wadesk.templates.models import Template
    from wadesk.tenants.models import Tenant

    engine = create_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    async with unit_of_work(sessionmaker) as session:
        await seed_demo(session, Keyring(current=decode_encryption_key(ENCRYPTION_KEY), previous=[]))
    async with unit_of_work(sessionmaker) as session:
        tenant_id = (
            await session.execute(select(Tenant.id).where(Tenant.slug == "demo-company"))
        ).scalar_one()
        number = (
            await session.execute(select(PhoneNumber).where(PhoneNumber.tenant_id == tenant_id))
        ).scalar_one()
        template_id = (
            await session.execute(
                select(Template.id).where(Template.tenant_id == tenant_id, Template.name == "hello_world")
            )
        ).scalar_one()
    total = recipients + OPTED_OUT
    batch = 5000
    for first in range(0, total, batch):
        contacts, tags = [], []
        for n in range(first, min(first + batch, total)):
            contact_id = uuid.uuid4()
            contacts.append(
                {
                    "id": contact_id,
                    "tenant_id": tenant_id,
                    "wa_id": f"1{n + 2_000_000_000:010d}",
                    "name": f"Customer {n}",
                    "opted_out": n >= recipients,
                    "blocked": False,
                    "tags": [TAG],
                    "attributes": {},
                }
            )
            tags.append({"id": uuid.uuid4(), "tenant_id": tenant_id, "contact_id": contact_id, "tag": TAG})
        async with unit_of_work(sessionmaker) as session:
            await session.execute(insert(Contact.__table__), contacts)
            await session.execute(insert(ContactTag.__table__), tags)
    if engine.dialect.name == "postgresql":
        # An audience imported just now has no planner statistics until autovacuum's next pass (within a
        # minute); without them PostgreSQL reads the audience with a quadratic plan. The benchmark measures
        # the steady state, as a campaign started after that pass finds it.
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE contacts, contact_tags"))
    await engine.dispose()
    return str(number.id), number.phone_number_id, str(template_id)


# --- one campaign ------------------------------------------------------------------------------------------------


async def api(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    response = await http.request(method, path, **kwargs)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


async def wait_for_webhook_backlog(http: httpx.AsyncClient, *, timeout: float) -> float:
    """Seconds until no stored webhook is left unprocessed (two readings a second apart, as the simulator
    may still be posting), at most `timeout`."""
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < timeout and quiet < 2:
        await asyncio.sleep(1.0)
        health = (await http.get("/api/health")).json()
        quiet = quiet + 1 if health["checks"]["database"].get("unprocessedWebhookEvents") == 0 else 0
    return time.monotonic() - started


async def run_campaign(
    deployment: Deployment,
    ids: tuple[str, str, str],
    recipients: int,
    rate: int,
    *,
    send_seconds: float | None,
) -> dict[str, Any]:
    number_id, meta_number_id, template_id = ids
    async with httpx.AsyncClient(base_url=deployment.base, timeout=60) as http:
        login = await api(
            http, "POST", "/api/auth/login", json={"email": "admin@demo.com", "password": "admin123"}
        )
        http.headers["Authorization"] = f"Bearer {login['accessToken']}"
        await api(
            http,
            "PATCH",
            f"/api/phone-numbers/{number_id}",
            json={"messagesPerSecond": rate, "messagingLimitTier": "TIER_UNLIMITED"},
        )
        await asyncio.sleep(4)  # the simulator learns the number's new rate within its 3 s sync
        campaign = await api(
            http,
            "POST",
            "/api/campaigns",
            json={
                "name": f"Bench {recipients}",
                "phoneNumberId": meta_number_id,
                "templateId": template_id,
                "audience": {"source": "contacts", "tags": [TAG]},
            },
        )
        baseline = deployment.rss_kib()
        cpu_at_start = deployment.cpu()
        started = time.monotonic()
        await api(http, "POST", f"/api/campaigns/{campaign['id']}/start")
        first_sent_at: float | None = None
        cancel_seconds: float | None = None
        while True:
            await asyncio.sleep(1.0)
            stats = await api(http, "GET", f"/api/campaigns/{campaign['id']}/stats")
            if first_sent_at is None and stats["funnel"]["sent"]:
                first_sent_at = time.monotonic()
            if stats["status"] == "completed":
                break
            if (
                send_seconds is not None
                and first_sent_at is not None
                and time.monotonic() - first_sent_at > send_seconds
            ):
                cancelling = time.monotonic()
                await api(http, "POST", f"/api/campaigns/{campaign['id']}/cancel")
                cancel_seconds = time.monotonic() - cancelling
                break
            if time.monotonic() - started > max(120.0, recipients / rate * 2.5):
                # Far past the ideal: stop and report what was reached (the report says it did not complete).
                await api(http, "POST", f"/api/campaigns/{campaign['id']}/cancel")
                break
        elapsed = time.monotonic() - started
        # The campaign completes once every recipient's message is sent; its delivered and read statuses
        # still arrive. The CPU figure covers them too: it is read once no webhook is left to process.
        status_backlog_seconds = await wait_for_webhook_backlog(http, timeout=120.0)
        cpu = cpu_used(cpu_at_start, deployment.cpu())
        peaks = deployment.rss_kib("VmHWM")
        sim = await api(http, "GET", f"{deployment.simulator or deployment.base + '/simulator'}/_sim/stats")
        stats = await api(http, "GET", f"/api/campaigns/{campaign['id']}/stats")
    per_number = sim["phoneNumbers"].get(meta_number_id, {})
    per_second = {int(k): v for k, v in per_number.get("callsPerSecond", {}).items()}
    busy = sorted(per_second)
    # Whole seconds strictly inside the sending period (the first and the last are partial).
    inner = [per_second[s] for s in busy[1:-1]] if len(busy) > 2 else list(per_second.values())
    return {
        "elapsed": elapsed,
        "cancel_seconds": cancel_seconds,
        "status_backlog_seconds": status_backlog_seconds,
        "status_webhooks": sim.get("webhooks", {}),
        "stats": stats,
        "calls": per_number.get("totalCalls", 0),
        "accepted": sim["totalSends"],
        "responses": sim["responsesByCode"],
        "max_per_calendar_second": max(per_second.values(), default=0),
        "max_per_sliding_second": per_number.get("maxCallsInAnySecond", 0),
        "sending_seconds": (per_number["lastCallAt"] - per_number["firstCallAt"]) if busy else 0.0,
        "mean_inner_second": sum(inner) / len(inner) if inner else 0.0,
        "baseline": baseline,
        "peaks": peaks,
        "cpu": cpu,
    }


async def duplicates(database_url: str) -> tuple[int, int]:
    """(recipients with more than one message, campaign messages), from the database."""
    from sqlalchemy import func, select

    from wadesk.db.session import create_engine, make_sessionmaker
    from wadesk.messages.models import Message

    engine = create_engine(database_url)
    async with make_sessionmaker(engine)() as session:
        per_recipient = (
            select(Message.campaign_recipient_id, func.count().label("n"))
            .where(Message.campaign_recipient_id.is_not(None))
            .group_by(Message.campaign_recipient_id)
            .subquery()
        )
        row = (
            await session.execute(
                select(
                    func.count().filter(per_recipient.c.n > 1), func.coalesce(func.sum(per_recipient.c.n), 0)
                )
            )
        ).one()
    await engine.dispose()
    return int(row[0]), int(row[1])


def one_run(
    args: argparse.Namespace, folder: Path, recipients: int, send_seconds: float | None
) -> dict[str, Any]:
    topology = production if args.mode == "production" else embedded
    with topology(args, folder, f"run{recipients}") as deployment:
        seeding = time.monotonic()
        ids = asyncio.run(seed(deployment.database_url, recipients))
        seeded_in = time.monotonic() - seeding
        result = asyncio.run(run_campaign(deployment, ids, recipients, args.rate, send_seconds=send_seconds))
        result["duplicates"], result["messages"] = asyncio.run(duplicates(deployment.database_url))
    result["seeded_in"] = seeded_in
    return result


# --- report ------------------------------------------------------------------------------------------------------


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def memory_line(result: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} {mib(result['baseline'].get(name, 0))} -> {mib(peak)}"
        for name, peak in sorted(result["peaks"].items())
    )


def report_pacing(result: dict[str, Any], recipients: int, rate: int) -> None:
    stats = result["stats"]
    ideal = recipients / rate
    sending = result["sending_seconds"]
    achieved = (result["accepted"] - 1) / sending if sending > 0 else 0.0
    completed = stats["status"] == "completed"
    within = completed and abs(result["elapsed"] - ideal) <= 0.1 * ideal
    print(f"\n== Pacing: {recipients:,} recipients, one number limited to {rate}/s ==")
    print(
        f"completion         {result['elapsed']:.1f} s, {'completed' if completed else 'NOT completed (stopped at 2.5x the ideal)'}"
        f" (ideal {ideal:.1f} s; within 10%: {'yes' if within else 'NO'})"
    )
    print(
        f"achieved / limit   {achieved:.1f}/s over {sending:.1f} s of sending / {rate}/s = {achieved / rate:.3f} (whole inner seconds: mean {result['mean_inner_second']:.1f}/s)"
    )
    print(
        f"busiest second     {result['max_per_calendar_second']} calls in a calendar second, {result['max_per_sliding_second']} in any sliding second (limit {rate})"
    )
    print(
        f"Graph calls        {result['calls']:,} calls, {result['accepted']:,} accepted; answers {json.dumps(result['responses'])}"
    )
    print(
        f"recipients         sent {stats['funnel']['sent']:,}, skipped {stats['counts']['skipped']} (opted out: {OPTED_OUT}), failed {stats['counts']['failed']}, queued {stats['counts']['queued']}"
    )
    print(
        f"exactly once       {result['duplicates']} recipients with more than one message ({result['messages']:,} campaign messages)"
    )
    funnel, webhooks = stats["funnel"], result["status_webhooks"]
    print(
        f"statuses           delivered {funnel.get('delivered', 0):,}, read {funnel.get('read', 0):,}; every webhook processed"
        f" {result['status_backlog_seconds']:.0f} s after completion; {webhooks.get('delivered', 0):,} webhooks posted for"
        f" {sum(webhooks.get('statuses', {}).values()):,} statuses"
    )
    print(f"memory (RSS)       at start -> peak: {memory_line(result)}")
    sent = max(stats["funnel"]["sent"], 1)
    per_send = ", ".join(f"{name} {seconds / sent * 1000:.1f}" for name, seconds in result["cpu"].items())
    total = sum(result["cpu"].values()) / sent * 1000
    print(
        f"CPU per message    {total:.1f} ms in all: {per_send} (start until every status is processed; every PostgreSQL process)"
    )


def report_memory(result: dict[str, Any], recipients: int, seconds: float) -> None:
    stats = result["stats"]
    print(
        f"\n== Memory: {recipients:,} recipients (whole audience written, {seconds:.0f} s of sending, cancelled) =="
    )
    print(
        f"recipients         {stats['counts']['total']:,} written; {stats['funnel']['sent']:,} sent; seeded in {result['seeded_in']:.0f} s"
    )
    if result["cancel_seconds"] is not None:
        skipped = stats["counts"]["skipped"]
        print(
            f"cancel             answered in {result['cancel_seconds']:.2f} s ({skipped:,} recipients skipped)"
        )
    print(f"memory (RSS)       at start -> peak: {memory_line(result)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=("production", "embedded"), default="production")
    parser.add_argument("--workers", type=int, default=2, help="production: worker processes")
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=80)
    parser.add_argument("--memory-recipients", type=int, default=100_000, help="0 skips the memory run")
    parser.add_argument("--memory-seconds", type=float, default=30.0)
    parser.add_argument(
        "--database-url", default=None, help="embedded: PostgreSQL instead of SQLite (reset!)"
    )
    parser.add_argument("--log-level", default="info", help="embedded: the server's log level")
    parser.add_argument(
        "--status-batch-seconds",
        type=float,
        default=0.25,
        help="the simulator posts a number's statuses due within this window in one webhook, as Meta batches "
        "them under load (default 0.25; 0: one webhook per status)",
    )
    parser.add_argument("--workdir", type=Path, help="keep logs and data here (default: a temporary folder)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    load = os.getloadavg()[0]
    print(
        f"host: {os.cpu_count()} CPUs, load average {load:.1f}; topology: {args.mode}"
        + (
            f" ({args.workers} workers, PostgreSQL, Redis)"
            if args.mode == "production"
            else f" ({args.database_url or 'SQLite'})"
        )
        + (
            f"; statuses batched per {args.status_batch_seconds} s"
            if args.status_batch_seconds
            else "; one status per webhook"
        )
    )
    with contextlib.ExitStack() as stack:
        folder = args.workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="campaign-bench-"))
        Path(folder).mkdir(parents=True, exist_ok=True)
        pacing = one_run(args, Path(folder), args.recipients, None)
        report_pacing(pacing, args.recipients, args.rate)
        if args.memory_recipients:
            memory = one_run(args, Path(folder), args.memory_recipients, args.memory_seconds)
            report_memory(memory, args.memory_recipients, args.memory_seconds)
            print(
                f"\npeak RSS, {args.memory_recipients:,} vs {args.recipients:,} recipients (the process that pumps and "
                "writes the audience is the API in embedded mode, a worker in production):"
            )
            for name in sorted(memory["peaks"]):
                small, large = pacing["peaks"].get(name, 0), memory["peaks"][name]
                print(f"  {name:10} {mib(small)} vs {mib(large)} ({(large - small) / 1024:+.0f} MiB)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
