"""The round-robin rotation: the next online agent after the last one, wrapping around."""

from __future__ import annotations

import uuid
from collections import Counter

from wadesk.collaboration.assignment import next_in_rotation


def test_turns_go_round_in_a_fixed_order() -> None:
    agents = sorted(uuid.uuid4() for _ in range(4))
    last = None
    turns = []
    for _ in range(100):
        last = next_in_rotation(agents, last)
        turns.append(last)
    assert Counter(turns) == dict.fromkeys(agents, 25)
    assert turns[:4] == agents


def test_an_agent_who_left_the_rotation_does_not_break_it() -> None:
    agents = sorted(uuid.uuid4() for _ in range(3))
    gone = agents.pop(1)
    assert next_in_rotation(agents, gone) == (agents[1] if agents[1] > gone else agents[0])
    assert next_in_rotation(agents, agents[-1]) == agents[0]
