"""The real Cloud API payload corpus (`shared/whatsapp/payloads`, beside the repository) as test parameters.

A test that takes one of the fixtures named in `CORPUS_GROUPS` runs once per corpus file of that group.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PAYLOAD_DIR = Path(__file__).resolve().parents[4] / "shared" / "whatsapp" / "payloads"


def corpus_group(name: str, data: Any) -> str | None:
    """Which kind of Cloud API document a corpus file is, or None if unrecognised."""
    if isinstance(data, dict) and data.get("object") == "whatsapp_business_account":
        return "webhook_file"
    prefixes = {
        "send_request_": "send_request_file",
        "send_response_": "send_response_file",
        "send_error_": "send_error_file",
        "media_": "media_response_file",
        "template_create_request_": "template_request_file",
        "template_create_response": "template_response_file",
        "templates_list_response": "template_response_file",
    }
    for prefix, group in prefixes.items():
        if name.startswith(prefix):
            return group
    return None


CORPUS_GROUPS = (
    "webhook_file",
    "send_request_file",
    "send_response_file",
    "send_error_file",
    "media_response_file",
    "template_request_file",
    "template_response_file",
)


def corpus_files() -> dict[str, str | None]:
    """Every JSON file of the corpus, by name, with its group."""
    if not PAYLOAD_DIR.is_dir():
        return {}
    return {
        path.name: corpus_group(path.name, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(PAYLOAD_DIR.glob("*.json"))
    }


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    files = corpus_files()
    for group in CORPUS_GROUPS:
        if group in metafunc.fixturenames:
            names = [name for name, g in files.items() if g == group]
            metafunc.parametrize(group, names, ids=names)


@pytest.fixture
def load_payload() -> Callable[[str], Any]:
    """Load a corpus file's JSON by file name."""

    def load(name: str) -> Any:
        return json.loads((PAYLOAD_DIR / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def payload_bytes() -> Callable[[str], bytes]:
    """A corpus file's exact bytes by file name."""

    def read(name: str) -> bytes:
        return (PAYLOAD_DIR / name).read_bytes()

    return read


@pytest.fixture
def corpus_index() -> dict[str, str | None]:
    """Every corpus file name with its group (None when no test knows the file)."""
    return corpus_files()
