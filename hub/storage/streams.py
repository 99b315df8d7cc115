"""A per-org Redis stream read by one consumer group across every process:
what the outbound queues and the archive queue share.

An entry stays pending until its reader acknowledges it (and deletes it, so
the stream holds only what is not done); one left by a dead process is
claimed by another after ``min_idle_ms``.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Sequence

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from hub.storage.redis import is_cluster

Rows = list[tuple[str, dict[str, str]]]


class ConsumerGroup:
    def __init__(self, client: aioredis.Redis, stream_of: Callable[[str], str], group: str) -> None:
        self.r = client
        self.stream_of = stream_of
        self.group = group
        self._groups: set[str] = set()

    async def ensure_group(self, org_id: str) -> None:
        if org_id in self._groups:
            return
        try:
            # From the stream's start: entries added before any reader ran are kept.
            await self.r.xgroup_create(self.stream_of(org_id), self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(org_id)

    async def read(self, org_ids: Sequence[str], consumer: str, count: int, block_ms: int
                   ) -> list[tuple[str, Rows]]:
        """New entries of every org's stream: [(org, [(entry id, fields), ...]), ...]."""
        if not org_ids:
            return []
        for org_id in org_ids:
            await self.ensure_group(org_id)
        if is_cluster(self.r):
            return await self._read_each(org_ids, consumer, count, block_ms)
        return await self._xreadgroup({self.stream_of(o): ">" for o in org_ids}, consumer, count,
                                      block_ms)

    async def _read_each(self, org_ids: Sequence[str], consumer: str, count: int, block_ms: int
                         ) -> list[tuple[str, Rows]]:
        """On a Redis Cluster the orgs' streams live in different slots, and
        one XREADGROUP reads one slot: one call per org, all at once, without
        blocking; when none had anything, wait ``block_ms`` as the blocking
        read would have."""
        reads = await asyncio.gather(*(
            self._xreadgroup({self.stream_of(o): ">"}, consumer, count, None) for o in org_ids))
        found = [row for rows in reads for row in rows]
        if not found:
            await asyncio.sleep(block_ms / 1000)
        return found

    async def _xreadgroup(self, streams: dict[str, str], consumer: str, count: int,
                          block_ms: int | None) -> list[tuple[str, Rows]]:
        try:
            rows = await self.r.xreadgroup(self.group, consumer, streams, count=count, block=block_ms)
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # the stream was deleted under us
                self._groups.clear()
                return []
            raise
        return [(stream.split("{", 1)[1].split("}", 1)[0], entries) for stream, entries in rows or []]

    async def claim_abandoned(self, org_id: str, consumer: str, min_idle_ms: int, count: int) -> Rows:
        await self.ensure_group(org_id)
        _, rows, *_ = await self.r.xautoclaim(
            self.stream_of(org_id), self.group, consumer, min_idle_ms, "0-0", count=count)
        # A deleted entry still pending comes back without fields.
        return [(eid, fields or {}) for eid, fields in rows]

    async def keep_claimed(self, org_id: str, consumer: str, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            await self.r.xclaim(self.stream_of(org_id), self.group, consumer, 0, list(entry_ids),
                                justid=True)

    async def ack(self, org_id: str, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            stream = self.stream_of(org_id)
            async with self.r.pipeline(transaction=True) as p:
                p.xack(stream, self.group, *entry_ids)
                p.xdel(stream, *entry_ids)
                await p.execute()
