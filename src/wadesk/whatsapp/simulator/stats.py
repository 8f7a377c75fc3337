"""Counters a test (or a benchmark) reads to check how the application used the Graph API."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from typing import Any

SUCCESS = "success"
_MAX_CALL_TIMES = 200_000


class SimulatorStats:
    """Calls to `POST /{phone-number-id}/messages` per number and per second, sends, responses, webhooks.

    Every call to the messages endpoint is counted, accepted or not, at the simulator clock's time.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total_sends = 0
        self.total_mark_read = 0
        self.responses_by_code: Counter[str] = Counter()
        self._call_times: defaultdict[str, deque[float]] = defaultdict(lambda: deque(maxlen=_MAX_CALL_TIMES))
        self._calls_by_second: defaultdict[str, Counter[int]] = defaultdict(Counter)
        # The first and last call of each number (the call log above keeps only the latest calls).
        self._first_call: dict[str, float] = {}
        self._last_call: dict[str, float] = {}
        self.webhooks_delivered = 0
        self.webhooks_failed = 0
        self.webhooks_by_field: Counter[str] = Counter()
        self.status_webhooks: Counter[str] = Counter()

    def record_messages_call(self, phone_number_id: str, at: float) -> None:
        self._call_times[phone_number_id].append(at)
        self._calls_by_second[phone_number_id][int(at)] += 1
        self._first_call.setdefault(phone_number_id, at)
        self._last_call[phone_number_id] = at

    def record_response(self, code: int | None) -> None:
        """`None` for a success, else the Meta error code of the answer."""
        self.responses_by_code[SUCCESS if code is None else str(code)] += 1

    def record_webhook(self, field: str, *, delivered: bool) -> None:
        self.webhooks_by_field[field] += 1
        if delivered:
            self.webhooks_delivered += 1
        else:
            self.webhooks_failed += 1

    def calls_per_second(self, phone_number_id: str) -> dict[int, int]:
        """Messages-endpoint calls of one number, keyed by whole unix second."""
        return dict(sorted(self._calls_by_second[phone_number_id].items()))

    def total_calls(self, phone_number_id: str | None = None) -> int:
        if phone_number_id is not None:
            return sum(self._calls_by_second[phone_number_id].values())
        return sum(sum(counts.values()) for counts in self._calls_by_second.values())

    def max_calls_in_window(self, phone_number_id: str | None = None, window: float = 1.0) -> int:
        """The most calls any sliding `window`-second interval saw, for one number or the busiest one."""
        if phone_number_id is None:
            return max((self.max_calls_in_window(pnid, window) for pnid in list(self._call_times)), default=0)
        times = sorted(self._call_times.get(phone_number_id, ()))
        best = 0
        start = 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def snapshot(self) -> dict[str, Any]:
        numbers = sorted(self._calls_by_second)
        return {
            "totalSends": self.total_sends,
            "totalMarkRead": self.total_mark_read,
            "responsesByCode": dict(self.responses_by_code),
            "phoneNumbers": {
                pnid: {
                    "totalCalls": self.total_calls(pnid),
                    "maxCallsInAnySecond": self.max_calls_in_window(pnid),
                    "callsPerSecond": {str(second): n for second, n in self.calls_per_second(pnid).items()},
                    "firstCallAt": self._first_call.get(pnid),
                    "lastCallAt": self._last_call.get(pnid),
                }
                for pnid in numbers
            },
            "webhooks": {
                "delivered": self.webhooks_delivered,
                "failed": self.webhooks_failed,
                "byField": dict(self.webhooks_by_field),
                "statuses": dict(self.status_webhooks),
            },
        }
