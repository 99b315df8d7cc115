"""Activity (message) statuses and how provider callbacks move them.

Provider callbacks arrive out of order and more than once, so a status only
ever moves forward by rank; a stale or repeated event is a no-op. This keeps
status handling idempotent without any per-event bookkeeping.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class ActivityStatus(StrEnum):
    """(`deferred` →) `queued` → `sending` → `sent` → `delivered` → `read`; or a
    failure or skip. Never moves backwards. `deferred`: held by the recipient's
    quiet hours until `send_at`."""

    # Held by the recipient's quiet hours until its ``send_at``, then queued.
    DEFERRED = "deferred"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    REJECTED = "rejected"
    SKIPPED_NO_OPTIN = "skipped_no_optin"
    SKIPPED_OPTED_OUT = "skipped_opted_out"
    CANCELED = "canceled"

    # Lower-case aliases (same members), so ``ActivityStatus.sent`` reads like the stored value.
    deferred = DEFERRED
    queued = QUEUED
    sending = SENDING
    sent = SENT
    delivered = DELIVERED
    read = READ
    undelivered = UNDELIVERED
    failed = FAILED
    rejected = REJECTED
    skipped_no_optin = SKIPPED_NO_OPTIN
    skipped_opted_out = SKIPPED_OPTED_OUT
    canceled = CANCELED


RANK: dict[ActivityStatus, int] = {
    # Below queued, so that the release to the outbound stream moves it forward.
    ActivityStatus.DEFERRED: -1,
    ActivityStatus.QUEUED: 0,
    ActivityStatus.SENDING: 1,
    ActivityStatus.SENT: 2,
    # Equal rank: whichever delivery outcome arrives first wins.
    ActivityStatus.DELIVERED: 3,
    ActivityStatus.UNDELIVERED: 3,
    ActivityStatus.FAILED: 3,
    ActivityStatus.READ: 4,
    ActivityStatus.REJECTED: 5,
    ActivityStatus.CANCELED: 5,
    ActivityStatus.SKIPPED_NO_OPTIN: 5,
    ActivityStatus.SKIPPED_OPTED_OUT: 5,
}

# Nothing moves these. ``delivered``/``undelivered`` are final for delivery but
# not terminal: a WhatsApp ``read`` may still follow ``delivered``.
TERMINAL: frozenset[ActivityStatus] = frozenset(
    {
        ActivityStatus.READ,
        ActivityStatus.FAILED,
        ActivityStatus.REJECTED,
        ActivityStatus.CANCELED,
        ActivityStatus.SKIPPED_NO_OPTIN,
        ActivityStatus.SKIPPED_OPTED_OUT,
    }
)

# Final for the history: after one of these only a late ``read`` (or a repeat)
# may follow. The SQL history is written when an activity reaches one, not at
# every step on the way (see hub/storage/scripts/lib.lua ``archive_now``).
FINAL: frozenset[ActivityStatus] = frozenset(s for s, r in RANK.items() if r >= RANK[ActivityStatus.DELIVERED])

SUCCESSFUL: frozenset[ActivityStatus] = frozenset({ActivityStatus.DELIVERED, ActivityStatus.READ})

# Statuses of messages that left the hub: the denominator of the delivery rate.
LEFT_HUB: frozenset[ActivityStatus] = frozenset(
    {
        ActivityStatus.SENDING,
        ActivityStatus.SENT,
        ActivityStatus.DELIVERED,
        ActivityStatus.READ,
        ActivityStatus.UNDELIVERED,
        ActivityStatus.FAILED,
    }
)

_PROVIDER_STATUS: dict[str, ActivityStatus] = {
    "queued": ActivityStatus.QUEUED,
    "accepted": ActivityStatus.QUEUED,
    "scheduled": ActivityStatus.QUEUED,
    "sending": ActivityStatus.SENDING,
    "sent": ActivityStatus.SENT,
    "delivered": ActivityStatus.DELIVERED,
    # Some recipients got it; for a single-recipient message that is a delivery.
    "partially_delivered": ActivityStatus.DELIVERED,
    "read": ActivityStatus.READ,
    "undelivered": ActivityStatus.UNDELIVERED,
    "failed": ActivityStatus.FAILED,
    "canceled": ActivityStatus.CANCELED,
}


def next_status(current: ActivityStatus, incoming: ActivityStatus) -> ActivityStatus:
    """The status after applying ``incoming``: only a higher rank moves it."""
    if current in TERMINAL:
        return current
    return incoming if RANK[incoming] > RANK[current] else current


def from_provider_status(value: str) -> ActivityStatus | None:
    """Map Twilio's ``MessageStatus``; inbound-only or unknown values give ``None``."""
    if not isinstance(value, str):
        return None
    return _PROVIDER_STATUS.get(value.strip().lower())


def delivery_rate(counts: Mapping[str, int]) -> float | None:
    """Share of messages that left the hub and reached the recipient; ``None`` if none left."""
    sent = sum(counts.get(status, 0) for status in LEFT_HUB)
    if sent <= 0:
        return None
    return sum(counts.get(status, 0) for status in SUCCESSFUL) / sent
