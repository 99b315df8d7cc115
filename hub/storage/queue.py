"""The outbound stream of each org, read by workers in one consumer group.

A job that a worker took stays pending until record_results acknowledges it;
a worker that dies leaves its pending jobs to be claimed by another after
``claim_idle_ms``. A live worker keeps its in-flight jobs claimed so a slow
provider never makes them look abandoned.

Agents' replies have a stream of their own per org, read by their own
workers, so an answer an agent is waiting on never queues behind a bulk
backlog; both streams work the same way.
"""

from __future__ import annotations

from typing import Sequence

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from hub.storage import keys

GROUP = "workers"


class OutboundQueue:
    def __init__(self, client: aioredis.Redis, *, replies: bool = False) -> None:
        self.r = client
        self.replies = replies
        self.stream = keys.reply_stream if replies else keys.outbound_stream
        self._groups: set[str] = set()

    async def ensure_group(self, org_id: str) -> None:
        if org_id in self._groups:
            return
        try:
            await self.r.xgroup_create(self.stream(org_id), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(org_id)

    async def read(
        self, org_ids: Sequence[str], consumer: str, count: int, block_ms: int
    ) -> list[tuple[str, list[tuple[str, str]]]]:
        """New jobs: [(org, [(entry id, activity id), ...]), ...]."""
        if not org_ids:
            return []
        for org_id in org_ids:
            await self.ensure_group(org_id)
        streams = {self.stream(o): ">" for o in org_ids}
        try:
            rows = await self.r.xreadgroup(GROUP, consumer, streams, count=count, block=block_ms)
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # the stream was deleted under us
                self._groups.clear()
                return []
            raise
        out = []
        for stream, entries in rows or []:
            org_id = stream.split("{", 1)[1].split("}", 1)[0]
            out.append((org_id, [(eid, fields.get("a", "")) for eid, fields in entries]))
        return out

    async def claim_abandoned(
        self, org_id: str, consumer: str, min_idle_ms: int, count: int
    ) -> list[tuple[str, str]]:
        await self.ensure_group(org_id)
        _, entries, *_ = await self.r.xautoclaim(
            self.stream(org_id), GROUP, consumer, min_idle_ms, "0-0", count=count
        )
        return [(eid, fields.get("a", "")) for eid, fields in entries if fields]

    async def keep_claimed(self, org_id: str, consumer: str, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            await self.r.xclaim(
                self.stream(org_id), GROUP, consumer, 0, list(entry_ids), justid=True
            )

    async def ack(self, org_id: str, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            stream = self.stream(org_id)
            async with self.r.pipeline(transaction=True) as p:
                p.xack(stream, GROUP, *entry_ids)
                p.xdel(stream, *entry_ids)
                await p.execute()
