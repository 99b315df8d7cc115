"""The wake stream: how one hub process tells the others that an org has work.

A process that accepts work for an org (a send, an agent's reply, a new
schedule or bulk job, a new org) appends ``org → kinds`` here, at most once a
second per org and kind (see hub.services.workboard), never once per message.
Every process blocks on the stream and looks at the announced org at once.
It is one global key: a single-key XADD and XREAD, so it works on a Redis
Cluster as on one Redis. Trimmed to about MAX_LEN entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from hub.storage import keys

MAX_LEN = 10_000
# What the listener's connection keeps of a cluster node's settings.
_NODE_KWARGS = (
    "username",
    "password",
    "credential_provider",
    "encoding",
    "encoding_errors",
    "decode_responses",
    "socket_connect_timeout",
    "socket_keepalive",
)


class WakeStream:
    def __init__(self, client: aioredis.Redis) -> None:
        self.r = client
        self._listener: aioredis.Redis | None = None

    def _blocking(self, block_ms: int) -> aioredis.Redis:
        """A connection of its own for the blocking read: the command pool's
        connections time out reads after a few seconds and PING before a
        command after a second idle, and either would cost an idle process
        commands. On a Redis Cluster, to the master holding the key."""
        if self._listener is None:
            timeout = block_ms / 1000 + 10
            if isinstance(self.r, RedisCluster):
                node = self.r.get_node_from_key(keys.wake_stream())
                kwargs = {k: v for k, v in node.connection_kwargs.items() if k in _NODE_KWARGS}
                pool = aioredis.ConnectionPool(
                    connection_class=node.connection_class,
                    host=node.host,
                    port=node.port,
                    max_connections=1,
                    socket_timeout=timeout,
                    **kwargs,
                )
            else:
                source = self.r.connection_pool
                kwargs = {
                    k: v
                    for k, v in source.connection_kwargs.items()
                    if k not in ("health_check_interval", "retry", "retry_on_error", "socket_timeout")
                }
                pool = aioredis.ConnectionPool(
                    connection_class=source.connection_class, max_connections=1, socket_timeout=timeout, **kwargs
                )
            self._listener = aioredis.Redis.from_pool(pool)  # closing it closes the pool
        return self._listener

    async def aclose(self) -> None:
        if self._listener is not None:
            await self._listener.aclose()
            self._listener = None

    async def announce(self, origin: str, items: Iterable[tuple[str, Iterable[str]]]) -> None:
        """One entry per org: ``o`` the org, ``k`` its kinds, ``p`` the announcing process."""
        async with self.r.pipeline(transaction=False) as p:
            for org_id, kinds in items:
                p.xadd(
                    keys.wake_stream(),
                    {"o": org_id, "k": " ".join(sorted(kinds)), "p": origin},
                    maxlen=MAX_LEN,
                    approximate=True,
                )
            await p.execute()

    async def last_id(self) -> str:
        """Where a new reader starts (entries before it are covered by its first looks)."""
        rows = cast(list[tuple[str, dict[str, str]]], await self.r.xrevrange(keys.wake_stream(), count=1))
        return rows[0][0] if rows else "0-0"

    async def listen(self, after: str, block_ms: int) -> list[tuple[str, str, list[str], str]]:
        """Entries after ``after``, waiting up to ``block_ms``: [(id, org, kinds, origin), ...]."""
        try:
            rows = cast(
                list[tuple[str, list[tuple[str, dict[str, str]]]]],
                await self._blocking(block_ms).xread({keys.wake_stream(): after}, count=1000, block=block_ms),
            )
        except Exception:
            await self.aclose()  # the next read connects again (to the key's master as it is then)
            raise
        return [
            (eid, f.get("o", ""), f.get("k", "").split(), f.get("p", ""))
            for _, entries in rows or []
            for eid, f in entries
        ]
