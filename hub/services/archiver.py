"""The archiver: copies every change of an activity from Redis to SQL, off the
send and webhook paths (they only append an id to a stream).

Every process runs one. A batch is read from the org's stream, the records
are loaded from Redis as they are now, written to SQL in one transaction and
only then acknowledged; a crash in between leaves the entries pending, to be
claimed and written again by any process, which changes nothing the first
write did (writes are idempotent, see hub.storage.sql.activities).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time

from hub.logs import get_logger
from hub.services.context import Hub
from hub.services.job_history import archive_jobs
from hub.storage.archive_queue import ArchiveQueue, Entry
from hub.storage.sql.activities import apply_late_callbacks, write_activities
from hub.storage.sql.db import Database

log = get_logger("hub.archiver")

BATCH = 500
# A change is written once it is this old: the provider taking a message and
# its delivery receipt a second later are then loaded and written once, not
# once each (most of the archiver's cost is per written row). The history
# lags Redis by about this much; a backlog is written at once.
SETTLE_S = 2.0
# After a batch smaller than BATCH, wait this long before reading again.
LINGER_S = 0.5


class Archiver:
    def __init__(self, hub: Hub) -> None:
        assert hub.history is not None
        self.hub = hub
        self.db: Database = hub.history
        self.queue = ArchiveQueue(hub.redis)
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-archiver"

    async def run(self, stop: asyncio.Event) -> None:
        claim_idle_ms = self.hub.settings.claim_idle_ms
        org_ids: list[str] = []
        refreshed = last_claim = 0.0
        while not stop.is_set():
            try:
                now = time.monotonic()
                if now - refreshed > 1.0:
                    org_ids = await self.hub.orgs.all_ids()
                    refreshed = now
                if now - last_claim > max(1.0, claim_idle_ms / 4000):
                    last_claim = now
                    for org_id in org_ids:
                        claimed = await self.queue.claim_abandoned(
                            org_id, self.consumer, claim_idle_ms, BATCH)
                        if claimed:
                            log.info("claimed abandoned archive entries",
                                     extra={"org": org_id, "count": len(claimed)})
                            await self.archive(org_id, claimed)
                full = False
                batches = await self.queue.read(org_ids, self.consumer, BATCH, 200)
                await settle([e for _, entries in batches for e in entries])
                for org_id, entries in batches:
                    await self.archive(org_id, entries)
                    full = full or len(entries) >= BATCH
                if not full:
                    await asyncio.sleep(LINGER_S)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The entries stay pending and are claimed again after claim_idle_ms.
                log.exception("archive loop error")
                await asyncio.sleep(1.0)

    async def archive(self, org_id: str, entries: list[Entry]) -> None:
        ids = sorted({i for _, ids, _, _ in entries for i in ids})
        copies = await self.queue.copies(org_id, ids) if ids else []
        await write_activities(self.db, copies)
        late = [e for _, _, e, _ in entries if e is not None]
        if late:
            # Redis' counters move after the commit: a crash in between loses
            # at most these few moves from the report (a replay finds the
            # callbacks already applied and moves nothing).
            changes = await apply_late_callbacks(self.db, org_id, late)
            await self.queue.count_late(org_id, changes)
        await archive_jobs(self.hub, org_id, [(eid, fields) for eid, _, _, fields in entries])
        await self.queue.ack(org_id, [eid for eid, _, _, _ in entries])


async def settle(entries: list[Entry]) -> None:
    """Wait until the newest entry is SETTLE_S old (stream ids start with
    Redis' clock in ms)."""
    if not entries:
        return
    newest_ms = max(int(eid.split("-", 1)[0]) for eid, _, _, _ in entries)
    wait = newest_ms / 1000 + SETTLE_S - time.time()
    if wait > 0:
        await asyncio.sleep(min(wait, SETTLE_S))
