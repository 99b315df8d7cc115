"""Telling "Redis cannot take this now" from a bug.

A webhook that fails for the first reason is journaled and applied later; one
that fails for the second must surface (retrying a bug forever helps nobody).
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.exceptions import (
    ClusterDownError,
    ConnectionError,
    OutOfMemoryError,
    RedisError,
    ReadOnlyError,
    ResponseError,
    SlotNotCoveredError,
    TimeoutError,
    TryAgainError,
)

# Refused, broken or LOADING connections (ConnectionError), no answer in time,
# a replica or a cluster without its primary (or a slot no master serves), no
# memory left.
_UNAVAILABLE = (ConnectionError, TimeoutError, ReadOnlyError, ClusterDownError, TryAgainError,
                OutOfMemoryError, SlotNotCoveredError)


def redis_unavailable(exc: BaseException) -> bool:
    # asyncio's TimeoutError too: a caller that stopped waiting on a Redis that hangs.
    if isinstance(exc, (_UNAVAILABLE, asyncio.TimeoutError)):
        return True
    # Errors raised inside a script, or a Redis failing to persist, keep their word.
    return isinstance(exc, ResponseError) and any(w in str(exc)[:60] for w in ("OOM", "MISCONF"))


async def redis_answers(client: Redis, timeout: float = 2.0) -> bool:
    try:
        return bool(await asyncio.wait_for(client.ping(), timeout))
    except (asyncio.TimeoutError, RedisError):
        return False
