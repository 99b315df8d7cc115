"""A contact's timeline index: activities and conversation messages by time."""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

from hub.storage import keys


class TimelineStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self.r = client

    async def page(
        self,
        org_id: str,
        phone: str,
        *,
        after_score: float | None,
        after_member: str,
        limit: int,
        expired_before: float,
    ) -> tuple[list[tuple[str, float]], bool]:
        """Up to ``limit`` entries older than the cursor, newest first, and whether
        more follow. Scores tie when requests are accepted in the same
        millisecond, so the cursor's member breaks the tie (Redis orders equal
        scores by member, descending, in this direction). Entries whose records
        have expired are dropped on the way."""
        key = keys.timeline(org_id, phone)
        await self.r.zremrangebyscore(key, "-inf", expired_before)
        max_score = "+inf" if after_score is None else repr(after_score)
        rows: list[tuple[str, float]] = []
        offset = 0
        while len(rows) <= limit:
            batch = cast(
                list[tuple[str, float]],
                await self.r.zrevrangebyscore(key, max_score, "-inf", start=offset, num=limit + 1, withscores=True),
            )
            if not batch:
                break
            offset += len(batch)
            for member, score in batch:
                if score == after_score and (not after_member or member >= after_member):
                    continue  # returned on an earlier page
                rows.append((member, score))
        return rows[:limit], len(rows) > limit
