"""The hot window: once an activity has been in a final status, archived,
for HUB_HOT_SECONDS, its full record leaves Redis and SQL answers for it
(closed conversations likewise: hub.services.conversation_archive).

Every process runs the sweeper. Each org's walk goes through its archived
activities in the order they were last written to SQL, from a mark kept in
Redis; an activity is dropped by a script that first checks, in Redis, that
nothing changed since the copy it was given (so a change not yet archived
keeps the record). A process killed mid-walk leaves the mark behind, and the
next walk repeats the few activities already dropped, which does nothing.
"""

from __future__ import annotations

import asyncio
import time

from hub.domain import partitions as parts
from hub.domain import statuses
from hub.logs import get_logger
from hub.services.context import Hub
from hub.services.conversation_archive import sweep_conversations
from hub.services.job_history import sweep_jobs
from hub.storage.sql.activities import sweep_candidates

log = get_logger("hub.hot_window")

# Final for the sweep: nothing but a late `read` (applied in SQL then) follows these.
FINAL = tuple(sorted(str(s) for s in statuses.FINAL))
BATCH = 500


async def sweep_org(hub: Hub, org_id: str, before_ms: int, partitions: int = 1) -> int:
    """``partitions``: the org's; each activity is dropped from the one its id names."""
    assert hub.history is not None
    mark = await hub.activities.sweep_mark(org_id)
    dropped = 0
    while True:
        rows = await sweep_candidates(hub.history, org_id, statuses=FINAL, after=mark, before_ms=before_ms, limit=BATCH)
        if not rows:
            return dropped
        by_unit: dict[str, list[tuple[str, int, str, str, str, bool]]] = {}
        for _, i, v, c, ch, t, tl in rows:
            p = parts.activity_partition(partitions, i)
            if p is not None:
                by_unit.setdefault(parts.unit(org_id, p), []).append((i, v, c, ch, t, bool(tl)))
        for unit, items in by_unit.items():
            dropped += await hub.activities.sweep(unit, items, FINAL)
        mark = (rows[-1][0], rows[-1][1])
        await hub.activities.set_sweep_mark(org_id, mark)


async def sweep_hot(hub: Hub, now: float | None = None) -> int:
    if hub.history is None or not hub.settings.hot_seconds:
        return 0
    before_ms = int(((now or time.time()) - hub.settings.hot_seconds) * 1000)
    dropped = 0
    for org_id in await hub.board.org_ids():
        partitions = 1
        if hub.board.partitioned(org_id):
            org = await hub.orgs.load(org_id)
            partitions = org.partitions if org is not None else 1
        dropped += await sweep_org(hub, org_id, before_ms, partitions)
        dropped += await sweep_jobs(hub, org_id, before_ms)
        dropped += await sweep_conversations(hub, org_id, before_ms)
    return dropped


async def hot_sweeper(hub: Hub, stop: asyncio.Event) -> None:
    interval = min(60.0, max(0.5, hub.settings.hot_seconds / 4))
    while not stop.is_set():
        try:
            dropped = await sweep_hot(hub)
            if dropped:
                log.info("dropped archived records from Redis", extra={"count": dropped})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("hot-window sweep failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
