"""Campaign pacing: a 10,000-recipient campaign on one number limited to 80 messages per second, against the
built-in Cloud API simulator, and the server's peak memory for 10,000 and 100,000 recipients.

    python bench/campaign_pacing.py                       # both runs, SQLite in a temporary folder
    python bench/campaign_pacing.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    python bench/campaign_pacing.py --recipients 2000 --memory-recipients 0     # a quick look

Each run starts a fresh server process (`create_app` with the simulator mounted, under uvicorn), seeds the
demo company plus the audience straight into the database, then drives the campaign through the HTTP API as
the demo admin. The simulator counts every call to the messages endpoint per number and second; the figures
come from its counters and from the campaign's own stats:

- achieved rate / configured rate, over the sending period (first to last accepted send);
- the most calls any calendar second and any sliding one-second window saw (the limit is the configured rate);
- completion time next to the ideal (recipients / rate), and whether it is within 10% of it;
- sends per recipient (every recipient exactly once) and opted-out contacts skipped;
- the server process's resident memory: idle after seeding (the baseline) and its peak (VmHWM) while the
  campaign ran. The 100,000-recipient run writes the whole audience and sends for `--memory-seconds`, then
  cancels: memory that grew with the audience would show there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TAG = "bench"
OPTED_OUT = 100


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    database_url: str
    log: Path

    def rss_kib(self, key: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the server process -----------------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    """Run the app (simulator mounted) under uvicorn; called in the child process."""
    import uvicorn

    from wadesk.app import create_app
    from wadesk.config import Settings
    from wadesk.infra.logging import configure_logging
    from wadesk.whatsapp.simulator import StatusDelays

    settings = Settings(
        env="development",
        data_dir=Path(args.data_dir),
        database_url=args.database_url,
        simulator=True,
        public_url=f"http://127.0.0.1:{args.port}",
        simulator_duplicate_ratio=0.0,
        simulator_out_of_order_ratio=0.0,
        log_json=True,
        rate_limit_enabled=False,
    )
    app = create_app(settings)
    configure_logging(json_output=True, level=getattr(logging, args.log_level.upper()))
    if args.statuses == "sent":
        app.state.simulator.config.status_delays = StatusDelays(sent=0.2, delivered=None, read=None)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


def start_server(database_url: str, data_dir: Path, args: argparse.Namespace) -> Server:
    port = free_port()
    log = data_dir / "server.log"
    command = [
        sys.executable, __file__, "--serve", "--port", str(port), "--data-dir", str(data_dir),
        "--database-url", database_url, "--statuses", args.statuses, "--log-level", args.log_level,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/api/health/live", timeout=2).status_code == 200:
                return Server(process, base, database_url, log)
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("the server did not start in 60 s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()


# --- seeding ----------------------------------------------------------------------------------------------------


async def seed(database_url: str, recipients: int) -> tuple[str, str, str]:
    """The demo company, then `recipients` tagged contacts and OPTED_OUT opted-out ones, in bulk.

    Returns the demo number's id, its Meta id and the id of the `hello_world` template."""
    from sqlalchemy import insert, select

    from wadesk.contacts.models import Contact, ContactTag
    from wadesk.db.session import create_engine, make_sessionmaker, unit_of_work
    from wadesk.infra.runtime import keyring_from_settings
    from wadesk.ops.demo_seed import seed_demo
    from wadesk.phone_numbers.models import PhoneNumber
    from wadesk.templates.models import Template
    from wadesk.tenants.models import Tenant

    engine = create_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    settings = bench_settings()
    async with unit_of_work(sessionmaker) as session:
        await seed_demo(session, keyring_from_settings(settings))
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
    await engine.dispose()
    return str(number.id), number.phone_number_id, str(template_id)


_SECRETS: dict[str, str] = {}


def bench_settings() -> Any:
    """Settings whose secrets the server process shares (the encryption key decrypts the demo token)."""
    from wadesk.config import Settings

    return Settings(
        env="development",
        encryption_key=_SECRETS["encryption_key"],
        jwt_secret=_SECRETS["jwt_secret"],
        meta_app_secret=_SECRETS["meta_app_secret"],
        meta_verify_token=_SECRETS["meta_verify_token"],
    )


# --- one run ----------------------------------------------------------------------------------------------------


