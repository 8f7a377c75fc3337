"""Browser end-to-end fixtures: the built web app served by a real `wadesk demo` process, driven by Debian's
chromium through Playwright (no browser download: `executable_path` points at the system chromium).

A plain module, not a conftest.py: conftest modules of sub-directories share the module name `conftest` with
tests/conftest.py, whose `unavailable` this imports. Test modules load it with `pytest_plugins = ["browser_fixtures"]`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from conftest import unavailable
from demo_process import ROOT, DemoServer, start_demo, stop_demo

WEB = ROOT / "web"
CHROMIUM = Path(os.environ.get("WADESK_E2E_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "test-results" / "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def web_build() -> Path:
    """web/dist, built once when missing (`make` builds it first; a bare `pytest` run builds it here)."""
    index = WEB / "dist" / "index.html"
    if index.exists():
        return index.parent
    npm = shutil.which("npm")
    if npm is None:
        unavailable("npm", "needed to build the web app for the browser tests")
    if not (WEB / "node_modules").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB, check=True, timeout=900
        )
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True, timeout=900)
    return index.parent


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium, headless (Playwright's own browser downloads are not used)."""
    if not CHROMIUM.exists():
        unavailable("chromium", f"{CHROMIUM} is missing: apt-get install -y chromium")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}, "locale": "en-US"}


@pytest.fixture(scope="module")
def demo_server(web_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = start_demo(tmp_path_factory.mktemp("demo"))
    yield server
    stop_demo(server)


@pytest.fixture
def screenshot_at_end(request: pytest.FixtureRequest, page: Page) -> Iterator[None]:
    """A browser test using this leaves a screenshot of where it ended (passed or not) under test-results/e2e/."""
    yield
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=False)
    except Exception as exc:  # the page may be gone after a failure; the test's own result stands
        print(f"no screenshot for {request.node.name}: {exc}")
