"""Message statuses only move forward (queued < sending < sent < delivered < read, `played` counts as read),
`failed` replaces only what came before delivery, and nothing revives a failed message."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wadesk.messages.models import MessageStatus
from wadesk.messages.status import META_STATUSES, advance

FORWARD = [
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
]
RANK = {status: rank for rank, status in enumerate(FORWARD)}
META = ["sent", "delivered", "read", "played", "failed"]


def apply(start: MessageStatus, incoming: list[str]) -> MessageStatus:
    status = start
    for meta_status in incoming:
        new = advance(status, META_STATUSES[meta_status])
        if new is not None:
            status = MessageStatus(new)
    return status


def test_meta_s_played_counts_as_read() -> None:
    assert META_STATUSES["played"] == MessageStatus.READ
    assert advance(MessageStatus.DELIVERED, META_STATUSES["played"]) == MessageStatus.READ


def test_read_status_never_downgrades_to_delivered() -> None:
    assert advance(MessageStatus.READ, MessageStatus.DELIVERED) is None
    assert advance(MessageStatus.READ, MessageStatus.SENT) is None


def test_the_same_status_twice_changes_nothing() -> None:
    for status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED):
        assert advance(status, status) is None


def test_failed_replaces_a_message_not_yet_delivered() -> None:
    for status in (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT):
        assert advance(status, MessageStatus.FAILED) == MessageStatus.FAILED


def test_a_delivered_message_cannot_fail_afterwards() -> None:
    assert advance(MessageStatus.DELIVERED, MessageStatus.FAILED) is None
    assert advance(MessageStatus.READ, MessageStatus.FAILED) is None


def test_a_late_sent_does_not_revive_a_failed_message() -> None:
    for status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ):
        assert advance(MessageStatus.FAILED, status) is None


@given(st.lists(st.sampled_from(["sent", "delivered", "read", "played"]), min_size=1, max_size=8))
def test_without_failure_the_final_status_is_the_highest_reached_in_any_order(incoming: list[str]) -> None:
    expected = max((META_STATUSES[s] for s in incoming), key=RANK.__getitem__)
    assert apply(MessageStatus.SENT, incoming) == expected
    assert apply(MessageStatus.QUEUED, incoming) == expected


@given(
    st.permutations(META), st.sampled_from([MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT])
)
def test_with_failure_the_message_stays_failed_unless_it_had_reached_the_phone(
    order: list[str], start: MessageStatus
) -> None:
    final = apply(start, order)
    before_failure = order[: order.index("failed")]
    if any(s in ("delivered", "read", "played") for s in before_failure):
        assert final == MessageStatus.READ
    else:
        assert final == MessageStatus.FAILED


@given(st.sampled_from(list(MessageStatus)), st.sampled_from(list(MessageStatus)))
def test_a_status_never_moves_backwards(current: MessageStatus, incoming: MessageStatus) -> None:
    if current == MessageStatus.RECEIVED or incoming == MessageStatus.RECEIVED:
        return  # inbound messages do not take Meta's outbound statuses
    new = advance(current, incoming)
    if new is None:
        return
    if new == MessageStatus.FAILED:
        assert RANK[current] < RANK[MessageStatus.DELIVERED]
    else:
        assert current != MessageStatus.FAILED
        assert RANK[MessageStatus(new)] > RANK[current]
