"""Channel pace slots in Redis (one GCRA key per channel, under the org's tag)."""

from __future__ import annotations

from hub.storage import keys
from hub.storage.redis import Scripts


class PaceStore:
    def __init__(self, scripts: Scripts) -> None:
        self.s = scripts

    async def reserve(
        self, org_id: str, channel_id: str, interval_ms: float, max_ahead_ms: float | None
    ) -> tuple[bool, int]:
        """Book the channel's next slot; ``(booked, ms to wait)``. With a
        ``max_ahead_ms`` and no slot that close, nothing is booked and the wait
        is until one would be."""
        reserved, wait_ms = await self.s.pace_reserve(
            keys=[keys.pace(org_id, channel_id)],
            args=[repr(interval_ms), -1 if max_ahead_ms is None else repr(max_ahead_ms)],
        )
        return bool(int(reserved)), int(wait_ms)
