"""When each background loop of this process looks at each org.

Every loop (outbound and reply dispatchers, archiver, retry mover,
quiet-hours release, scheduler, bulk runners, presence sweeper) works one org at a time, so each
Redis read covers one org's keys (one Redis Cluster slot), and asks this
board which org to look at next:

- An org with work is looked at again at once; one whose look found nothing
  is looked at after HOT_S, then twice as long each time, up to the idle
  interval (``HUB_IDLE_CHECK_SECONDS``), spread a little so that orgs do not
  line up.
- Work this process accepts (a send, an agent's reply, a schedule, a bulk
  job...) pokes the org's loops here at once. It is also announced to the
  other processes on the wake stream (hub.storage.wake), at most once a
  second per org and kind, so a send accepted by one process can be sent by
  another within about a second, and at once when the org was idle.
- Work that falls due at a known time (a retry, a scheduled occurrence, a
  lease, an agent's grace period) is looked at when it falls due: the look
  tells the board when (``due_ms``).
- The idle interval is the safety net for what nobody announced (a process
  that died between accepting work and announcing it).

The orgs come from the global org set, read once a minute and whenever an
org is announced as new: no loop reads it per look.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hub.domain.partitions import is_partition, org_of
from hub.logs import get_logger
from hub.storage.orgs import OrgStore
from hub.storage.wake import WakeStream

log = get_logger("hub.workboard")

KINDS = ("outbound", "replies", "archive", "retries", "deferred", "schedule", "bulk", "presence", "policy")
# The loops that also look at the partitions (``org_…~p``) of an org that has
# several (hub.domain.partitions): each partition has its own outbound
# stream, retry set, quiet-hours set and archive stream; everything else is the org's.
PARTITION_KINDS = ("outbound", "archive", "retries", "deferred")
# A look that found work is followed by one after this long, doubling while
# nothing is found, up to the idle interval.
HOT_S = 0.1
# The same org and kind is announced to other processes at most this often.
ANNOUNCE_EVERY_S = 1.0
DIRECTORY_S = 60.0
LISTEN_BLOCK_MS = 20_000
# Orgs found at start are first looked at spread over this long.
START_SPREAD_S = 1.0
# A look that failed (Redis away) is tried again after this long.
RETRY_S = 1.0


@dataclass(frozen=True)
class Look:
    kind: str
    org_id: str
    claim: bool  # the kind's periodic extra (abandoned entries, a full sweep) is due
    started: float


class _Slot:
    __slots__ = ("next_at", "backoff", "taken", "again", "claim_at", "last")

    def __init__(self, next_at: float, backoff: float) -> None:
        self.next_at = next_at
        self.backoff = backoff
        self.taken = False
        self.again = False  # poked while being looked at
        self.claim_at = 0.0
        self.last = -math.inf


class _Kind:
    def __init__(self) -> None:
        self.slots: dict[str, _Slot] = {}
        self.changed = asyncio.Event()
        self.min_gap = 0.0  # never two looks at one org closer than this (unless full)
        self.claim_every = math.inf


class WorkBoard:
    def __init__(self, orgs: OrgStore, wake: WakeStream, *, idle_s: float) -> None:
        self.orgs = orgs
        self.wake = wake
        self.idle_s = idle_s
        self.origin = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._kinds = {k: _Kind() for k in KINDS}
        self._org_ids: set[str] = set()
        self._partitions: set[str] = set()
        self._partitioned_orgs: set[str] = set()
        self._listed = -math.inf
        self._outbox: dict[str, set[str]] = {}
        self._announced: dict[tuple[str, str], float] = {}
        self._flush = asyncio.Event()

    def configure(self, kind: str, *, min_gap: float | None = None, claim_every: float | None = None) -> None:
        k = self._kinds[kind]
        if min_gap is not None:
            k.min_gap = min_gap
        if claim_every is not None:
            k.claim_every = claim_every

    # -- the directory -----------------------------------------------------------------

    async def org_ids(self) -> list[str]:
        if time.monotonic() - self._listed > DIRECTORY_S:
            await self.refresh()
        return sorted(self._org_ids)

    async def refresh(self) -> None:
        found = set(await self.orgs.all_ids())
        # Listed before the orgs themselves are: a partition whose org is not
        # listed yet may be looked at already (its keys are all it needs).
        parts = set(await self.orgs.all_partitions())
        self._listed = time.monotonic()
        for unit_id in parts - self._partitions:
            self._add(unit_id, spread=START_SPREAD_S)
        for org_id in found - self._org_ids:
            self._add(org_id, spread=START_SPREAD_S)

    def _add(self, org_id: str, spread: float = 0.0) -> None:
        """An org, or one of its partitions (only the loops of PARTITION_KINDS look at those)."""
        partition = is_partition(org_id)
        (self._partitions if partition else self._org_ids).add(org_id)
        if partition:
            self._partitioned_orgs.add(org_of(org_id))
        now = time.monotonic()
        for name, k in self._kinds.items():
            if partition and name not in PARTITION_KINDS:
                continue
            if org_id not in k.slots:
                # First look soon (work may be waiting from before this process).
                k.slots[org_id] = _Slot(now + random.random() * spread, self.idle_s)
                k.changed.set()

    def knows_unit(self, unit_id: str) -> bool:
        """An org, or a partition of an org that has several, as last listed."""
        return unit_id in self._org_ids or unit_id in self._partitions

    def units_of(self, org_id: str) -> list[str]:
        """The org and its partitions (1 and up) as last listed."""
        return [org_id, *sorted(u for u in self._partitions if org_of(u) == org_id)]

    def partition_ids(self) -> list[str]:
        """The partitions (1 and up) of the orgs that have several, as last listed."""
        return sorted(self._partitions)

    def partitioned(self, org_id: str) -> bool:
        return org_id in self._partitioned_orgs

    # -- looks -------------------------------------------------------------------------

    async def take(self, kind: str, timeout: float = 1.0) -> Look | None:
        """The org to look at next for ``kind``, waiting up to ``timeout``.
        An org is taken by one looker at a time; give it back with ``done``."""
        k = self._kinds[kind]
        deadline = time.monotonic() + timeout
        while True:
            k.changed.clear()
            now = time.monotonic()
            best, best_at = None, math.inf
            for org_id, slot in k.slots.items():
                if not slot.taken and slot.next_at < best_at:
                    best, best_at = org_id, slot.next_at
            if best is not None and best_at <= now:
                slot = k.slots[best]
                slot.taken, slot.again, slot.last = True, False, now
                claim = now >= slot.claim_at
                if claim:
                    slot.claim_at = now + k.claim_every
                return Look(kind, best, claim, now)
            wait = min(best_at, deadline) - now
            if wait <= 0:
                return None
            try:
                await asyncio.wait_for(k.changed.wait(), wait)
            except TimeoutError:
                pass

    def done(
        self,
        look: Look,
        found: bool,
        *,
        more: bool = False,
        due_ms: float | None = None,
        known: bool = False,
        failed: bool = False,
    ) -> None:
        """``found``: the look found work (look again soon); ``more``: at once
        (a full batch); ``due_ms``: when something found falls due (wall clock,
        ms); ``known``: the look saw all there is, so without ``due_ms`` there
        is nothing until a poke or the idle interval; ``failed``: the look
        could not be made (Redis away): again after RETRY_S, cadence kept."""
        k = self._kinds[look.kind]
        slot = k.slots.get(look.org_id)
        if slot is None:
            return
        slot.taken = False
        now = time.monotonic()
        if failed:
            slot.next_at = now + RETRY_S
            k.changed.set()
            return
        if more:
            slot.backoff, slot.next_at = HOT_S, now
        elif found or slot.again:
            slot.backoff = HOT_S
            slot.next_at = max(now, look.started + k.min_gap)
        else:
            slot.backoff = self.idle_s if known else min(slot.backoff * 2, self.idle_s)
            spread = 0.75 + 0.25 * random.random() if slot.backoff >= self.idle_s else 1.0
            slot.next_at = now + slot.backoff * spread
        if due_ms is not None:
            at = now + max(0.0, due_ms / 1000 - time.time())
            slot.next_at = min(slot.next_at, max(at, look.started + k.min_gap))
        k.changed.set()

    def poke(self, org_id: str, *kinds: str) -> None:
        """This process has new work for the org: its loops look at once
        (not sooner than their minimum gap)."""
        if org_id not in self._org_ids and org_id not in self._partitions:
            self._add(org_id)
        now = time.monotonic()
        for kind in kinds:
            k = self._kinds.get(kind)
            if k is None or org_id not in k.slots:
                continue
            slot = k.slots[org_id]
            slot.backoff = HOT_S
            if slot.taken:
                slot.again = True
            else:
                slot.next_at = min(slot.next_at, max(now, slot.last + k.min_gap))
            k.changed.set()

    def announce(self, org_id: str, *kinds: str) -> None:
        """Poke here, and tell the other processes (at most once a second per org and kind)."""
        self.poke(org_id, *kinds)
        now = time.monotonic()
        for kind in kinds:
            if now - self._announced.get((org_id, kind), -math.inf) >= ANNOUNCE_EVERY_S:
                self._announced[(org_id, kind)] = now
                self._outbox.setdefault(org_id, set()).add(kind)
                self._flush.set()
        if len(self._announced) > 100_000:
            self._announced.clear()

    # -- other processes ----------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [
            asyncio.create_task(self._listen(stop), name="wake-listen"),
            asyncio.create_task(self._send(stop), name="wake-send"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.wake.aclose()

    async def _listen(self, stop: asyncio.Event) -> None:
        after: str | None = None
        while not stop.is_set():
            try:
                if time.monotonic() - self._listed > DIRECTORY_S:
                    await self.refresh()
                if after is None:
                    after = await self.wake.last_id()
                block = int(min(LISTEN_BLOCK_MS, max(1.0, DIRECTORY_S - (time.monotonic() - self._listed)) * 1000))
                for entry_id, org_id, kinds, origin in await self.wake.listen(after, block):
                    after = entry_id
                    if origin != self.origin and org_id:
                        self.poke(org_id, *kinds)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Meanwhile orgs are still looked at on their own cadence.
                log.warning("wake stream unreadable; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    async def _send(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._flush.wait()
            self._flush.clear()
            items, self._outbox = self._outbox, {}
            if not items:
                continue
            try:
                await self.wake.announce(self.origin, items.items())
            except asyncio.CancelledError:
                raise
            except Exception:
                # The others find the work at their next look at the org.
                log.warning("could not announce work to other processes", exc_info=True)
                await asyncio.sleep(1.0)


async def run_due_loop(
    board: WorkBoard,
    kind: str,
    stop: asyncio.Event,
    *,
    next_due_ms: Callable[[str], Awaitable[float | None]],
    release: Callable[[str], Awaitable[int]],
    wakes: tuple[str, ...],
    name: str,
) -> None:
    """One process's loop over an org-keyed set of work that falls due at a
    known time (retries, quiet-hours holds): each org is looked at when its
    first item falls due, as this process knows it, and every idle interval
    for what another process scheduled. ``release`` moves the org's due items
    on (atomically, so two processes never double one) and says how many;
    the loops in ``wakes`` are then woken here and in the other processes."""
    while not stop.is_set():
        look = await board.take(kind)
        if look is None:
            continue
        org_id, due_ms, failed = look.org_id, None, False
        try:
            due_ms = await next_due_ms(org_id)
            if due_ms is not None and due_ms <= time.time() * 1000:
                moved = await release(org_id)
                due_ms = await next_due_ms(org_id)
                if moved:
                    board.announce(org_id, *wakes)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s error", name)
            failed = True
            await asyncio.sleep(RETRY_S)  # Redis away: do not fill the log
        finally:
            board.done(look, False, due_ms=due_ms, known=True, failed=failed)
