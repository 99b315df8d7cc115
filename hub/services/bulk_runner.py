"""Bulk job runners: every hub process runs a few; each works one job at a time.

A runner claims a job with a lease (``bulk_claim.lua``) and sends its chunks
through ``send_request`` with Idempotency-Key ``bulk:{job}:{chunk}``, keeping
a window of ``HUB_BULK_WINDOW`` chunks in flight. It records each chunk's
outcomes and the progress in one script, strictly in chunk order: a chunk
whose send finished early waits for the ones before it. It renews the lease
as it goes; if it dies, the lease lapses and another runner takes the job
over at the first chunk not recorded — and re-sending a chunk that was sent
but not recorded replays its first answer, so no contact is sent twice.

Chunks take the org's hourly budget in chunk order (``_Turn``): reading,
validating and rendering overlap, but a chunk is accepted only after the one
before it was, and is kept out (nothing stored) when that one was refused or
failed. So the chunks accepted are always the first ones, as with a window of
1, whatever order their sends run in. When the job is canceled meanwhile,
the chunks of the window already accepted (they go out) are still recorded,
in order, and the others are kept out.

Over the hourly limit (429) the runner records the chunks before the refused
one, lets the rest of the window finish (they are kept out), then waits out
Retry-After, keeping its lease and showing ``waiting`` on the job, and goes
on from the refused chunk; it tries again early if an admin changes the
org's hourly limit meanwhile. Any other request-level refusal (the
configuration was deleted, ...) fails the job with that error.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import deque
from typing import Any

from hub import clock
from hub.domain.contact_rows import outcome_rows
from hub.domain.flows import bulk_key
from hub.domain.records import Org
from hub.errors import HubError, RateLimited
from hub.logs import get_logger
from hub.services.bulk_jobs import BULK_TTL_S, finished_ttl_s
from hub.services.context import Hub
from hub.services.dispatch import consumer_name
from hub.services.flows import error_of
from hub.services.outbound import send_request

log = get_logger("hub.bulk")

POLL_S = 0.5
_MISSING = {"code": "job_data_missing", "message": "the job's contacts are gone"}


class _OutOfTurn(Exception):
    """A chunk kept out: the chunk before it was not accepted, or the runner stopped."""


class _Turns:
    """The order a job's chunks take the hourly budget in: chunk by chunk."""

    def __init__(self) -> None:
        self.last: asyncio.Future[bool] | None = None
        self.closed = False

    def take(self) -> _Turn:
        """The turn of the next chunk sent."""
        turn = _Turn(self, self.last)
        self.last = turn.accepted
        return turn

    def close(self) -> None:
        """The runner stops: every chunk not accepted yet is kept out."""
        self.closed = True


class _Turn:
    """One chunk's place in the order a job's chunks take the hourly budget."""

    def __init__(self, turns: _Turns, before: asyncio.Future[bool] | None) -> None:
        self.turns = turns
        self.before = before
        # True once this chunk's send was accepted (or replayed an accepted one).
        self.accepted: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    async def wait(self) -> None:
        """Until the chunk before has been accepted; raises if it was kept out or the runner stopped."""
        # shield: a send canceled while it waits must not cancel the chunk before's answer.
        if self.before is not None and not await asyncio.shield(self.before):
            raise _OutOfTurn
        if self.turns.closed:
            raise _OutOfTurn

    def done(self, accepted: bool) -> None:
        if not self.accepted.done():
            self.accepted.set_result(accepted)


async def _drain(window: deque[tuple[int, asyncio.Task[Any]]]) -> None:
    """Let the sends still in flight finish (their answers replay later through their keys)."""
    tasks = [task for _, task in window]
    window.clear()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        pass


