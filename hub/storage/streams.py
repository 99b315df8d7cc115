"""A per-org Redis stream read by one consumer group across every process:
what the outbound queues and the archive queue share. Every read covers one
org's stream (see hub.services.workboard for when each org is read).

An entry stays pending until its reader acknowledges it (and deletes it, so
the stream holds only what is not done); one left by a dead process is
claimed by another after ``min_idle_ms``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

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

    async def length(self, org_id: str) -> int:
        """Entries in the org's stream, read or not: acknowledged ones are
        deleted, so 0 means nothing to read and nothing to claim."""
        return int(await self.r.xlen(self.stream_of(org_id)))

    async def read(self, org_id: str, consumer: str, count: int) -> Rows:
        """New entries of one org's stream (one key: one Redis Cluster slot), without waiting."""
        await self.ensure_group(org_id)
        try:
            rows = cast(
                list[tuple[str, Rows]],
                await self.r.xreadgroup(self.group, consumer, {self.stream_of(org_id): ">"}, count=count),
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # the stream was deleted under us
                self._groups.discard(org_id)
                return []
            raise
        return [entry for _, entries in rows or [] for entry in entries]

    async def claim_abandoned(self, org_id: str, consumer: str, min_idle_ms: int, count: int) -> Rows:
        await self.ensure_group(org_id)
        _, rows, *_ = await self.r.xautoclaim(
            self.stream_of(org_id), self.group, consumer, min_idle_ms, "0-0", count=count
        )
        # A deleted entry still pending comes back without fields.
        return [(eid, fields or {}) for eid, fields in rows]

    async def keep_claimed(self, org_id: str, consumer: str, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            await self.r.xclaim(self.stream_of(org_id), self.group, consumer, 0, list(entry_ids), justid=True)

    async def ack(self, org_id: str, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            stream = self.stream_of(org_id)
            async with self.r.pipeline(transaction=True) as p:
                p.xack(stream, self.group, *entry_ids)
                p.xdel(stream, *entry_ids)
                await p.execute()
