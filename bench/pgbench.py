"""The database's own single-row INSERT rate, measured with pgbench: the ceiling an end-to-end drain is
compared with (each webhook delivery is at least one committed single-row insert).

`python -m bench.pgbench [database_url]` prints it; other benchmarks call `single_row_insert_rate`.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg

DEFAULT_URL = os.environ.get("WADESK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLE = "bench_single_row_insert"
_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy URL (postgresql+asyncpg://...) as libpq and asyncpg write it."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", database_url)


async def _table(url: str, *, create: bool) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"DROP TABLE IF EXISTS {TABLE}")
        if create:
            # Shaped like webhook_events: a generated key, a body of a typical delivery's size, a timestamp.
            await connection.execute(
                f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, body bytea NOT NULL, "
                "received_at timestamptz NOT NULL DEFAULT now())"
            )
    finally:
        await connection.close()


def single_row_insert_rate(
    database_url: str = DEFAULT_URL, *, seconds: int = 10, clients: int = 4, body_bytes: int = 1500
) -> float | None:
    """Committed single-row INSERTs per second (pgbench, `clients` connections); None without pgbench."""
    binary = shutil.which("pgbench")
    if binary is None:
        return None
    url = libpq_url(database_url)
    asyncio.run(_table(url, create=True))
    try:
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "insert.sql"
            script.write_text(
                f"INSERT INTO {TABLE} (body) VALUES (convert_to(repeat('x', {body_bytes}), 'UTF8'));\n"
            )
            result = subprocess.run(
                [binary, "-n", "-f", str(script), "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
                 "-T", str(seconds), url],
                capture_output=True, text=True, timeout=seconds + 60, check=True,
            )  # fmt: skip
    finally:
        asyncio.run(_table(url, create=False))
    match = _TPS.search(result.stdout)
    return float(match.group(1)) if match else None


def main(argv: list[str]) -> int:
    rate = single_row_insert_rate(argv[0] if argv else DEFAULT_URL)
    if rate is None:
        print("pgbench is not installed (Debian ships it with the server package, postgresql-15)")
        return 0
    print(f"single-row INSERT rate (pgbench, 4 clients, 10 s): {rate:,.0f} rows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
