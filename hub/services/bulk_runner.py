"""Bulk job runners: every hub process runs a few; each works one job at a time.

A runner claims a job with a lease (``bulk_claim.lua``) and sends it chunk by
chunk through ``send_request`` with Idempotency-Key ``bulk:{job}:{chunk}``,
recording each chunk's outcomes and the progress in one script. It renews
the lease as it goes; if it dies, the lease lapses and another runner takes
the job over at the first chunk not recorded — and re-sending that chunk
replays the first answer, so no contact is sent twice.

Over the hourly limit (429) the runner waits out Retry-After, keeping its
lease and showing ``waiting`` on the job; it tries again early if an admin
changes the org's hourly limit meanwhile. Any other request-level refusal
(the configuration was deleted, ...) fails the job with that error.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
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
            index, size = int(raw["next"]), int(raw["chunk_size"])
            if index >= int(raw["chunks"]):
                return
            if time.monotonic() - renewed > self.lease_ms / 3000:
                if await store.renew(org_id, job_id, self.owner, clock.now_ms() + self.lease_ms) != "ok":
                    return
                renewed = time.monotonic()
            org = await self.hub.orgs.load(org_id)
            contacts = await store.chunk(org_id, job_id, index)
            if org is None or contacts is None:
                await self._fail(org_id, job_id, {"code": "job_data_missing", "message": "the job's contacts are gone"})
                return
            body = json.dumps({"configuration_id": raw["cfg"], "contacts": contacts}).encode()
            try:
                answer = await send_request(self.hub, org, body, bulk_key(job_id, index))
            except RateLimited as exc:
                if not await self._wait(org_id, job_id, org, exc.retry_after, stop):
                    return
                renewed = time.monotonic()
                continue
            except HubError as exc:
                await self._fail(org_id, job_id, error_of(exc))
                return
            rows, counts = outcome_rows(index * size + 1, contacts, answer)
            state = await store.record_chunk(
                org_id, job_id, index, rows, counts, clock.now_ms(), BULK_TTL_S, finished_ttl_s(self.hub)
            )
            self.hub.board.poke(org_id, "archive")  # the chunk's outcomes, for the SQL history
            if state == "done":
                log.info("bulk job done", extra={"org": org_id, "job": job_id})
            if state not in ("next", "stale"):
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
