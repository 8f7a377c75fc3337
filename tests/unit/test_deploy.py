"""The deployment files say what docs/deploy.md promises: PostgreSQL 15, Redis that never evicts and keeps an
append-only file, a one-shot migration, two API processes and two workers with health checks, an image built
with the Makefile's own commands that runs as a non-root user, and only settings the app knows."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from wadesk.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"
# Read by the compose file itself (database passwords, the published port), not by the app.
COMPOSE_ONLY = {"WADESK_DB_OWNER_PASSWORD", "WADESK_DB_APP_PASSWORD", "WADESK_HTTP_PORT"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def _services(compose: dict[str, Any], command: str) -> dict[str, dict[str, Any]]:
    """The wadesk services whose container command is `command` (the image's default is `serve`)."""
    found = {}
    for name, service in compose["services"].items():
        if service.get("image") != "wadesk:latest":
            continue
        if (service.get("command") or ["serve"])[0] == command:
            found[name] = service
    return found


def _command(service: dict[str, Any]) -> str:
    value = service.get("command", "")
    return " ".join(value) if isinstance(value, list) else str(value)


def _health_test(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_postgres_15_with_wal_archiving_and_a_health_check(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert "pg_isready" in _health_test(postgres)
    assert "archive_mode=on" in _command(postgres)
    assert "wal_level=replica" in _command(postgres)


def test_redis_7_never_evicts_and_keeps_an_append_only_file(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    command = _command(redis)
    assert re.search(r"--maxmemory-policy noeviction\b", command), command
    assert re.search(r"--appendonly yes\b", command), command
    assert "redis-cli" in _health_test(redis)


def test_migrations_run_once_before_the_api_and_workers(compose: dict[str, Any]) -> None:
    migrate = _services(compose, "migrate")
    assert list(migrate) == ["migrate"]
    assert migrate["migrate"]["restart"] == "no"
    assert migrate["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in [*_services(compose, "serve").values(), *_services(compose, "worker").values()]:
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_two_api_processes_and_two_workers_with_health_checks(compose: dict[str, Any]) -> None:
    apis = _services(compose, "serve")
    workers = _services(compose, "worker")
    assert len(apis) == 2, list(apis)
    assert len(workers) == 2, list(workers)
    for service in apis.values():
        assert "/api/health/ready" in _health_test(service)
    for service in [*apis.values(), *workers.values()]:
        assert "healthcheck" in service
        # Longer than the 20 s the process itself takes to drain, so SIGKILL never cuts a drain short.
        assert int(str(service["stop_grace_period"]).removesuffix("s")) > 20
        environment = service["environment"]
        assert environment["WADESK_ENV"] == "production"
        assert environment["WADESK_REDIS_URL"].startswith("redis://redis:")
        assert environment["WADESK_DATABASE_URL"].startswith("postgresql+asyncpg://wadesk_api:")
    proxy = compose["services"]["proxy"]
    address = proxy["networks"]["backend"]["ipv4_address"]
    assert apis["api-1"]["environment"]["WADESK_TRUSTED_PROXIES"] == address


def test_the_app_reads_every_wadesk_variable_the_deployment_sets(compose: dict[str, Any]) -> None:
    known = {f"WADESK_{name.upper()}" for name in Settings.model_fields}
    in_compose = set(re.findall(r"\b(WADESK_[A-Z0-9_]+)\b", COMPOSE.read_text()))
    in_example = set(re.findall(r"^(WADESK_[A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert in_compose - COMPOSE_ONLY <= known, (in_compose - COMPOSE_ONLY) - known
    assert in_example - COMPOSE_ONLY <= known, (in_example - COMPOSE_ONLY) - known
    required = set(re.findall(r"\$\{(WADESK_[A-Z0-9_]+):\?", COMPOSE.read_text()))
    assert required <= in_example, required - in_example


def test_the_image_builds_the_web_app_with_the_makefiles_commands_and_runs_unprivileged() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^web/dist/index\.html:.*\n\tcd web && (.+)$", makefile, re.MULTILINE)
    assert recipe is not None
    assert f"RUN {recipe.group(1)}" in dockerfile
    uv_version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert uv_version is not None
    assert f"ARG UV_VERSION={uv_version.group(1)}" in dockerfile
    assert "FROM node:20" in dockerfile
    assert "FROM python:3.11-slim" in dockerfile
    assert "uv sync --frozen --no-dev" in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert 'ENTRYPOINT ["wadesk"]' in dockerfile
    assert 'CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile


def test_docker_compose_accepts_the_file() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian: apt-get install docker-compose)")
    result = subprocess.run(
        [binary, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
