"""Channels, templates, configurations and other per-org records, stored as JSON.

A channel also has a global channel → org pointer (webhooks arrive with the
channel id alone). It lives in another Redis Cluster slot than the org's
keys, so it is written after the record and deleted after it; a reader
loads the record the pointer names, so a pointer left behind finds nothing.
"""

from __future__ import annotations

import json
import time
from typing import Any, Generic, TypeVar, cast

import redis.asyncio as aioredis

from hub.domain.kinds import Kind, Record
from hub.storage import keys

R = TypeVar("R", bound=Record)


class JsonRecords:
    """Per-org JSON records of one ``kind``, listed oldest first (flows are stored so)."""

    def __init__(self, client: aioredis.Redis, kind: str) -> None:
        self.r = client
        self.kind = kind

    async def save(self, org_id: str, record_id: str, record: dict[str, Any], *, new: bool = False) -> None:
        async with self.r.pipeline(transaction=True) as p:
            p.set(keys.record(org_id, self.kind, record_id), json.dumps(record))
            if new:
                p.zadd(keys.records(org_id, self.kind), {record_id: time.time()})
            await p.execute()

    async def load(self, org_id: str, record_id: str) -> dict[str, Any] | None:
        raw = await self.r.get(keys.record(org_id, self.kind, record_id))
        return json.loads(raw) if raw else None

    async def delete(self, org_id: str, record_id: str) -> bool:
        async with self.r.pipeline(transaction=True) as p:
            p.delete(keys.record(org_id, self.kind, record_id))
            p.zrem(keys.records(org_id, self.kind), record_id)
            deleted, _ = await p.execute()
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


class CatalogStore(Generic[R]):
    """The org's records of one kind (hub.domain.kinds), as typed records:
    they become JSON here and nowhere else."""

    def __init__(self, client: aioredis.Redis, kind: Kind[R]) -> None:
        self.r = client
        self.kind = kind
        self.json = JsonRecords(client, kind.name)

    async def save(self, org_id: str, record: R, *, new: bool = False) -> None:
        await self.json.save(org_id, record.id, record.to_json(), new=new)
        if new and self.kind.found_by_id_alone:
            await self.r.set(keys.channel_owner(record.id), org_id)

    async def load(self, org_id: str, record_id: str) -> R | None:
        raw = await self.json.load(org_id, record_id)
        return self.kind.from_json(raw) if raw is not None else None

    async def delete(self, org_id: str, record_id: str) -> bool:
        deleted = await self.json.delete(org_id, record_id)
        if self.kind.found_by_id_alone:
            await self.r.delete(keys.channel_owner(record_id))
        return deleted

    async def page(self, org_id: str, *, after: float | None, limit: int) -> tuple[list[R], float | None]:
        """Records created after the cursor (a creation time), oldest first."""
        items, cursor = await self.json.page(org_id, after=after, limit=limit)
        return [self.kind.from_json(item) for item in items], cursor

    async def all(self, org_id: str) -> list[R]:
        """Every record of the kind, oldest first."""
        out: list[R] = []
        after: float | None = None
        while True:
            items, after = await self.page(org_id, after=after, limit=500)
            out += items
            if after is None:
                return out

    async def owner_of(self, record_id: str) -> str | None:
        """The org of a channel; webhooks arrive with the channel id alone."""
        return cast(str | None, await self.r.get(keys.channel_owner(record_id)))
