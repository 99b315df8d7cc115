"""When a send that the provider could not take is tried again (pure, no I/O).

A provider that is unreachable or answers 429/5xx is a delay, not a verdict:
the send is tried again after a capped exponential backoff
(``retry_delay``) until a window counted from its first attempt has
passed, and only then ends ``failed``. The last attempt is made at the end of
the window, not skipped because the backoff would overshoot it.
"""

from __future__ import annotations

import math

# 2**62 * base is far beyond any cap; stops float overflow for absurd attempts.
_MAX_EXPONENT = 62


def retry_delay(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    retry_after: float | None = None,
    rand: float,
) -> float:
    """Seconds to wait before retry ``attempt`` (0-based).

    Exponential backoff with full jitter (spreads a burst of failures out),
    never sooner than a provider's ``Retry-After``. ``rand`` is a number in
    [0, 1) from the caller so this stays deterministic under test.
    """
    if not 0.0 <= rand < 1.0:
        raise ValueError("rand must be in [0, 1)")
    exponent = min(max(attempt, 0), _MAX_EXPONENT)
    ceiling = min(cap, base * 2**exponent)
    return float(max(retry_after or 0.0, rand * ceiling))


def retry_deadline_ms(first_attempt_ms: int, window_s: float) -> int:
    return first_attempt_ms + int(window_s * 1000)


def next_attempt_ms(now_ms: int, first_attempt_ms: int, window_s: float, delay_s: float) -> int | None:
    """When to try again, or ``None`` when the window is over (the send fails)."""
    deadline = retry_deadline_ms(first_attempt_ms, window_s)
    if now_ms >= deadline:
        return None
    return min(now_ms + max(0, math.ceil(delay_s * 1000)), deadline)


def deferred_ms(until_ms: int, spread_ms: int, rand: float) -> int:
    """When a send held back by an open circuit comes back: just after the
    circuit's cool-down, spread out so a backlog does not return as one burst."""
    if not 0.0 <= rand < 1.0:
        raise ValueError("rand must be in [0, 1)")
    return until_ms + int(rand * max(0, spread_ms))
