"""wadesk run the production way on this machine, for the integration tests and the benchmarks: a scratch
PostgreSQL database (created, migrated, dropped), a private Redis server on a free port (no persistence, so
it can be stopped and started without touching the machine's own), and `wadesk serve` / `wadesk worker`
processes on free ports with fixed secrets. Everything is loopback only.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("WADESK_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
APP_SECRET = "cluster-meta-app-secret-0123456789"
VERIFY_TOKEN = "cluster-verify-token-0123456789"
JWT_SECRET = "cluster-jwt-secret-" + "x" * 40
ENCRYPTION_KEY = base64.b64encode(b"cluster-encryption-key-32-bytes!").decode()
T = TypeVar("T")


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on its own event loop in a thread: callable from synchronous code even
    where an event loop is already running in this thread (a test session's, a browser driver's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def libpq_url(url: str) -> str:
    """postgresql+asyncpg://… as asyncpg and libpq write it."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


class ClusterError(RuntimeError):
    """A process of the cluster did not start or stop as expected (its log tail is in the message)."""


@dataclass
class PrivatePostgres:
    """A PostgreSQL server of its own (initdb into `datadir`, a free port, trust auth), for benchmarks that stop
    and restart the database under load without touching the machine's own server. initdb refuses to run as
    root, so as root the server runs as the `postgres` user."""

    datadir: Path
    port: int = field(default_factory=free_port)
    bindir: Path = field(default_factory=lambda: _postgres_bindir())

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> PrivatePostgres:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.datadir, "postgres", "postgres")
            # A temporary directory is private to root; the server's user must reach its data inside.
            self.datadir.parent.chmod(self.datadir.parent.stat().st_mode | 0o711)
        self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300"
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        """Fast shutdown: sessions are ended, as a restart or a fail-over would end them."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)

    @property
    def log(self) -> Path:
        return self.datadir / "server.log"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise ClusterError(f"{program} failed:\n{result.stdout}\n{result.stderr}")


def _postgres_bindir() -> Path:
    """The newest server installed the Debian way (/usr/lib/postgresql/<version>/bin), else the one on PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found is None:
        raise ClusterError("no PostgreSQL server binaries (initdb) found")
    return Path(found).parent


