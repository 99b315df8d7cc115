"""Which org a channel belongs to, with its credentials, for webhooks.

Webhooks arrive with only the channel id; this is on every webhook's path, so
lookups are cached briefly in the process. A credential change made through
another hub process is seen here within ``TTL_S``.

While Redis cannot answer, the last record this process saw of a channel is
used however old it is, so a webhook's signature can still be checked and the
webhook journaled (see hub/services/journal.py). A channel this process has
never seen cannot be checked then: the lookup raises and the caller journals
the webhook unverified.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hub.storage.catalog import CatalogStore
from hub.storage.outage import redis_unavailable

TTL_S = 5.0
# A Redis that hangs rather than refusing is given up on after this long (a
# provider waits 15 s for its answer).
REDIS_WAIT_S = 5.0
MAX_ENTRIES = 10_000


class ChannelDirectory:
    def __init__(self, channels: CatalogStore) -> None:
        self.channels = channels
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    async def lookup(self, channel_id: str, *, stale_ok: bool = False) -> dict[str, Any] | None:
        """``stale_ok``: take a cached record of any age without asking Redis
        (the caller knows Redis is down, or is draining the journal)."""
        hit = self._cache.get(channel_id)
        now = time.monotonic()
        if hit and (stale_ok or now - hit[0] < TTL_S):
            return hit[1]
        try:
            async with asyncio.timeout(REDIS_WAIT_S):
                channel = await self._load(channel_id)
        except Exception as exc:
            if hit is not None and redis_unavailable(exc):
                return hit[1]
            raise
        if len(self._cache) > MAX_ENTRIES:
            # Unknown ids go first (anyone can make those up); known channels
            # are what a Redis outage needs.
            self._cache = {k: v for k, v in self._cache.items() if v[1] is not None}
            if len(self._cache) > MAX_ENTRIES:
                self._cache.clear()
        self._cache[channel_id] = (now, channel)
        return channel

    async def _load(self, channel_id: str) -> dict[str, Any] | None:
        org_id = await self.channels.owner_of(channel_id)
        channel = await self.channels.load(org_id, channel_id) if org_id else None
        return {**channel, "org_id": org_id} if channel is not None else None

    def forget(self, channel_id: str) -> None:
        self._cache.pop(channel_id, None)
