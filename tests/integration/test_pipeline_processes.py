"""The pipelines in production mode: PostgreSQL, Redis, two `wadesk serve` processes and two `wadesk worker`
processes. Webhooks spread over both APIs are processed exactly once; a worker killed in the middle of a
backlog loses nothing and duplicates nothing; while Redis is down webhooks are still stored and answered, and
the sweeper drains them once it is back; two workers keep a number's send pace; and a message that arrives
through one API process reaches agents connected to the other, and nobody else."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from bench.cluster import APP_SECRET, Cluster, Process, libpq_url, run_async

from conftest import PAYLOADS, POSTGRES_URL, unavailable
from wadesk.whatsapp.signature import SIGNATURE_HEADER, sign

pytestmark = pytest.mark.slow
PACED_NUMBER = "7500000001"


@dataclass
class Running:
    cluster: Cluster
    api_a: Process
    api_b: Process
    # Meta, for the workers: the Cloud API simulator as its own process.
    meta: Process
    workers: list[Process]

    @property
    def graph_url(self) -> str:
        return self.meta.url


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    problem = _postgres_problem()
    if problem:
        unavailable("PostgreSQL", problem)
    if shutil.which("redis-server") is None:
        unavailable("Redis", "redis-server is not installed")
    # WADESK_CLUSTER_DIR keeps the processes' logs somewhere known (for a failing run).
    kept = os.environ.get("WADESK_CLUSTER_DIR")
    workdir = Path(kept) if kept else tmp_path_factory.mktemp("cluster")
    cluster = Cluster(workdir=workdir, postgres_url=POSTGRES_URL)
    try:
        cluster.open()
        # All four start at once; then each is waited for.
        api_a = cluster.spawn_api("api-a")
        api_b = cluster.spawn_api("api-b")
        # Status webhooks go to API B; only `sent`, which is what the pace test waits for.
        meta = cluster.spawn_simulator(
            "meta", webhook_url=f"{api_b.url}/api/webhook", numbers={PACED_NUMBER: 50}, statuses="sent"
        )
        workers = [cluster.spawn_worker(f"worker-{i}", graph_url=meta.url, concurrency=16) for i in (1, 2)]
        for process in (api_a, api_b, meta, *workers):
            cluster.wait_ready(process)
        yield Running(cluster, api_a, api_b, meta, workers)
    finally:
        cluster.close()


def _postgres_problem() -> str | None:
    async def probe() -> None:
        connection = await asyncpg.connect(libpq_url(POSTGRES_URL), timeout=5)
        await connection.close()

    try:
        run_async(probe)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


# --- helpers ---------------------------------------------------------------------------------------------------


@dataclass
class Company:
    token: str
    tenant_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(http: httpx.AsyncClient, api: Process, name: str) -> Company:
    response = await http.post(
        f"{api.url}/api/auth/register",
        json={
            "companyName": name,
            "name": "Owner",
            "email": f"owner-{uuid.uuid4().hex[:8]}@example.com",
            "password": "correct horse battery",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Company(body["accessToken"], body["tenant"]["id"])


async def connect_number(
    http: httpx.AsyncClient, api: Process, company: Company, phone_number_id: str, **extra: Any
) -> dict[str, Any]:
    response = await http.post(
        f"{api.url}/api/phone-numbers",
        headers=company.headers,
        json={
            "wabaId": f"9{phone_number_id}",
            "phoneNumberId": phone_number_id,
            "displayPhoneNumber": f"+{phone_number_id}",
            "accessToken": f"token-{phone_number_id}",
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def inbound_text(phone_number_id: str, wamid: str, sender: str, body: str, timestamp: int) -> bytes:
    payload = json.loads((PAYLOADS / "inbound_text.json").read_bytes())
    payload = copy.deepcopy(payload)
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"] = {"display_phone_number": phone_number_id, "phone_number_id": phone_number_id}
    value["contacts"][0].update(wa_id=sender, profile={"name": f"Customer {sender[-4:]}"})
    value["messages"][0].update(id=wamid, timestamp=str(timestamp), text={"body": body}, **{"from": sender})
    return json.dumps(payload).encode()


async def post_webhook(http: httpx.AsyncClient, api: Process, raw: bytes) -> int:
    response = await http.post(
        f"{api.url}/api/webhook",
        content=raw,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(APP_SECRET, raw)},
    )
    return response.status_code


async def bounded_gather(limit: int, calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(run(c) for c in calls)))


async def scalar(cluster: Cluster, sql: str, *args: Any) -> Any:
    connection = await cluster.connect()
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"not within {timeout}s: {what}")


async def unprocessed(cluster: Cluster, like: str) -> int:
    return int(
        await scalar(
            cluster,
            "SELECT count(*) FROM webhook_events WHERE status = 'received' "
            "AND position(convert_to($1, 'UTF8') in raw_body) > 0",
            like,
        )
    )


async def quiet(cluster: Cluster, timeout: float = 60) -> None:
    """Wait until no webhook event is left unprocessed (what an earlier test started has finished)."""

    async def check() -> bool:
        return (
            int(await scalar(cluster, "SELECT count(*) FROM webhook_events WHERE status = 'received'")) == 0
        )

    await wait_until(check, timeout, "every webhook event processed")


@dataclass
class SseFrame:
    event: str
    data: str


class SseReader:
    """A Server-Sent Events client over a real connection, read with timeouts."""

    def __init__(self, http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self.http, self.url, self.headers = http, url, headers
        self._stack: Any = None
        self._lines: AsyncIterator[str] | None = None

    async def __aenter__(self) -> SseReader:
        self._stack = self.http.stream(
            "GET", self.url, headers=self.headers, timeout=httpx.Timeout(5, read=None)
        )
        response = await self._stack.__aenter__()
        assert response.status_code == 200
        self._lines = response.aiter_lines()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.__aexit__(*exc)

    async def next(self, timeout: float) -> SseFrame:
        assert self._lines is not None
        event, data = "message", []
        async with asyncio.timeout(timeout):
            while True:
                line = await anext(self._lines)
                if line == "":
                    if data:
                        return SseFrame(event, "\n".join(data))
                    event = "message"
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())

    async def until(self, event: str, timeout: float) -> SseFrame:
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.next(max(deadline - time.monotonic(), 0.01))
            if frame.event == event:
                return frame

    async def nothing_for(self, seconds: float) -> list[SseFrame]:
        frames: list[SseFrame] = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frames.append(await self.next(remaining))
            except TimeoutError:
                break
        return frames


# --- the tests -------------------------------------------------------------------------------------------------


async def test_webhooks_spread_over_both_apis_and_resent_are_each_applied_exactly_once(
    running: Running,
) -> None:
    cluster, api_a, api_b = running.cluster, running.api_a, running.api_b
    async with httpx.AsyncClient(timeout=30) as http:
        company = await register(http, api_a, "Spread Ltd")
        await connect_number(http, api_a, company, "7100000001")
        deliveries = [
            inbound_text("7100000001", f"wamid.spread-{i}", f"1555710{i:04d}", f"hello {i}", 1750000000 + i)
            for i in range(150)
        ]
        # Every delivery reaches both APIs, as Meta's retries would.
        calls = [
            lambda raw=raw, api=api: post_webhook(http, api, raw)
            for raw in deliveries
            for api in (api_a, api_b)
        ]
        statuses = await bounded_gather(32, calls)
    assert set(statuses) == {200}

    await wait_until(
        lambda: _zero(unprocessed(cluster, "wamid.spread-")), 60, "the spread deliveries processed"
    )
    assert await scalar(cluster, "SELECT count(*) FROM messages WHERE wamid LIKE 'wamid.spread-%'") == 150
    assert (
        await scalar(cluster, "SELECT count(DISTINCT wamid) FROM messages WHERE wamid LIKE 'wamid.spread-%'")
        == 150
    )
    events = "FROM webhook_events WHERE position(convert_to('wamid.spread-', 'UTF8') in raw_body) > 0"
    assert await scalar(cluster, f"SELECT count(*) {events}") == 300
    assert await scalar(cluster, f"SELECT count(*) {events} AND status = 'processed' AND attempts = 1") == 300
    assert (
        await scalar(
            cluster, "SELECT count(*) FROM conversations WHERE tenant_id = $1", uuid.UUID(company.tenant_id)
        )
        == 150
    )


async def _zero(count: Awaitable[int]) -> bool:
    return await count == 0


async def test_an_agent_on_one_api_process_sees_a_message_that_arrived_through_the_other(
    running: Running,
) -> None:
    cluster, api_a, api_b = running.cluster, running.api_a, running.api_b
    async with httpx.AsyncClient(timeout=30) as http:
        ours = await register(http, api_a, "Realtime Ours Ltd")
        theirs = await register(http, api_b, "Realtime Theirs Ltd")
        await connect_number(http, api_a, ours, "7200000001")
        await connect_number(http, api_b, theirs, "7200000002")
        async with (
            SseReader(http, f"{api_a.url}/api/events", ours.headers) as mine,
            SseReader(http, f"{api_b.url}/api/events", theirs.headers) as other,
        ):
            assert (await mine.next(10)).event == "ready"
            assert (await other.next(10)).event == "ready"
            raw = inbound_text(
                "7200000001", "wamid.realtime-1", "15557200001", "seen everywhere?", 1750000000
            )
            assert await post_webhook(http, api_b, raw) == 200
            created = await mine.until("message.created", 20)
            assert await other.nothing_for(2.0) == []
    assert json.loads(created.data)["content"] == {"body": "seen everywhere?"}
    assert json.loads(created.data)["wamid"] == "wamid.realtime-1"
    await quiet(cluster)


async def test_two_workers_keep_a_number_s_pace_and_send_every_queued_message(running: Running) -> None:
    cluster, api_a, api_b = running.cluster, running.api_a, running.api_b
    await quiet(cluster)
    number, customer = PACED_NUMBER, "15557500001"
    async with httpx.AsyncClient(timeout=30) as http:
        company = await register(http, api_a, "Paced Ltd")
        await connect_number(http, api_a, company, number, messagesPerSecond=50)
        # The customer writes first: the 24-hour window is open for free-form replies.
        opening = inbound_text(number, "wamid.paced-0", customer, "hi", int(time.time()))
        assert await post_webhook(http, api_b, opening) == 200
        await quiet(cluster)

        known = (await http.get(f"{running.meta.url}/_sim/phone_numbers/{number}")).json()
        assert known["messagesPerSecond"] == 50  # what Meta allows this number

        # Queue all 500 while the workers are paused, so the two of them start on a full queue.
        for worker in running.workers:
            cluster.signal(worker, signal.SIGSTOP)
        try:

            async def queue_one(i: int) -> str:
                api = api_a if i % 2 else api_b
                response = await http.post(
                    f"{api.url}/api/messages",
                    headers=company.headers,
                    json={
                        "phoneNumberId": number,
                        "to": f"+{customer}",
                        "type": "text",
                        "text": f"paced {i}",
                    },
                )
                assert response.status_code == 202, response.text
                return str(response.json()["id"])

            ids = await bounded_gather(16, [lambda i=i: queue_one(i) for i in range(500)])
        finally:
            for worker in running.workers:
                cluster.signal(worker, signal.SIGCONT)

        async def all_sent() -> bool:
            left = await scalar(
                cluster,
                "SELECT count(*) FROM messages WHERE id = ANY($1::uuid[]) AND status NOT IN ('sent', 'delivered', 'read')",
                ids,
            )
            return int(left) == 0

        await wait_until(all_sent, 90, "all 500 messages sent")
        stats = (await http.get(f"{running.meta.url}/_sim/stats")).json()

    calls = stats["phoneNumbers"][number]
    per_second = {int(second): n for second, n in calls["callsPerSecond"].items()}
    assert calls["totalCalls"] == 500, stats["responsesByCode"]
    assert max(per_second.values()) <= 50, per_second
    assert calls["maxCallsInAnySecond"] <= 50
    assert "130429" not in stats["responsesByCode"]
    await quiet(cluster, timeout=90)


async def test_while_redis_is_down_webhooks_are_stored_and_answered_and_the_sweeper_drains_them_after(
    running: Running,
) -> None:
    cluster, api_a, api_b = running.cluster, running.api_a, running.api_b
    await quiet(cluster)
    async with httpx.AsyncClient(timeout=30) as http:
        company = await register(http, api_a, "Outage Ltd")
        await connect_number(http, api_a, company, "7300000001")

        cluster.stop_redis()
        try:
            health = await http.get(f"{api_a.url}/api/health")
            assert health.status_code == 503
            assert health.json()["checks"]["redis"]["status"] == "down"
            started = time.monotonic()
            statuses = [
                await post_webhook(
                    http,
                    (api_a, api_b)[i % 2],
                    inbound_text(
                        "7300000001", f"wamid.outage-{i}", f"1555730{i:04d}", f"outage {i}", 1750000000 + i
                    ),
                )
                for i in range(40)
            ]
            elapsed = time.monotonic() - started
            assert statuses == [200] * 40
            assert elapsed < 40, "a webhook must not wait long on a queue that is down"
            assert await unprocessed(cluster, "wamid.outage-") == 40
        finally:
            cluster.start_redis()

        await wait_until(
            lambda: _zero(unprocessed(cluster, "wamid.outage-")), 60, "the sweeper draining the outage"
        )
        last_health: list[Any] = []

        async def healthy_again() -> bool:
            answer = await http.get(f"{api_a.url}/api/health")
            last_health[:] = [answer.json()]
            return answer.status_code == 200

        # Each API process notices Redis is back on its next use of a connection: within seconds, not at once.
        try:
            await wait_until(healthy_again, 30, "health back to 200")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last answer: {last_health}") from None
    assert await scalar(cluster, "SELECT count(*) FROM messages WHERE wamid LIKE 'wamid.outage-%'") == 40
    events = "FROM webhook_events WHERE position(convert_to('wamid.outage-', 'UTF8') in raw_body) > 0"
    assert await scalar(cluster, f"SELECT count(*) {events} AND status = 'processed' AND attempts = 1") == 40
    assert all(worker.alive() for worker in running.workers)


async def test_a_worker_killed_in_the_middle_of_a_backlog_loses_nothing_and_duplicates_nothing(
    running: Running,
) -> None:
    cluster, api_a, api_b = running.cluster, running.api_a, running.api_b
    await quiet(cluster)
    total = 2000
    async with httpx.AsyncClient(timeout=60) as http:
        company = await register(http, api_a, "Backlog Ltd")
        await connect_number(http, api_a, company, "7400000001")
        for worker in running.workers:
            cluster.signal(worker, signal.SIGSTOP)  # the backlog builds up
        try:
            deliveries = [
                inbound_text(
                    "7400000001", f"wamid.backlog-{i}", f"155574{i % 400:05d}", f"backlog {i}", 1750000000 + i
                )
                for i in range(total)
            ]
            calls = [
                lambda raw=raw, i=i: post_webhook(http, (api_a, api_b)[i % 2], raw)
                for i, raw in enumerate(deliveries)
            ]
            statuses = await bounded_gather(32, calls)
        finally:
            for worker in running.workers:
                cluster.signal(worker, signal.SIGCONT)
    assert set(statuses) == {200}

    async def some_processed() -> bool:
        return await unprocessed(cluster, "wamid.backlog-") <= total - 300

    await wait_until(some_processed, 60, "the workers starting on the backlog")
    victim = running.workers.pop(0)
    cluster.kill(victim)
    assert await unprocessed(cluster, "wamid.backlog-") > 0, "the backlog ended before the kill"
    running.workers.append(cluster.start_worker("worker-3", graph_url=running.graph_url, concurrency=16))

    await wait_until(lambda: _zero(unprocessed(cluster, "wamid.backlog-")), 120, "the backlog drained")
    events = "FROM webhook_events WHERE position(convert_to('wamid.backlog-', 'UTF8') in raw_body) > 0"
    assert await scalar(cluster, f"SELECT count(*) {events}") == total
    assert await scalar(cluster, f"SELECT count(*) {events} AND status = 'processed'") == total
    # Each delivery was applied once: no event processed twice, no message stored twice.
    assert await scalar(cluster, f"SELECT count(*) {events} AND attempts <> 1") == 0
    assert await scalar(cluster, "SELECT count(*) FROM messages WHERE wamid LIKE 'wamid.backlog-%'") == total
    assert (
        await scalar(cluster, "SELECT count(DISTINCT wamid) FROM messages WHERE wamid LIKE 'wamid.backlog-%'")
        == total
    )
    conversations = await scalar(
        cluster,
        "SELECT sum(unread_count) FROM conversations WHERE tenant_id = $1",
        uuid.UUID(company.tenant_id),
    )
    assert conversations == total
