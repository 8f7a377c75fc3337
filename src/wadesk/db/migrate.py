"""Apply Alembic migrations programmatically (used by `wadesk migrate`, `wadesk demo` and the tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parents[3] / "alembic.ini"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

log = structlog.get_logger(__name__)


def alembic_config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    # "heads": domains may add migration branches side by side; all of them are applied.
    command.upgrade(alembic_config(database_url), "heads")
    if database_url.startswith("postgresql"):
        asyncio.run(_secure_schema(database_url))


async def _secure_schema(database_url: str) -> None:
    # Branches run in no guaranteed order, so a tenant table may appear after the row-level security
    # migration ran: cover every tenant table still without its policy, and re-grant the app role.
    from wadesk.db import rls
    from wadesk.db.session import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            missing = await connection.run_sync(rls.secure_schema)
    finally:
        await engine.dispose()
    if missing:
        log.warning("tenant_isolation_added_after_migrations", tables=missing)