class BulkRunner:
    def __init__(self, hub: Hub, index: int) -> None:
        self.hub = hub
        self.owner = f"{consumer_name(index)}-bulk-{secrets.token_hex(3)}"
        self.lease_ms = hub.settings.bulk_lease_ms
        self.window = hub.settings.bulk_window

    async def run(self, stop: asyncio.Event) -> None:
        """Looks at one org's jobs at a time, when the board says: when a job
        is created on any process, when the lease it last saw ends, and
        every idle interval."""
        board = self.hub.board
        while not stop.is_set():
            try:
                claimed = await self.claim()
                if claimed is not None:
                    await self.work(*claimed, stop)
                    # The org's next job, if any, is claimable now.
                    board.poke(claimed[0], "bulk")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bulk runner error")
                await _pause(stop, POLL_S)

    async def claim(self) -> tuple[str, str] | None:
        look = await self.hub.board.take("bulk")
        if look is None:
            return None
        org_id, won, next_ms, failed = look.org_id, False, None, False
        try:
            now_ms = clock.now_ms()
            free, next_ms = await self.hub.bulk_jobs.claimable(org_id, now_ms)
            for job_id, seen in free:
                if await self.hub.bulk_jobs.claim(org_id, job_id, seen, self.owner, now_ms + self.lease_ms, now_ms):
                    log.info("bulk job claimed", extra={"org": org_id, "job": job_id, "takeover": seen != 0})
                    won = True
                    return org_id, job_id
            return None
        except Exception:
            failed = True
            raise
        finally:
            # A job won: another runner may take the org's next one meanwhile.
            self.hub.board.done(look, won, due_ms=next_ms, known=True, failed=failed)

    async def work(self, org_id: str, job_id: str, stop: asyncio.Event) -> None:
        store = self.hub.bulk_jobs
        renewed = time.monotonic()
        while not stop.is_set():
            raw = await store.load(org_id, job_id)
            if raw is None or raw["status"] != "running" or raw.get("owner") != self.owner:
                return  # canceled, or taken over after a stall
            org = await self.hub.orgs.load(org_id)
            if org is None:
                await self._fail(org_id, job_id, _MISSING)
                return
            index, chunks = int(raw["next"]), int(raw["chunks"])
            window: deque[tuple[int, asyncio.Task[tuple[list[Any], Any] | None]]] = deque()
            turns = _Turns()
            try:
                while index < chunks or window:
                    # Keep the window full; sends of later chunks may finish first and wait.
                    while index < chunks and len(window) < self.window and not stop.is_set():
                        turn = turns.take()
                        window.append((index, asyncio.create_task(self._send(org, raw, job_id, index, turn))))
                        index += 1
                    if not window:
                        return
                    chunk, task = window.popleft()
                    try:
                        sent = await task
                    except RateLimited as exc:
                        await _drain(window)
                        if not await self._wait(org_id, job_id, org, exc.retry_after, stop):
                            return
                        renewed = time.monotonic()
                        break  # reload and go on from the refused chunk
                    except HubError as exc:
                        await _drain(window)
                        await self._fail(org_id, job_id, error_of(exc))
                        return
                    if sent is None:
                        await _drain(window)
                        await self._fail(org_id, job_id, _MISSING)
                        return
                    state = await self._record(org_id, job_id, raw, chunk, *sent)
                    if state in ("next", "stale") and time.monotonic() - renewed > self.lease_ms / 3000:
                        renewal = await store.renew(org_id, job_id, self.owner, clock.now_ms() + self.lease_ms)
                        state, renewed = (state if renewal == "ok" else renewal), time.monotonic()
                    if state in ("canceled", "failed"):
                        # Stopped meanwhile: the chunks already accepted go out, and say so.
                        turns.close()
                        await self._record_accepted(org_id, job_id, raw, window)
                        return
                    if state not in ("next", "stale"):
                        return  # done, or taken over ('lost': the new owner replays what we sent)
                else:
                    return
            finally:
                turns.close()
                await _drain(window)

    async def _send(
        self, org: Org, raw: dict[str, Any], job_id: str, index: int, turn: _Turn
    ) -> tuple[list[Any], Any] | None:
        accepted = False
        try:
            contacts = await self.hub.bulk_jobs.chunk(org.id, job_id, index)
            if contacts is None:
                return None
            body = json.dumps({"configuration_id": raw["cfg"], "contacts": contacts}).encode()
            answer = await send_request(self.hub, org, body, bulk_key(job_id, index), turn=turn.wait)
            accepted = True
            return contacts, answer
        finally:
            turn.done(accepted)  # the next chunk may take its turn (or is kept out)

    async def _record(
        self, org_id: str, job_id: str, raw: dict[str, Any], index: int, contacts: Any, answer: Any
    ) -> str:
        """Record one chunk: ``next``; ``done`` after the last; ``stale`` when recorded
        already; else the status of the job stopped meanwhile (it still records the chunk)."""
        rows, counts = outcome_rows(index * int(raw["chunk_size"]) + 1, contacts, answer)
        state = await self.hub.bulk_jobs.record_chunk(
            org_id, job_id, index, rows, counts, clock.now_ms(), BULK_TTL_S, finished_ttl_s(self.hub)
        )
        self.hub.board.poke(org_id, "archive")  # the chunk's outcomes, for the SQL history
        if state == "done":
            log.info("bulk job done", extra={"org": org_id, "job": job_id})
        return state

    async def _record_accepted(
        self,
        org_id: str,
        job_id: str,
        raw: dict[str, Any],
        window: deque[tuple[int, asyncio.Task[tuple[list[Any], Any] | None]]],
    ) -> None:
        """Record the chunks of the window that were accepted (the first ones), in order."""
        while window:
            chunk, task = window.popleft()
            try:
                sent = await task
            except Exception:
                return  # kept out, or refused: so are the ones after it
            if sent is None or await self._record(org_id, job_id, raw, chunk, *sent) == "stale":
                return

    async def _wait(self, org_id: str, job_id: str, org: Org, retry_after: int, stop: asyncio.Event) -> bool:
        """Sit out the hourly limit, holding the job; False when the job is no longer ours."""
        until_ms = clock.now_ms() + retry_after * 1000
        limit = org.limits["requests_per_hour"]
        log.info(
            "bulk job waits for the hourly limit", extra={"org": org_id, "job": job_id, "retry_after": retry_after}
        )
        while not stop.is_set() and clock.now_ms() < until_ms:
            state = await self.hub.bulk_jobs.renew(org_id, job_id, self.owner, clock.now_ms() + self.lease_ms, until_ms)
            if state != "ok":
                return False
            await _pause(stop, min(1.0, (until_ms - clock.now_ms()) / 1000))
            fresh = await self.hub.orgs.load(org_id)
            if fresh is not None and fresh.limits["requests_per_hour"] != limit:
                break  # the limit changed: try now rather than at the old Retry-After
        return not stop.is_set()

    async def _fail(self, org_id: str, job_id: str, error: dict[str, Any]) -> None:
        await self.hub.bulk_jobs.stop(
            org_id, job_id, "failed", clock.now_ms(), finished_ttl_s(self.hub), error=error, owner=self.owner
        )
        self.hub.board.poke(org_id, "archive")
        log.warning("bulk job failed", extra={"org": org_id, "job": job_id, "code": error["code"]})
