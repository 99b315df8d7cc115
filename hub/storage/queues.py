"""Queues' routing policies, and the policy work that falls due (inactivity
closes, overflow moves, operating hours), each in one routing script."""

from __future__ import annotations

import json
from typing import Any, cast

import redis.asyncio as aioredis

from hub.storage import keys
from hub.storage.redis import Scripts


class QueueStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts

    async def save(
        self, org_id: str, name: str, policy: dict[str, Any] | None, now_ms: int, *, is_open: bool = True
    ) -> bool:
        """Set (None: remove) a queue's policy, open or closed now by its hours;
        what waits there is offered again at once. True when the queue had a
        policy before."""
        existed = await self.s.queue_policy(
            keys=[keys.slot(org_id)],
            args=[
                keys.org_prefix(org_id),
                name,
                "" if policy is None else json.dumps(policy),
                now_ms,
                "1" if is_open else "0",
            ],
        )
        return bool(existed)

    async def load(self, org_id: str, name: str) -> dict[str, Any] | None:
        raw = cast(str | None, await self.r.get(keys.queue_policy(org_id, name)))
        return json.loads(raw) if raw else None

    async def all(self, org_id: str) -> list[dict[str, Any]]:
        names = cast(list[str], await self.r.zrange(keys.queue_policies(org_id), 0, -1))
        if not names:
            return []
        raws = cast(list[str | None], await self.r.mget([keys.queue_policy(org_id, n) for n in names]))
        return [json.loads(raw) for raw in raws if raw]

    async def waiting(self, org_id: str, name: str) -> int:
        return int(await self.r.zcard(keys.queue_waiting(org_id, name)))

    async def closed(self, org_id: str, name: str) -> bool:
        return bool(await self.r.exists(keys.queue_closed(org_id, name)))

    async def set_open(self, org_id: str, name: str, is_open: bool, now_ms: int) -> int:
        """Open or close a queue by its hours; on opening, how many waiting
        conversations were assigned, plus one (0: no change, or closing)."""
        return int(
            await self.s.queue_hours(
                keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), name, "1" if is_open else "0", now_ms]
            )
        )

    async def next_due_ms(self, org_id: str) -> float | None:
        async with self.r.pipeline(transaction=False) as p:
            p.zrange(keys.inactive_due(org_id), 0, 0, withscores=True)
            p.zrange(keys.overflow_due(org_id), 0, 0, withscores=True)
            heads = await p.execute()
        due = [float(h[0][1]) for h in heads if h]
        return min(due) if due else None

    async def run_due(self, org_id: str, now_ms: int, batch: int) -> tuple[int, int]:
        """(closed for inactivity, moved to an overflow queue) of what was due."""
        closed, moved, _ = await self.s.policy_due(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), now_ms, batch]
        )
        return int(closed), int(moved)
