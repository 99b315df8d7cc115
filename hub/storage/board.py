"""The supervisors' board in Redis: one read of the org's routing state, and
the flag that makes the routing scripts publish changes on the org's board
channel (see ``board_changed`` in routing_lib.lua)."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from hub.storage import keys
from hub.storage.redis import Scripts

# A process holding a board sets the flag for this long and refreshes it
# well before, so an org nobody watches costs the scripts one EXISTS.
WATCH_TTL_MS = 60_000


def board_channel(org_id: str) -> str:
    return keys.board_notify(org_id)


class BoardStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts

    async def snapshot(self, org_id: str, per_queue: int = 50) -> dict[str, Any]:
        raw = await self.s.board_snapshot(keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), per_queue])
        return json.loads(raw)  # type: ignore[no-any-return]

    async def watch(self, org_id: str) -> None:
        await self.r.set(keys.board_watch(org_id), "1", px=WATCH_TTL_MS)
