"""The archiver: copies every change of an activity or a conversation from
Redis to SQL, off the send and webhook paths (they only append an id to a
stream).

Every process runs one; it reads one org's stream at a time, when the work
board says (hub.services.workboard). A batch is read from the org's stream,
the records are loaded from Redis as they are now, written to SQL in one
transaction and only then acknowledged; a crash in between leaves the
entries pending, to be claimed and written again by any process, which
changes nothing the first write did (writes are idempotent, see
hub.storage.sql.activities).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time

from hub.domain import partitions
from hub.logs import get_logger
from hub.services.consent import archive_consent
from hub.services.context import Hub
from hub.services.conversation_archive import archive_conversations
from hub.services.job_history import archive_jobs
from hub.services.workboard import Look
from hub.storage.archive_queue import Entry
from hub.storage.sql.activities import LateCallback, apply_late_callbacks, ids_by_provider_id, write_activities
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
# Orgs looked at at once (each may wait up to SETTLE_S for its changes to settle).
LOOKS = 4


class Archiver:
    def __init__(self, hub: Hub) -> None:
        assert hub.history is not None
        self.hub = hub
        self.db: Database = hub.history
        self.queue = hub.archive_queue
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-archiver"

    async def run(self, stop: asyncio.Event) -> None:
        """One org's stream at a time, when the board says: soon after this
        process changed one of the org's activities (not within LINGER_S of
        the last read), at once after a full batch, every idle interval
        otherwise; abandoned entries every claim interval while any wait.
        Up to LOOKS orgs at once, so one org's wait for its changes to settle
        does not hold the others back."""
        board = self.hub.board
        claim_every = max(1.0, self.hub.settings.claim_idle_ms / 4000)
        board.configure("archive", min_gap=LINGER_S, claim_every=claim_every)
        looks: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                if len(looks) >= LOOKS:
                    await asyncio.wait(looks, return_when=asyncio.FIRST_COMPLETED)
                    continue
                look = await board.take("archive")
                if look is None:
                    continue
                task = asyncio.create_task(self._look(look, claim_every))
                looks.add(task)
                task.add_done_callback(looks.discard)
        finally:
            for task in list(looks):
                task.cancel()

    async def _look(self, look: Look, claim_every: float) -> None:
        claim_idle_ms = self.hub.settings.claim_idle_ms
        org_id, found, full, held, failed = look.org_id, False, False, False, False
        try:
            held = await self.queue.length(org_id) > 0
            if held and look.claim:
                claimed = await self.queue.claim_abandoned(org_id, self.consumer, claim_idle_ms, BATCH)
                if claimed:
                    log.info("claimed abandoned archive entries", extra={"org": org_id, "count": len(claimed)})
                    await self.archive(org_id, claimed)
                    found = True
            if held:
                entries = await self.queue.read(org_id, self.consumer, BATCH)
                if entries:
                    await settle(entries)
                    await self.archive(org_id, entries)
                    found, full = True, len(entries) >= BATCH
        except asyncio.CancelledError:
            raise
        except Exception:
            # The entries stay pending and are claimed again after claim_idle_ms.
            log.exception("archive loop error")
            failed = True
            await asyncio.sleep(1.0)
        finally:
            self.hub.board.done(
                look, found, more=full, failed=failed, due_ms=time.time() * 1000 + claim_every * 1000 if held else None
            )

    async def archive(self, unit: str, entries: list[Entry]) -> None:
        """``unit``: the org, or one of its partitions (hub.domain.partitions),
        whose archive stream the entries came from; SQL knows only the org."""
        org_id = partitions.org_of(unit)
        ids = sorted({i for e in entries for i in e.ids})
        copies = await self.queue.copies(unit, ids) if ids else []
        await write_activities(self.db, copies)
        await archive_conversations(self.hub, org_id, entries)
        late = await self.late_callbacks(unit, entries)
        if late:
            await apply_late_callbacks(self.db, org_id, late)
        await archive_jobs(self.hub, org_id, [(e.id, e.fields) for e in entries])
        await archive_consent(
            self.hub, org_id, [(e.id, e.fields["consent"]) for e in entries if e.fields.get("consent")]
        )
        await self.queue.ack(unit, [e.id for e in entries])

    async def late_callbacks(self, unit: str, entries: list[Entry]) -> list[LateCallback]:
        """The callbacks for activities no longer in Redis, in the order they
        came: those the scripts found by provider id, and those they did not
        know, found here by provider id in SQL. One whose activity is still
        in Redis (its callback beat the provider's answer) is applied there."""
        sids = [e.sid_late.provider_id for e in entries if e.sid_late is not None]
        found = await ids_by_provider_id(self.db, partitions.org_of(unit), sids) if sids else {}
        hot = await self.queue.hot(unit, sorted(set(found.values()))) if found else set()
        late: list[LateCallback] = []
        for e in entries:
            if e.late is not None:
                late.append(e.late)
            elif e.sid_late is not None:
                act = found.get(e.sid_late.provider_id)
                if act is not None and act not in hot:
                    late.append(LateCallback(act, e.sid_late.status, e.sid_late.at_ms, e.sid_late.error_code))
        return late


async def settle(entries: list[Entry]) -> None:
    """Wait until the newest entry is SETTLE_S old (stream ids start with
    Redis' clock in ms)."""
    if not entries:
        return
    newest_ms = max(int(e.id.split("-", 1)[0]) for e in entries)
    wait = newest_ms / 1000 + SETTLE_S - time.time()
    if wait > 0:
        await asyncio.sleep(min(wait, SETTLE_S))
