"""Hub-wide figures for /metrics, read in two pipelined round trips."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import redis.asyncio as aioredis

from hub.storage import keys


@dataclass
class HubStats:
    stream_depth: int = 0
    retries_waiting: int = 0
    open_circuits: int = 0
    available_agents: int = 0
    waiting: int = 0
    wait_histograms: list[dict[str, str]] = field(default_factory=list)


async def hub_stats(client: aioredis.Redis, org_ids: Sequence[str]) -> HubStats:
    stats = HubStats()
    if not org_ids:
        return stats
    async with client.pipeline(transaction=False) as p:
        for org_id in org_ids:
            p.xlen(keys.outbound_stream(org_id))
            p.scard(keys.agents_available(org_id))
            p.hgetall(keys.wait_stats(org_id))
            p.smembers(keys.queues(org_id))
            p.xlen(keys.reply_stream(org_id))
            p.zcard(keys.send_retries(org_id))
            p.zcard(keys.circuits_open(org_id))
        rows = await p.execute()
    queues: list[tuple[str, str]] = []
    for index, org_id in enumerate(org_ids):
        xlen, agents, wait, org_queues, replies, retries, circuits = rows[index * 7: index * 7 + 7]
        stats.stream_depth += int(xlen) + int(replies)
        stats.retries_waiting += int(retries)
        stats.open_circuits += int(circuits)
        stats.available_agents += int(agents)
        stats.wait_histograms.append(wait)
        queues += [(org_id, q) for q in org_queues]
    if queues:
        async with client.pipeline(transaction=False) as p:
            for org_id, queue in queues:
                p.zcard(keys.queue_waiting(org_id, queue))
            stats.waiting = int(sum(await p.execute()))
    return stats


async def trim_before(client: aioredis.Redis, org_id: str, config_ids: Sequence[str],
                      cutoff_ms: int) -> int:
    """Drop index entries older than the cutoff (their records have expired)."""
    async with client.pipeline(transaction=False) as p:
        # Activity index scores are creation ms * 1000 (unique within a request).
        p.zremrangebyscore(keys.activities(org_id), "-inf", cutoff_ms * 1000)
        for config_id in config_ids:
            p.zremrangebyscore(keys.activities_by_config(org_id, config_id), "-inf", cutoff_ms * 1000)
        p.zremrangebyscore(keys.conversations(org_id), "-inf", cutoff_ms)
        return int(sum(await p.execute()))