async def api(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    response = await http.request(method, path, **kwargs)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


async def run_campaign(
    server: Server, ids: tuple[str, str, str], recipients: int, rate: int, *, send_seconds: float | None
) -> dict[str, Any]:
    number_id, meta_number_id, template_id = ids
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:
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
        baseline_kib = server.rss_kib()
        started = time.monotonic()
        await api(http, "POST", f"/api/campaigns/{campaign['id']}/start")
        first_sent_at: float | None = None
        samples: list[int] = []
        while True:
            await asyncio.sleep(1.0)
            samples.append(server.rss_kib())
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
                await api(http, "POST", f"/api/campaigns/{campaign['id']}/cancel")
                break
            if time.monotonic() - started > max(3600, recipients / rate * 5):
                raise RuntimeError(f"the campaign did not finish: {stats}")
        elapsed = time.monotonic() - started
        sim = await api(http, "GET", "/simulator/_sim/stats")
        await asyncio.sleep(3)
        stats = await api(http, "GET", f"/api/campaigns/{campaign['id']}/stats")
    per_number = sim["phoneNumbers"].get(meta_number_id, {})
    per_second = {int(k): v for k, v in per_number.get("callsPerSecond", {}).items()}
    busy = sorted(per_second)
    # Whole seconds strictly inside the sending period (the first and last are partial).
    inner = [per_second[s] for s in busy[1:-1]] if len(busy) > 2 else list(per_second.values())
    return {
        "elapsed": elapsed,
        "stats": stats,
        "calls": per_number.get("totalCalls", 0),
        "accepted": sim["totalSends"],
        "responses": sim["responsesByCode"],
        "max_per_calendar_second": max(per_second.values(), default=0),
        "max_per_sliding_second": per_number.get("maxCallsInAnySecond", 0),
        "sending_seconds": (busy[-1] - busy[0] + 1) if busy else 0,
        "mean_inner_second": sum(inner) / len(inner) if inner else 0.0,
        "baseline_kib": baseline_kib,
        "peak_kib": server.rss_kib("VmHWM"),
        "max_sampled_kib": max(samples, default=0),
    }


async def duplicates(database_url: str) -> tuple[int, int]:
    """(recipients with more than one message, campaign messages) from the database."""
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


def prepare_database(url: str | None, folder: Path, name: str) -> str:
    from wadesk.db.migrate import upgrade_to_head

    if url is None:
        database_url = f"sqlite+aiosqlite:///{folder / (name + '.db')}"
    else:
        database_url = url
        reset_postgres(url)
    upgrade_to_head(database_url)
    return database_url


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


def one_run(
    args: argparse.Namespace, folder: Path, recipients: int, send_seconds: float | None
) -> dict[str, Any]:
    name = f"run{recipients}"
    data_dir = folder / name
    data_dir.mkdir()
    secrets_dir = data_dir / "secrets"
    secrets_dir.mkdir()
    for key, value in _SECRETS.items():
        (secrets_dir / key).write_text(value)
    database_url = prepare_database(args.database_url, folder, name)
    seeding = time.monotonic()
    ids = asyncio.run(seed(database_url, recipients))
    seeded_in = time.monotonic() - seeding
    server = start_server(database_url, data_dir, args)
    try:
        result = asyncio.run(run_campaign(server, ids, recipients, args.rate, send_seconds=send_seconds))
    finally:
        stop_server(server)
    result["seeded_in"] = seeded_in
    result["duplicates"], result["messages"] = asyncio.run(duplicates(database_url))
    return result


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def report_pacing(result: dict[str, Any], recipients: int, rate: int) -> None:
    stats = result["stats"]
    ideal = recipients / rate
    sending = max(result["sending_seconds"], 1)
    achieved = stats["funnel"]["sent"] / sending
    within = abs(result["elapsed"] - ideal) <= 0.1 * ideal
    print(f"\n== Pacing: {recipients:,} recipients, one number limited to {rate}/s ==")
    print(
        f"completion          {result['elapsed']:.1f} s   (ideal {ideal:.1f} s, within 10%: {'yes' if within else 'NO'})"
    )
    print(
        f"achieved / config.  {achieved:.1f}/s / {rate}/s = {achieved / rate:.3f}   (whole inner seconds: mean {result['mean_inner_second']:.1f}/s)"
    )
    print(
        f"max per second      {result['max_per_calendar_second']} in a calendar second, {result['max_per_sliding_second']} in any sliding second (limit {rate})"
    )
    print(
        f"Graph calls         {result['calls']:,} calls, {result['accepted']:,} accepted; answers {json.dumps(result['responses'])}"
    )
    print(
        f"recipients          sent {stats['funnel']['sent']:,}, skipped {stats['counts']['skipped']} (opted out: {OPTED_OUT}), failed {stats['counts']['failed']}, queued {stats['counts']['queued']}"
    )
    print(
        f"duplicates          {result['duplicates']} recipients with more than one message ({result['messages']:,} campaign messages)"
    )
    print(
        f"server memory       baseline {mib(result['baseline_kib'])} (idle, seeded), peak {mib(result['peak_kib'])} (VmHWM)"
    )


def report_memory(result: dict[str, Any], recipients: int, seconds: float) -> None:
    stats = result["stats"]
    print(
        f"\n== Memory: {recipients:,} recipients (audience written, then {seconds:.0f} s of sending, then cancelled) =="
    )
    print(
        f"recipients written  {stats['counts']['total']:,}; sent {stats['funnel']['sent']:,}; seeded in {result['seeded_in']:.0f} s"
    )
    print(
        f"server memory       baseline {mib(result['baseline_kib'])} (idle, seeded), peak {mib(result['peak_kib'])} (VmHWM)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=80)
    parser.add_argument("--memory-recipients", type=int, default=100_000, help="0 skips the memory run")
    parser.add_argument("--memory-seconds", type=float, default=30.0)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (its public schema is reset)")
    parser.add_argument(
        "--statuses", choices=("all", "sent"), default="all", help="status webhooks per message"
    )
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    import base64

    _SECRETS.update(
        encryption_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        jwt_secret=secrets.token_urlsafe(48),
        meta_app_secret=secrets.token_hex(16),
        meta_verify_token=secrets.token_urlsafe(24),
    )
    print(
        f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; database: {args.database_url or 'SQLite'}; "
        f"status webhooks: {args.statuses}"
    )
    with tempfile.TemporaryDirectory(prefix="campaign-bench-") as folder:
        pacing = one_run(args, Path(folder), args.recipients, None)
        report_pacing(pacing, args.recipients, args.rate)
        if args.memory_recipients:
            memory = one_run(args, Path(folder), args.memory_recipients, args.memory_seconds)
            report_memory(memory, args.memory_recipients, args.memory_seconds)
            growth = memory["peak_kib"] - pacing["peak_kib"]
            print(
                f"\npeak memory, {args.memory_recipients:,} vs {args.recipients:,} recipients: "
                f"{mib(memory['peak_kib'])} vs {mib(pacing['peak_kib'])} ({growth / 1024:+.0f} MiB)"
            )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
