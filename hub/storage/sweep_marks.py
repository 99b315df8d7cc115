"""How far a hot-window sweep has walked an org's archived records: one
string key per kind of record, "archived-at ms|last id there"."""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

Mark = tuple[int, str]


async def read_mark(r: aioredis.Redis, key: str) -> Mark:
    """(archived at, ms; the last id there), (0, "") before the first sweep."""
    raw = cast(str | None, await r.get(key))
    at, _, after_id = (raw or "0|").partition("|")
    return int(at), after_id


async def write_mark(r: aioredis.Redis, key: str, mark: Mark) -> None:
    await r.set(key, f"{mark[0]}|{mark[1]}")