@dataclass
class Process:
    name: str
    kind: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None

    @property
    def url(self) -> str:
        assert self.port is not None
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Cluster:
    """Start with `open()`, end with `close()` (idempotent); processes started in between are stopped."""

    workdir: Path
    postgres_url: str = POSTGRES_URL
    # Sweeper timings for the processes: short, so tests of lost queue entries take seconds, not minutes.
    sweep_interval: float = 2.0
    sweep_stale: float = 8.0
    extra_env: dict[str, str] = field(default_factory=dict)
    database: str = field(default_factory=lambda: f"wadesk_it_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    redis_port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    _redis: subprocess.Popen[bytes] | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    # --- services ---------------------------------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        return with_database(self.postgres_url, self.database)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def open(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._admin_sql(f'CREATE DATABASE "{self.database}"')
        self.start_redis()
        # In this process: it has imported everything already, a `wadesk migrate` would import it all again.
        # (In a thread: the migration runs an event loop of its own.)
        from wadesk.db.migrate import upgrade_to_head

        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(upgrade_to_head, self.database_url).result()
        return self

    def close(self) -> None:
        for process in list(self.processes):
            self.stop(process, timeout=10)
        self.stop_redis()
        for log in self._logs:
            log.close()
        self._logs.clear()
        try:
            self._admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except Exception as exc:  # leave a note rather than hide the test's own failure
            print(f"could not drop {self.database}: {exc}", file=sys.stderr)

    def _admin_sql(self, statement: str) -> None:
        async def run() -> None:
            connection = await asyncpg.connect(libpq_url(with_database(self.postgres_url, "postgres")))
            try:
                await connection.execute(statement)
            finally:
                await connection.close()

        run_async(run)

    async def connect(self) -> asyncpg.Connection:
        """A plain connection to the cluster's database (for counting rows)."""
        return await asyncpg.connect(libpq_url(self.database_url))

    def start_redis(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ClusterError("redis-server is not installed")
        log = self._log("redis")
        self._redis = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise ClusterError("redis-server did not start")

    def stop_redis(self) -> None:
        if self._redis is not None and self._redis.poll() is None:
            self._redis.terminate()
            try:
                self._redis.wait(10)
            except subprocess.TimeoutExpired:
                self._redis.kill()
                self._redis.wait(5)
        self._redis = None

    # --- wadesk processes -------------------------------------------------------------------------------------

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("WADESK_") and k != "PROMETHEUS_MULTIPROC_DIR"
        }
        env.update(
            WADESK_ENV="development",
            WADESK_DATABASE_URL=self.database_url,
            WADESK_REDIS_URL=self.redis_url,
            WADESK_JWT_SECRET=JWT_SECRET,
            WADESK_ENCRYPTION_KEY=ENCRYPTION_KEY,
            WADESK_META_APP_SECRET=APP_SECRET,
            WADESK_META_VERIFY_TOKEN=VERIFY_TOKEN,
            WADESK_LOG_JSON="1",
            WADESK_SWEEP_INTERVAL_SECONDS=str(self.sweep_interval),
            WADESK_SWEEP_WEBHOOK_STALE_SECONDS=str(self.sweep_stale),
            WADESK_DATA_DIR=str(self.workdir / "data"),
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        )
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def run_cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "wadesk.cli", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(f"wadesk {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start_api(self, name: str, *, simulator: bool = True, **env: str) -> Process:
        return self.wait_ready(self.spawn_api(name, simulator=simulator, **env))

    def start_worker(self, name: str, *, graph_url: str, concurrency: int = 16, **env: str) -> Process:
        return self.wait_ready(self.spawn_worker(name, graph_url=graph_url, concurrency=concurrency, **env))

    def spawn_api(self, name: str, *, simulator: bool = True, **env: str) -> Process:
        """`wadesk serve` on a free port (with the built-in simulator at /simulator unless told otherwise)."""
        port = free_port()
        extra = {"WADESK_PUBLIC_URL": f"http://127.0.0.1:{port}", **env}
        if simulator:
            extra.update(
                WADESK_SIMULATOR="1",
                WADESK_SIMULATOR_DUPLICATE_RATIO="0",
                WADESK_SIMULATOR_OUT_OF_ORDER_RATIO="0",
            )
        return self._spawn(name, "api", ["serve", "--host", "127.0.0.1", "--port", str(port)], extra, port)

    def spawn_worker(self, name: str, *, graph_url: str, concurrency: int = 16, **env: str) -> Process:
        """`wadesk worker`, its Graph API calls going to `graph_url` (an API process's simulator)."""
        extra = {"WADESK_GRAPH_API_URL": graph_url, **env}
        return self._spawn(name, "worker", ["worker", "--concurrency", str(concurrency)], extra, None)

    def wait_ready(self, process: Process, timeout: float = 120) -> Process:
        """Until an API (or the simulator) answers, or a worker has logged that it started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(process)
            if process.kind in ("api", "simulator"):
                probe = "/api/health/live" if process.kind == "api" else "/_sim/stats"
                try:
                    if httpx.get(f"{process.url}{probe}", timeout=5).status_code == 200:
                        return process
                except httpx.HTTPError:
                    pass
            elif "worker_started" in process.log_tail(200):
                return process
            time.sleep(0.1)
        raise ClusterError(f"{process.name} did not become ready:\n{process.log_tail()}")

    def spawn_simulator(
        self, name: str, *, webhook_url: str, numbers: dict[str, int], statuses: str = "all"
    ) -> Process:
        """The Cloud API simulator as its own process (Meta, for the workers), serving `numbers` (id → messages
        per second) and posting its status webhooks to `webhook_url`."""
        port = free_port()
        args = ["--port", str(port), "--webhook-url", webhook_url, "--statuses", statuses]
        for phone_number_id, rate in numbers.items():
            args += ["--number", f"{phone_number_id}:{rate}"]
        env = {"BENCH_APP_SECRET": APP_SECRET}
        return self._spawn(name, "simulator", args, env, port, module="bench.simulator_server")

    def _spawn(
        self,
        name: str,
        kind: str,
        args: list[str],
        env: dict[str, str],
        port: int | None,
        module: str = "wadesk.cli",
    ) -> Process:
        log = self._log(name)
        popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=self.env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
        process = Process(name, kind, popen, Path(log.name), port)
        self.processes.append(process)
        return process

    def _log(self, name: str) -> IO[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        self._logs.append(log)
        return log

    @staticmethod
    def _check_alive(process: Process) -> None:
        if not process.alive():
            raise ClusterError(
                f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}"
            )

    def stop(self, process: Process, *, timeout: float = 20) -> int:
        """SIGTERM, wait for a graceful exit (SIGKILL past `timeout`); the exit code."""
        if process.alive():
            self.signal(process, signal.SIGCONT)
            process.popen.terminate()
            try:
                process.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(5)
        if process in self.processes:
            self.processes.remove(process)
        return int(process.popen.returncode)

    def kill(self, process: Process) -> None:
        """SIGKILL: the process gets no chance to finish or release anything."""
        self.signal(process, signal.SIGKILL)
        process.popen.wait(10)
        if process in self.processes:
            self.processes.remove(process)

    @staticmethod
    def signal(process: Process, signum: int) -> None:
        if process.alive():
            os.kill(process.popen.pid, signum)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes have used so far: unlike rates, not inflated by whatever else
    the machine runs meanwhile. A process that is gone counts nothing."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (the postmaster, its backends and helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
