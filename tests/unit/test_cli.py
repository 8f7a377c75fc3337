"""The long-running commands put what they built at start out of the garbage collector's reach."""

from __future__ import annotations

import subprocess
import sys

# As `wadesk worker` starts, in a fresh interpreter: import what it runs, settle the heap; then configure the
# ORM's mappers (done already, it must change nothing) and count what the collector still tracks.
_WORKER_START = """
import gc
from wadesk.worker import run_worker
from wadesk.cli import settle_heap
settle_heap()
from sqlalchemy.orm import configure_mappers
configure_mappers()
print(len(gc.get_objects()), gc.get_freeze_count())
"""


def test_a_worker_freezes_the_app_and_its_orm_mappers_before_it_takes_jobs() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WORKER_START], capture_output=True, text=True, check=True, timeout=120
    )
    tracked, frozen = map(int, result.stdout.split())
    # The app's modules, routes and mappers are well over 100,000 objects. Left tracked (imported after the
    # freeze), every full collection walked them: 70-110 ms pauses every few seconds, sends included.
    assert frozen > 100_000
    assert tracked < 1_000
