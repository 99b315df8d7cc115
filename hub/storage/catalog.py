"""Channels, templates, configurations and other per-org records, as JSON.

A channel also has a global channel → org pointer (webhooks arrive with the
channel id alone). It lives in another Redis Cluster slot than the org's
keys, so it is written after the record and deleted after it; a reader
loads the record the pointer names, so a pointer left behind finds nothing.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast

import redis.asyncio as aioredis

from hub.storage import keys


class CatalogStore:
    """Generic per-org records of one ``kind``, listed oldest first."""

    def __init__(self, client: aioredis.Redis, kind: str) -> None:
        self.r = client
        self.kind = kind

    async def save(self, org_id: str, record: dict[str, Any], *, new: bool = False) -> None:
        async with self.r.pipeline(transaction=True) as p:
            p.set(keys.record(org_id, self.kind, record["id"]), json.dumps(record))
            if new:
                p.zadd(keys.records(org_id, self.kind), {record["id"]: time.time()})
            await p.execute()
        if new and self.kind == "channel":
            await self.r.set(keys.channel_owner(record["id"]), org_id)

    async def load(self, org_id: str, record_id: str) -> dict[str, Any] | None:
        raw = await self.r.get(keys.record(org_id, self.kind, record_id))
        return json.loads(raw) if raw else None

    async def delete(self, org_id: str, record_id: str) -> bool:
        async with self.r.pipeline(transaction=True) as p:
            p.delete(keys.record(org_id, self.kind, record_id))
            p.zrem(keys.records(org_id, self.kind), record_id)
            deleted, _ = await p.execute()
        if self.kind == "channel":
            await self.r.delete(keys.channel_owner(record_id))
        return bool(deleted)

    async def page(self, org_id: str, *, after: float | None, limit: int) -> tuple[list[dict[str, Any]], float | None]:
        """Records created after the cursor (a creation time), oldest first."""
        low = f"({after}" if after is not None else "-inf"
        rows = cast(
            list[tuple[str, float]],
            await self.r.zrangebyscore(
                keys.records(org_id, self.kind), low, "+inf", start=0, num=limit + 1, withscores=True
            ),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        if not rows:
            return [], None
        raws = await self.r.mget([keys.record(org_id, self.kind, rid) for rid, _ in rows])
        items = [json.loads(raw) for raw in raws if raw]
        return items, (rows[-1][1] if more else None)

    async def owner_of(self, record_id: str) -> str | None:
        """The org of a channel; webhooks arrive with the channel id alone."""
        return cast(str | None, await self.r.get(keys.channel_owner(record_id)))
