"""A real `wadesk demo` process (for the browser tests and the CLI tests): its own port, data dir and Cloud API
simulator, and the `wadesk simulate inbound` command aimed at it."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
WADESK = ROOT / ".venv" / "bin" / "wadesk"
DEMO_NUMBER = "1234567890"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoServer:
    """A `wadesk demo` process (SQLite, in-process queue, Cloud API simulator) on its own port and data dir."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def simulate_inbound(self, sender: str, text: str) -> str:
        """The simulated customer writes (a signed webhook, exactly as Meta would send it); returns the wamid."""
        return self.simulate(sender, "--text", text)

    def simulate(self, sender: str, *options: str) -> str:
        """`wadesk simulate inbound` from `sender` to the demo number with `options` (`--type image`, …);
        returns the wamid it prints."""
        done = subprocess.run(
            [
                str(WADESK),
                "simulate",
                "inbound",
                "--to-phone-number-id",
                DEMO_NUMBER,
                "--from",
                sender,
                *options,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the API as the demo admin, to check outcomes (browser tests never use it to act for the browser)."""
        if "admin" not in self.tokens:
            answer = httpx.post(
                f"{self.url}/api/auth/login",
                json={"email": "admin@demo.com", "password": "admin123"},
                timeout=30,
            )
            answer.raise_for_status()
            self.tokens["admin"] = answer.json()["accessToken"]
        headers = {"Authorization": f"Bearer {self.tokens['admin']}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)


def start_demo(data_dir: Path, **settings: str) -> DemoServer:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "WADESK_DATA_DIR": str(data_dir),
        "WADESK_PUBLIC_URL": url,
        "WADESK_SIMULATOR_DUPLICATE_RATIO": "0",
        "WADESK_SIMULATOR_OUT_OF_ORDER_RATIO": "0",
        **settings,
    }
    for name in ("WADESK_DATABASE_URL", "WADESK_REDIS_URL", "WADESK_ENV"):
        env.pop(name, None)
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(WADESK), "demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"wadesk demo exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            # A generous timeout: a client that gives up mid-response must not be what the server sees first.
            if httpx.get(f"{url}/api/health/live", timeout=30).status_code == 200:
                return DemoServer(url, env, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"wadesk demo did not become live in time:\n{log.read_text()[-3000:]}")


def stop_demo(server: DemoServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
