"""SQL building blocks that give the same numbers on PostgreSQL and SQLite.

- Durations are whole milliseconds on both: PostgreSQL truncates both ends to the millisecond, SQLite's
  date functions only read the first three fractional digits.
- Percentiles are `percentile_cont` (linear interpolation between the two closest ranks). PostgreSQL computes
  it natively; on SQLite the same formula runs over ROW_NUMBER()/COUNT() windows, with the same float
  operations in the same order, so both answer the same figure.
- Local dates and hours use the UTC offsets of the requested zone over the requested range, computed here
  (zoneinfo) and applied by a CASE on each row, so both backends agree whatever time zone data they carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, Numeric, and_, case, cast, extract, func, literal, select
from sqlalchemy.sql import ColumnElement, Subquery

POSTGRESQL = "postgresql"
PERCENTILES = (0.5, 0.9)


@dataclass(frozen=True, slots=True)
class Summary:
    """How many samples, their median and 90th percentile (seconds), as percentile_cont computes them."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def empty(cls) -> Summary:
        return cls(0, None, None)


def seconds_between(dialect: str, start: Any, end: Any) -> ColumnElement[float]:
    """`end - start` in seconds, to the millisecond, as a float."""
    if dialect == POSTGRESQL:
        delta = func.date_trunc("milliseconds", end) - func.date_trunc("milliseconds", start)
        return cast(func.round(cast(extract("epoch", delta), Numeric), 3), Float)
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)


async def percentile_summaries(session: Any, samples: Subquery) -> dict[Any, Summary]:
    """Count, median and p90 of `samples.c.value` for each `samples.c.key`, in one statement."""
    dialect = session.get_bind().dialect.name
    key, value = samples.c.key, samples.c.value
    if dialect == POSTGRESQL:
        stmt = select(
            key,
            func.count(),
            *(func.percentile_cont(p).within_group(value) for p in PERCENTILES),
        ).group_by(key)
    else:
        ranked = select(
            key.label("key"),
            value.label("value"),
            func.row_number().over(partition_by=key, order_by=value).label("rn"),
            func.count().over(partition_by=key).label("n"),
        ).subquery()
        stmt = select(ranked.c.key, ranked.c.n, *(_interpolated(ranked, p) for p in PERCENTILES)).group_by(
            ranked.c.key, ranked.c.n
        )
    result: dict[Any, Summary] = {}
    for row in (await session.execute(stmt)).all():
        count = int(row[1])
        median, p90 = (None if v is None else round(float(v), 3) for v in row[2:4])
        result[row[0]] = Summary(count, median, p90)
    return result


def _interpolated(ranked: Subquery, p: float) -> ColumnElement[float]:
    # PostgreSQL's percentile_cont: position = p * (n - 1); first = floor, second = ceil;
    # value = first + (second - first) * (position - floor(position)).
    position = literal(p, Float) * (ranked.c.n - 1)
    first_row = cast(position, Integer)  # positions are never negative: truncation is floor
    lower = func.max(case((ranked.c.rn == first_row + 1, ranked.c.value)))
    upper = func.max(case((ranked.c.rn == first_row + 2, ranked.c.value)))
    return lower + (func.coalesce(upper, lower) - lower) * (position - first_row)


# --- time zones --------------------------------------------------------------------------------------------------


def offset_segments(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[(from, utc offset in seconds)] covering [start, end): the offset changes only at the listed instants."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    segments = [(start, offset(start))]
    step = timedelta(hours=1)
    at = start
    while at < end:
        following = min(at + step, end)
        if offset(following) != segments[-1][1]:
            low, high = at, following
            while high - low > timedelta(seconds=1):  # bisect to the second the offset changes
                middle = low + (high - low) / 2
                if offset(middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            segments.append((high.replace(microsecond=0), offset(high)))
        at = following
    return segments


@dataclass(frozen=True, slots=True)
class LocalTime:
    """Expressions for a timestamp column's local date, hour and ISO weekday in one zone over one range."""

    day: ColumnElement[str]
    hour: ColumnElement[int]
    weekday: ColumnElement[int]


def local_time(dialect: str, column: Any, segments: list[tuple[datetime, int]]) -> LocalTime:
    def by_segment(values: list[Any]) -> Any:
        if len(values) == 1:
            return literal(values[0])
        whens = [(column < bound, value) for (bound, _), value in zip(segments[1:], values[:-1], strict=True)]
        return case(*whens, else_=values[-1])

    offsets = [seconds for _, seconds in segments]
    if dialect == POSTGRESQL:
        wall = func.timezone("UTC", column) + func.make_interval(0, 0, 0, 0, 0, 0, by_segment(offsets))
        return LocalTime(
            day=func.to_char(wall, "YYYY-MM-DD"),
            hour=cast(extract("hour", wall), Integer),
            weekday=cast(extract("isodow", wall), Integer),
        )
    modifier = by_segment([f"{seconds:+d} seconds" for seconds in offsets])
    sunday_first = cast(func.strftime("%w", column, modifier), Integer)
    return LocalTime(
        day=func.strftime("%Y-%m-%d", column, modifier),
        hour=cast(func.strftime("%H", column, modifier), Integer),
        weekday=(sunday_first + 6) % 7 + 1,
    )


def in_range(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)
