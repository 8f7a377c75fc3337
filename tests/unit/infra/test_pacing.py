"""Per-number send pacing: evenly spaced slots under the limit, and a send that wakes too late takes a new one."""

from __future__ import annotations

import asyncio
import time

import pytest

from wadesk.infra import metrics, pacing
from wadesk.infra.pacing import InProcessPacer, slot_interval


class FakeClock:
    """monotonic() and asyncio.sleep() on a virtual clock; `overshoot` makes the next sleeps wake late."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.overshoot: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + (self.overshoot.pop(0) if self.overshoot else 0.0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(pacing.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(pacing.asyncio, "sleep", fake.sleep)
    return fake


def most_in_one_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


async def test_no_second_sees_more_sends_than_the_limit(clock: FakeClock) -> None:
    pacer = InProcessPacer()
    departures = []
    for _ in range(40):
        await pacer.wait_for_slot("number", 5)
        departures.append(clock.now)
    assert most_in_one_second(departures) <= 5
    assert departures[1] - departures[0] == pytest.approx(slot_interval(5))


async def test_numbers_are_paced_independently(clock: FakeClock) -> None:
    pacer = InProcessPacer()
    assert await pacer.wait_for_slot("a", 5) == 0
    assert await pacer.wait_for_slot("b", 5) == 0
    assert await pacer.wait_for_slot("a", 5) == pytest.approx(slot_interval(5))


def late_slots(number: str) -> float:
    return metrics.PACER_LATE_SLOTS.labels(number)._value.get()


async def test_a_send_that_wakes_late_gives_its_slot_up_and_takes_the_next_free_one(clock: FakeClock) -> None:
    pacer = InProcessPacer()
    interval = slot_interval(5)
    await pacer.wait_for_slot("late", 5)
    before = late_slots("late")
    clock.overshoot = [0.3]  # the process was busy: the wake-up for the second slot comes 300 ms late
    second_slot = clock.now + interval
    await pacer.wait_for_slot("late", 5)
    assert late_slots("late") == before + 1
    # The missed slot stays empty; the send took the next free one (by then, at once).
    assert clock.now == pytest.approx(second_slot + 0.3)
    departed = clock.now
    await pacer.wait_for_slot("late", 5)
    assert clock.now - departed == pytest.approx(interval)


async def test_however_busy_the_worker_no_second_sees_more_sends_than_the_limit() -> None:
    """Real time: 120 sends wait at once while another job keeps blocking the event loop for 100 ms, so
    many wake late together; those give their slots up rather than leave in a bunch."""
    pacer = InProcessPacer()
    loop = asyncio.get_running_loop()
    departures: list[float] = []
    sending = True

    async def busy_job() -> None:
        while sending:
            time.sleep(0.1)  # synchronous work: nothing else runs meanwhile
            await asyncio.sleep(0.05)

    async def send() -> None:
        await pacer.wait_for_slot("busy", 80)
        departures.append(loop.time())

    stalls = asyncio.ensure_future(busy_job())
    try:
        await asyncio.gather(*(send() for _ in range(120)))
    finally:
        sending = False
        await stalls
    assert len(departures) == 120
    assert most_in_one_second(sorted(departures)) <= 80
