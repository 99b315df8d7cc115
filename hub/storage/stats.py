"""Hub-wide figures for /metrics, read in two pipelined round trips, and\nthe readiness check of /readyz."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from hub.storage import keys
from hub.storage.redis import check_ready


@dataclass
class HubStats:
    stream_depth: int = 0
    retries_waiting: int = 0
    open_circuits: int = 0
    available_agents: int = 0
    waiting: int = 0
    wait_histograms: list[dict[str, str]] = field(default_factory=list)
    # Changes not yet copied to SQL, and the time of the oldest (ms; 0: none).
    archive_backlog: int = 0
    archive_oldest_ms: int = 0


class StatsStore:
    """What /metrics and /readyz read of Redis."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.r = client

    async def check_ready(self) -> None:
        """Raise unless Redis would serve the hub (see ``redis.check_ready``)."""
        await check_ready(self.r)

    async def figures(self, org_ids: Sequence[str], partition_ids: Sequence[str] = ()) -> HubStats:
        """The hub-wide figures over these orgs, and the partitions (``org_…~p``)
        of those that have several: their outbound streams, retries and archive
        streams count too."""
        stats = HubStats()
        if partition_ids:
            async with self.r.pipeline(transaction=False) as p:
                for unit in partition_ids:
                    p.xlen(keys.outbound_stream(unit))
                    p.zcard(keys.send_retries(unit))
                    p.xlen(keys.archive_stream(unit))
                    p.xrange(keys.archive_stream(unit), count=1)
                rows = await p.execute()
            for index in range(len(partition_ids)):
                xlen, retries, backlog, oldest = rows[index * 4 : index * 4 + 4]
                stats.stream_depth += int(xlen)
                stats.retries_waiting += int(retries)
                stats.archive_backlog += int(backlog)
                if oldest:
                    oldest_ms = int(oldest[0][0].split("-")[0])
                    if not stats.archive_oldest_ms or oldest_ms < stats.archive_oldest_ms:
                        stats.archive_oldest_ms = oldest_ms
        if not org_ids:
            return stats
        async with self.r.pipeline(transaction=False) as p:
            for org_id in org_ids:
                p.xlen(keys.outbound_stream(org_id))
                p.scard(keys.agents_available(org_id))
                p.hgetall(keys.wait_stats(org_id))
                p.smembers(keys.queues(org_id))
                p.xlen(keys.reply_stream(org_id))
                p.zcard(keys.send_retries(org_id))
                p.zcard(keys.circuits_open(org_id))
                p.xlen(keys.archive_stream(org_id))
                # Archived entries are deleted, so the first one left is the oldest unarchived.
                p.xrange(keys.archive_stream(org_id), count=1)
            rows = await p.execute()
        queues: list[tuple[str, str]] = []
        for index, org_id in enumerate(org_ids):
            (xlen, agents, wait, org_queues, replies, retries, circuits, backlog, oldest) = rows[
                index * 9 : index * 9 + 9
            ]
            stats.stream_depth += int(xlen) + int(replies)
            stats.retries_waiting += int(retries)
            stats.open_circuits += int(circuits)
            stats.available_agents += int(agents)
            stats.wait_histograms.append(wait)
            queues += [(org_id, q) for q in org_queues]
            stats.archive_backlog += int(backlog)
            if oldest:
                oldest_ms = int(oldest[0][0].split("-")[0])
                if not stats.archive_oldest_ms or oldest_ms < stats.archive_oldest_ms:
                    stats.archive_oldest_ms = oldest_ms
        if queues:
            async with self.r.pipeline(transaction=False) as p:
                for org_id, queue in queues:
                    p.zcard(keys.queue_waiting(org_id, queue))
                stats.waiting = int(sum(await p.execute()))
        return stats
