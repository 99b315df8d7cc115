"""A channel's sending pace: the numbers the shared pace script works with (pure).

The pace itself lives in Redis (``pace_reserve.lua``) so that every hub
process draws from one allowance per channel. Bulk sends book at most
``horizon_ms`` ahead and otherwise come back later; agent replies always book,
so a long backlog on a channel does not hold an agent's answer behind it.
"""

from __future__ import annotations

import math

MAX_MESSAGES_PER_SECOND = 10_000.0
# The least a bulk send may book ahead: at least one interval, so a free next
# slot can always be taken.
MIN_HORIZON_MS = 1000.0


def valid_rate(value: object) -> bool:
    """A pace is a positive number of messages per second (fractions allowed)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 < value <= MAX_MESSAGES_PER_SECOND
    )


def interval_ms(messages_per_second: float) -> float:
    return 1000.0 / messages_per_second


def horizon_ms(interval: float) -> float:
    return max(MIN_HORIZON_MS, interval)


def retry_in_s(wait_ms: int, interval: float, rand: float) -> float:
    """When a send that could not book a slot asks again: once its turn is
    within the horizon, spread over one interval so waiters do not all ask at once."""
    return (max(wait_ms, 0) + rand * interval) / 1000.0
