"""The analytics SQL blocks: percentile_cont as PostgreSQL defines it, computed on SQLite with window
functions, and UTC offsets over a range that crosses a daylight-saving change."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Float, Integer, MetaData, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from wadesk.analytics.sql import offset_segments, percentile_summaries

metadata = MetaData()
samples = Table("samples", metadata, Column("key", Integer), Column("value", Float))


def percentile_cont(values: list[float], p: float) -> float:
    """PostgreSQL's definition: linear interpolation between the values around position p * (n - 1)."""
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    first = math.floor(position)
    second = math.ceil(position)
    return ordered[first] + (ordered[second] - ordered[first]) * (position - first)


@pytest_asyncio.fixture(loop_scope="session")
async def engine() -> AsyncIterator[AsyncEngine]:
    created = create_async_engine("sqlite+aiosqlite://")
    async with created.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield created
    await created.dispose()


async def summarise(
    engine: AsyncEngine, groups: dict[int, list[float]]
) -> dict[int, tuple[int, float | None, float | None]]:
    async with async_sessionmaker(engine)() as session:
        await session.execute(samples.delete())
        rows = [{"key": key, "value": value} for key, values in groups.items() for value in values]
        if rows:
            await session.execute(insert(samples), rows)
        subquery = select(samples.c.key, samples.c.value).subquery()
        found = await percentile_summaries(session, subquery)
        await session.rollback()
    return {key: (s.count, s.median, s.p90) for key, s in found.items()}


async def test_known_medians_and_percentiles(engine: AsyncEngine) -> None:
    result = await summarise(engine, {1: [45, 120, 180, 240, 600, 3660], 2: [7], 3: [1, 2]})
    assert result == {1: (6, 210.0, 2130.0), 2: (1, 7.0, 7.0), 3: (2, 1.5, 1.9)}


# The engine is shared on purpose: each example replaces the table's rows.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.integers(0, 3),
        st.lists(st.integers(0, 10_000_000).map(lambda ms: ms / 1000), min_size=1, max_size=30),
        min_size=1,
        max_size=4,
    )
)
async def test_the_window_function_version_is_postgresqls_percentile_cont(
    engine: AsyncEngine, groups: dict[int, list[float]]
) -> None:
    result = await summarise(engine, groups)
    for key, values in groups.items():
        count, median, p90 = result[key]
        assert count == len(values)
        assert median == round(percentile_cont(values, 0.5), 3)
        assert p90 == round(percentile_cont(values, 0.9), 3)


def test_offsets_change_exactly_at_the_daylight_saving_switch() -> None:
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 2, 5, tzinfo=UTC)
    end = datetime(2026, 3, 9, 4, tzinfo=UTC)
    assert offset_segments(zone, start, end) == [
        (start, -5 * 3600),
        (datetime(2026, 3, 8, 7, tzinfo=UTC), -4 * 3600),
    ]
    assert offset_segments(ZoneInfo("UTC"), start, end) == [(start, 0)]
