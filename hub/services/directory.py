"""Which org a channel belongs to, with its credentials, for webhooks.

Webhooks arrive with only the channel id; this is on every webhook's path, so
lookups are cached briefly in the process. A credential change made through
another hub process is seen here within ``TTL_S``.
"""

from __future__ import annotations

import time
from typing import Any

from hub.storage.catalog import CatalogStore

TTL_S = 5.0


class ChannelDirectory:
    def __init__(self, channels: CatalogStore) -> None:
        self.channels = channels
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    async def lookup(self, channel_id: str) -> dict[str, Any] | None:
        hit = self._cache.get(channel_id)
        now = time.monotonic()
        if hit and now - hit[0] < TTL_S:
            return hit[1]
        org_id = await self.channels.owner_of(channel_id)
        channel = await self.channels.load(org_id, channel_id) if org_id else None
        if channel is not None:
            channel = {**channel, "org_id": org_id}
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[channel_id] = (now, channel)
        return channel

    def forget(self, channel_id: str) -> None:
        self._cache.pop(channel_id, None)
