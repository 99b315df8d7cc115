"""The event feed in Redis: endpoints, the per-org event log (a stream the
state-changing scripts append to, see scripts/lib.lua ``feed``), each
endpoint's delivery cursor and the lease that lets one process at a time
deliver to it."""

from __future__ import annotations

import json
from typing import Any, cast

import redis.asyncio as aioredis

from hub.domain.event_feed import MAX_ENDPOINTS, next_event_id
from hub.storage import keys
from hub.storage.redis import Scripts


class EndpointsFull(Exception):
    """The org has as many endpoints as allowed."""


class EventFeedStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts

    # -- endpoints -----------------------------------------------------------------

    async def _save(self, org_id: str, op: str, endpoint_id: str, record: dict[str, Any] | None, now_ms: int) -> str:
        answer = await self.s.event_endpoint(
            keys=[
                keys.event_endpoint(org_id, endpoint_id),
                keys.event_endpoints(org_id),
                keys.event_delivery(org_id, endpoint_id),
                keys.event_types(org_id),
                keys.event_log(org_id),
                keys.event_lease(org_id, endpoint_id),
            ],
            args=[
                op,
                endpoint_id,
                json.dumps(record) if record is not None else "",
                now_ms,
                MAX_ENDPOINTS,
                keys.org_prefix(org_id),
            ],
        )
        return str(answer[0])

    async def create(self, org_id: str, record: dict[str, Any], now_ms: int) -> None:
        if await self._save(org_id, "create", record["id"], record, now_ms) == "full":
            raise EndpointsFull()
        await self.r.sadd(keys.event_orgs(), org_id)

    async def update(self, org_id: str, record: dict[str, Any], now_ms: int) -> bool:
        return await self._save(org_id, "update", record["id"], record, now_ms) == "ok"

    async def delete(self, org_id: str, endpoint_id: str, now_ms: int) -> bool:
        return await self._save(org_id, "delete", endpoint_id, None, now_ms) == "ok"

    async def get(self, org_id: str, endpoint_id: str) -> dict[str, Any] | None:
        raw = cast(str | None, await self.r.get(keys.event_endpoint(org_id, endpoint_id)))
        return json.loads(raw) if raw else None

    async def all(self, org_id: str) -> list[dict[str, Any]]:
        ids = cast(list[str], await self.r.zrange(keys.event_endpoints(org_id), 0, -1))
        if not ids:
            return []
        raws = cast(list[str | None], await self.r.mget([keys.event_endpoint(org_id, i) for i in ids]))
        return [json.loads(raw) for raw in raws if raw]

    async def delivery(self, org_id: str, endpoint_id: str) -> dict[str, str]:
        return cast(dict[str, str], await self.r.hgetall(keys.event_delivery(org_id, endpoint_id)))

    # -- the log -------------------------------------------------------------------

    async def read(self, org_id: str, after: str, count: int) -> list[tuple[str, dict[str, str]]]:
        """Up to ``count`` events after ``after`` ('0-0': from the oldest kept), oldest first."""
        start = next_event_id(after) if after != "0-0" else "-"
        entries = await self.r.xrange(keys.event_log(org_id), start, "+", count=count)
        return cast(list[tuple[str, dict[str, str]]], entries)

    async def floor(self, org_id: str) -> str | None:
        """The newest event dropped by retention (a cursor before it has expired)."""
        return cast(str | None, await self.r.get(keys.event_floor(org_id)))

    async def trim(self, org_id: str, min_id: str) -> int:
        """Drop events older than ``min_id``; the number left."""
        return int(await self.s.event_trim(keys=[keys.event_log(org_id), keys.event_floor(org_id)], args=[min_id]))

    async def orgs(self) -> list[str]:
        return sorted(cast(set[str], await self.r.smembers(keys.event_orgs())))

    async def forget_org(self, org_id: str) -> None:
        await self.r.srem(keys.event_orgs(), org_id)

    async def endpoint_ids(self, org_id: str) -> list[str]:
        return cast(list[str], await self.r.zrange(keys.event_endpoints(org_id), 0, -1))

    # -- delivery ------------------------------------------------------------------

    async def lease(self, org_id: str, endpoint_id: str, owner: str, op: str, lease_ms: int) -> bool:
        return bool(await self.s.event_lease(keys=[keys.event_lease(org_id, endpoint_id)], args=[owner, op, lease_ms]))

    async def record(
        self,
        org_id: str,
        endpoint_id: str,
        owner: str,
        op: str,
        *,
        cursor: str = "",
        now_ms: int = 0,
        next_at_ms: int = 0,
        error: str = "",
    ) -> bool:
        """Record an attempt's outcome; False when the lease is no longer ``owner``'s."""
        return bool(
            await self.s.event_delivery(
                keys=[keys.event_lease(org_id, endpoint_id), keys.event_delivery(org_id, endpoint_id)],
                args=[owner, op, cursor, now_ms, next_at_ms, error[:300]],
            )
        )
