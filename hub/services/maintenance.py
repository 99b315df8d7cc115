"""Retention: activities and conversations expire by themselves in Redis
(their keys carry a TTL); this trims the indexes that point at them, and
deletes the same activities and conversations from the SQL history. Report counters stay.
Every process runs it; trimming twice is harmless."""

from __future__ import annotations

import asyncio
import time

from hub.logs import get_logger
from hub.services.context import Hub
from hub.services.job_history import purge_jobs
from hub.storage.sql.activities import purge_before
from hub.storage.sql.conversations import purge_before as purge_conversations_before

log = get_logger("hub.maintenance")


async def trim_indexes(hub: Hub, now: float | None = None) -> int:
    cutoff_ms = int(((now or time.time()) - hub.settings.retention_s) * 1000)
    removed = 0
    for org_id in await hub.board.org_ids():
        configs, after = [], None
        while True:
            page, after = await hub.configurations.page(org_id, after=after, limit=200)
            configs += page
            if after is None:
                break
        for unit in hub.board.units_of(org_id):  # the org and its partitions
            removed += await hub.activities.trim_indexes(unit, [c.id for c in configs], cutoff_ms)
        agents = [a["id"] for a in await hub.agents.all(org_id) if a.get("id")]
        removed += await hub.agents.trim_served(org_id, agents, cutoff_ms)
    return removed


async def purge_history(hub: Hub, now: float | None = None) -> int:
    """The same retention in SQL: activities and conversations (with their
    messages) created before it are deleted."""
    if hub.history is None:
        return 0
    cutoff_ms = int(((now or time.time()) - hub.settings.retention_s) * 1000)
    removed = 0
    for org_id in await hub.board.org_ids():
        removed += await purge_before(hub.history, org_id, cutoff_ms)
        removed += await purge_conversations_before(hub.history, org_id, cutoff_ms)
    return removed


async def purge_job_history(hub: Hub, now: float | None = None) -> int:
    """Bulk jobs (with their outcomes) and flow runs older than it, too."""
    if hub.history is None:
        return 0
    cutoff_ms = int(((now or time.time()) - hub.settings.retention_s) * 1000)
    return sum([await purge_jobs(hub, org_id, cutoff_ms) for org_id in await hub.orgs.all_ids()])


async def maintainer(hub: Hub, stop: asyncio.Event, interval: float = 600.0) -> None:
    while not stop.is_set():
        try:
            removed = await trim_indexes(hub)
            if removed:
                log.info("trimmed expired index entries", extra={"removed": removed})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("retention trim failed")
        try:
            purged = await purge_history(hub) + await purge_job_history(hub)
            if purged:
                log.info("purged expired history", extra={"removed": purged})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("history purge failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
