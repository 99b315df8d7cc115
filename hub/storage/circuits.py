"""Each channel's circuit breaker, in Redis so every process shares it.

Closed: sends go to the provider. Open (after ``threshold`` retryable
failures in a row): nothing is sent on the channel until its cool-down ends.
Half-open (cool-down over): one probe at a time, under a lease; its success
closes the circuit, its failure opens it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from hub.storage import keys
from hub.storage.redis import Scripts


@dataclass(frozen=True)
class CircuitView:
    fails: int
    open_until_ms: int  # 0: closed

    def state(self, now_ms: int) -> str:
        if not self.open_until_ms:
            return "closed"
        return "open" if now_ms < self.open_until_ms else "half_open"


class CircuitStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts

    async def view(self, org_id: str, channel_ids: Sequence[str]) -> dict[str, CircuitView]:
        async with self.r.pipeline(transaction=False) as p:
            for channel_id in channel_ids:
                p.hmget(keys.circuit(org_id, channel_id), "fails", "open_until")
            rows = await p.execute()
        return {c: CircuitView(int(f or 0), int(u or 0)) for c, (f, u) in zip(channel_ids, rows)}

    async def take_probe(self, org_id: str, channel_id: str, now_ms: int, lease_ms: int) -> str:
        """``probe`` when the caller may try the provider; else closed | open | probing."""
        return str(await self.s.circuit_probe(keys=[keys.circuit(org_id, channel_id)], args=[now_ms, lease_ms]))

    async def failure(
        self, org_id: str, channel_id: str, now_ms: int, *, threshold: int, cooldown_ms: int, probe: bool
    ) -> tuple[int, bool]:
        """Count a retryable failure: (until when the circuit is open, 0 if closed;
        whether this failure opened it)."""
        until, opened = await self.s.circuit_failure(
            keys=[keys.circuit(org_id, channel_id), keys.circuits_open(org_id)],
            args=[channel_id, now_ms, threshold, cooldown_ms, 1 if probe else 0],
        )
        return int(until), bool(opened)

    async def close(self, org_id: str, channel_id: str) -> None:
        await self.s.circuit_close(
            keys=[keys.circuit(org_id, channel_id), keys.circuits_open(org_id)], args=[channel_id]
        )

    async def open_channels(self, org_id: str) -> dict[str, int]:
        """Channels whose circuit is not closed → until when it is open (ms)."""
        rows = cast(list[tuple[str, float]], await self.r.zrange(keys.circuits_open(org_id), 0, -1, withscores=True))
        return {channel: int(score) for channel, score in rows}
