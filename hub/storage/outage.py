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
    ReadOnlyError,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
    TimeoutError,
    TryAgainError,
)

# Refused, broken or LOADING connections (ConnectionError), no answer in time,
# a replica or a cluster without its primary (or a slot no master serves), no
# memory left.
_UNAVAILABLE = (
    ConnectionError,
    TimeoutError,
    ReadOnlyError,
    ClusterDownError,
    TryAgainError,
    OutOfMemoryError,
    SlotNotCoveredError,
)


def redis_unavailable(exc: BaseException) -> bool:
    # asyncio's TimeoutError too: a caller that stopped waiting on a Redis that hangs.
    if isinstance(exc, (_UNAVAILABLE, asyncio.TimeoutError)):  # noqa: UP041 (redis' TimeoutError shadows it)
        return True
    if isinstance(exc, (AttributeError, RuntimeError)) and _sending_in_redis_py(exc):
        # redis-py's cluster client, reloading the slot map after a node
        # failed, can close a connection under a command being sent on it
        # (seen right after a master restarted: "'NoneType' object has no
        # attribute 'writelines'", or uvloop's "unable to perform operation
        # on <TCPTransport closed=True>"). The command was not sent: an outage.
        return True
    # Errors raised inside a script, or a Redis failing to persist, keep their word.
    return isinstance(exc, ResponseError) and any(w in str(exc)[:60] for w in ("OOM", "MISCONF"))


def _sending_in_redis_py(exc: BaseException) -> bool:
    """Raised while redis-py's connection code was writing a command."""
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")) in _CONNECTION_MODULES:
            return True
        tb = tb.tb_next
    return False


_CONNECTION_MODULES = {"redis.asyncio.connection", "redis.connection"}


async def redis_answers(client: Redis, timeout: float = 2.0) -> bool:
    try:
        return bool(await asyncio.wait_for(client.ping(), timeout))
    except (asyncio.TimeoutError, RedisError):  # noqa: UP041
        return False
