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
from collections.abc import Hashable
from dataclasses import replace
from typing import Generic, TypeVar

from hub.domain.records import Channel
from hub.storage.catalog import CatalogStore
from hub.storage.outage import redis_unavailable

TTL_S = 5.0
# A Redis that hangs rather than refusing is given up on after this long (a
# provider waits 15 s for its answer).
REDIS_WAIT_S = 5.0
MAX_ENTRIES = 10_000

K = TypeVar("K", bound=Hashable)
Record = Channel | None  # None: no such channel, cached all the same


class ChannelCache(Generic[K]):
    """Channel records by key, fresh for ``TTL_S``: the directory's, and each
    send worker's own (keyed by org and channel)."""

    def __init__(self) -> None:
        self._entries: dict[K, tuple[float, Record]] = {}

    def get(self, key: K, *, stale_ok: bool = False) -> tuple[bool, Record]:
        """``(found, record)``: found when cached and fresh, or cached at all
        with ``stale_ok``."""
        hit = self._entries.get(key)
        if hit is not None and (stale_ok or time.monotonic() - hit[0] < TTL_S):
            return True, hit[1]
        return False, None

    def put(self, key: K, record: Record, *, at: float | None = None) -> None:
        """``at``: when the record was asked for (monotonic), now if not given."""
        if len(self._entries) > MAX_ENTRIES:
            # Unknown ids go first (anyone can make those up); known channels
            # are what a Redis outage needs.
            self._entries = {k: v for k, v in self._entries.items() if v[1] is not None}
            if len(self._entries) > MAX_ENTRIES:
                self._entries.clear()
        self._entries[key] = (time.monotonic() if at is None else at, record)

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)


class ChannelDirectory:
    def __init__(self, channels: CatalogStore[Channel]) -> None:
        self.channels = channels
        self._cache: ChannelCache[str] = ChannelCache()

    async def lookup(self, channel_id: str, *, stale_ok: bool = False) -> Channel | None:
        """``stale_ok``: take a cached record of any age without asking Redis
        (the caller knows Redis is down, or is draining the journal)."""
        found, record = self._cache.get(channel_id, stale_ok=stale_ok)
        if found:
            return record
        asked_at = time.monotonic()
        try:
            async with asyncio.timeout(REDIS_WAIT_S):
                channel = await self._load(channel_id)
        except Exception as exc:
            seen, record = self._cache.get(channel_id, stale_ok=True)
            if seen and redis_unavailable(exc):
                return record
            raise
        self._cache.put(channel_id, channel, at=asked_at)
        return channel

    async def _load(self, channel_id: str) -> Channel | None:
        org_id = await self.channels.owner_of(channel_id)
        if org_id is None:
            return None
        channel = await self.channels.load(org_id, channel_id)
        return replace(channel, org_id=org_id) if channel is not None else None

    def forget(self, channel_id: str) -> None:
        self._cache.forget(channel_id)
