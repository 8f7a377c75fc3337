"""The messaging tiers, the order of recipient statuses, and schedules in a time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wadesk.campaigns.limits import unique_user_limit
from wadesk.campaigns.service import advance_recipient, schedule_time
from wadesk.errors import Unprocessable


@pytest.mark.parametrize(
    ("tier", "limit"),
    [
        ("TIER_250", 250),
        ("TIER_1K", 1000),
        ("TIER_2K", 2000),
        ("2000", 2000),
        ("TIER_10K", 10_000),
        ("TIER_100K", 100_000),
        ("TIER_UNLIMITED", None),
        ("tier_2k", 2000),
        (None, 250),
        ("SOMETHING_NEW", 250),
    ],
)
def test_a_tier_is_a_number_of_new_customers_per_24_hours(tier: str | None, limit: int | None) -> None:
    assert unique_user_limit(tier) == limit


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        ("queued", "sending", "sending"),
        ("sending", "sent", "sent"),
        ("sent", "read", "read"),
        ("read", "delivered", None),
        ("replied", "read", None),
        ("read", "replied", "replied"),
        ("sent", "failed", "failed"),
        ("delivered", "failed", None),
        ("failed", "sent", None),
        ("skipped", "sent", None),
    ],
)
def test_recipient_statuses_only_move_forward(current: str, incoming: str, expected: str | None) -> None:
    assert advance_recipient(current, incoming) == expected


def test_a_schedule_without_offset_is_read_in_its_time_zone() -> None:
    assert schedule_time(datetime(2026, 7, 1, 9, 0), "Europe/Paris") == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert schedule_time(datetime(2026, 1, 1, 9, 0), "Europe/Paris") == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    offset = datetime.fromisoformat("2026-07-01T09:00:00-04:00")
    assert schedule_time(offset, "Europe/Paris") == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
    with pytest.raises(Unprocessable):
        schedule_time(datetime(2026, 7, 1, 9, 0), None)
    with pytest.raises(Unprocessable):
        schedule_time(datetime(2026, 7, 1, 9, 0), "Moon/Base")
