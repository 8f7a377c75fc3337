"""The one place that orders message statuses: they only move forward, and `failed` is kept."""

from __future__ import annotations

from wadesk.messages.models import MessageStatus

# Meta's `played` (a voice message was listened to) counts as read.
_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
}
META_STATUSES = {"sent": MessageStatus.SENT, "delivered": MessageStatus.DELIVERED, "read": MessageStatus.READ,
                 "played": MessageStatus.READ, "failed": MessageStatus.FAILED}  # fmt: skip


def advance(current: str, incoming: str) -> str | None:
    """The status after `incoming` arrives, or None when it changes nothing.

    Never downgrades (a late `delivered` after `read` is ignored). `failed` replaces only states before
    delivery: a message that reached the phone cannot fail afterwards, and once failed, a late `sent` does not
    revive it. Retrying a failed message is an explicit new attempt, not a status webhook.
    """
    new = MessageStatus(incoming)
    old = MessageStatus(current)
    if old == MessageStatus.FAILED:
        return None
    if new == MessageStatus.FAILED:
        return new if _RANK.get(old, 0) < _RANK[MessageStatus.DELIVERED] else None
    if _RANK.get(new, -1) > _RANK.get(old, -1):
        return new
    return None
