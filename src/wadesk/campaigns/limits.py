"""Meta's messaging limit: how many unique customers a number may reach with business-initiated messages
(templates sent outside the 24-hour customer service window) in any rolling 24 hours.

Meta reports the tier as `TIER_250`, `TIER_1K`, `TIER_2K`, `TIER_10K`, `TIER_100K` or `TIER_UNLIMITED` (the
phone number's `messaging_limit_tier`, updated by its quality webhooks); older payloads say `2000` etc.
"""

from __future__ import annotations

import re
from datetime import timedelta

MESSAGING_LIMIT_WINDOW = timedelta(hours=24)
# A number that has not reported its tier yet is treated as a new one: Meta starts every number at 250.
DEFAULT_TIER = "TIER_250"
_TIER = re.compile(r"^(?:TIER_)?(\d+)(K?)$")


def unique_user_limit(tier: str | None) -> int | None:
    """Unique users per rolling 24 hours for a tier; None for an unlimited tier."""
    value = (tier or DEFAULT_TIER).strip().upper().replace(",", "")
    if value in {"TIER_UNLIMITED", "UNLIMITED"}:
        return None
    match = _TIER.match(value)
    if match is None:
        return unique_user_limit(DEFAULT_TIER)
    number = int(match.group(1))
    return number * 1000 if match.group(2) else number


def describe_tier(tier: str | None) -> str:
    limit = unique_user_limit(tier)
    label = (tier or DEFAULT_TIER).upper()
    return f"{label} (unlimited)" if limit is None else f"{label}: {limit:,} new customers per 24 hours"
