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

import redis.asyncio as aioredis

from hub.storage import keys
from hub.storage.streams import ConsumerGroup

GROUP = "workers"


class OutboundQueue:
    def __init__(self, client: aioredis.Redis, *, replies: bool = False) -> None:
        self.replies = replies
        self.group = ConsumerGroup(client, keys.reply_stream if replies else keys.outbound_stream, GROUP)
        self.keep_claimed = self.group.keep_claimed
        self.ack = self.group.ack
        self.length = self.group.length

    async def read(self, org_id: str, consumer: str, count: int) -> list[tuple[str, str]]:
        """New jobs of one org: [(entry id, activity id), ...]."""
        return [(eid, fields.get("a", "")) for eid, fields in await self.group.read(org_id, consumer, count)]

    async def claim_abandoned(self, org_id: str, consumer: str, min_idle_ms: int, count: int) -> list[tuple[str, str]]:
        rows = await self.group.claim_abandoned(org_id, consumer, min_idle_ms, count)
        return [(eid, fields.get("a", "")) for eid, fields in rows if fields]
