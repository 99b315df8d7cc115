"""Outbound workers: take jobs from the stream, send through the provider,
record the outcome.

Per batch: one script marks the activities `sending` (before any provider
call), the sends run concurrently, one script records the outcomes and
acknowledges the jobs. An activity found `sending` with no provider id was
being sent by a worker that died: the provider is asked whether it has that
message before anything is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import socket
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from hub.domain.statuses import retry_delay
from hub.errors import HubError, ProviderError
from hub.logs import get_logger
from hub.providers.base import OutboundMessage
from hub.services.context import Hub
from hub.services.pacing import Pacer
from hub.storage.activities import Job, SendResult
from hub.storage.queue import GROUP, OutboundQueue

log = get_logger("hub.dispatch")


def consumer_name(index: int) -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{index}"


def address(channel_type: str, number: str) -> str:
    return f"whatsapp:{number}" if channel_type == "whatsapp" else number


class Dispatcher:
    def __init__(self, hub: Hub, index: int) -> None:
        self.hub = hub
        self.queue = OutboundQueue(hub.redis)
        self.consumer = consumer_name(index)
        self.pacer = Pacer(hub)
        self._channels: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}
        self._last_claim = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.hub.settings
        org_ids: list[str] = []
        refreshed = 0.0
        while not stop.is_set():
            try:
                now = time.monotonic()
                # New orgs are picked up within one read timeout.
                if now - refreshed > 0.2:
                    org_ids = await self.hub.orgs.all_ids()
                    refreshed = now
                if now - self._last_claim > max(1.0, settings.claim_idle_ms / 4000):
                    self._last_claim = now
                    for org_id in org_ids:
                        claimed = await self.queue.claim_abandoned(
                            org_id, self.consumer, settings.claim_idle_ms, settings.worker_batch
                        )
                        if claimed:
                            log.info("claimed abandoned jobs", extra={"org": org_id, "count": len(claimed)})
                            await self.process(org_id, claimed)
                batches = await self.queue.read(org_ids, self.consumer, settings.worker_batch, 200)
                for org_id, entries in batches:
                    await self.process(org_id, entries)
                if not org_ids:
                    await asyncio.sleep(0.5)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch loop error")
                await asyncio.sleep(1.0)

    async def process(self, org_id: str, entries: list[tuple[str, str]]) -> None:
        now_ms = int(time.time() * 1000)
        entry_of = {act_id: eid for eid, act_id in entries}
        jobs = await self.hub.activities.mark_sending(org_id, now_ms, [a for _, a in entries])
        keeper = asyncio.create_task(self._keep_claimed(org_id, [eid for eid, _ in entries]))
        try:
            results = await asyncio.gather(
                *(self._send(org_id, job, entry_of[job.activity_id]) for job in jobs)
            )
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        settings = self.hub.settings
        await self.hub.activities.record_results(
            org_id, int(time.time() * 1000), GROUP, settings.retention_s,
            settings.correlation_window_s * 1000, results,
        )
        # Entries whose activity no longer exists: acknowledge them too.
        known = {j.activity_id for j in jobs}
        await self.queue.ack(org_id, [eid for eid, a in entries if a not in known])

    async def _keep_claimed(self, org_id: str, entry_ids: list[str]) -> None:
        interval = max(0.2, self.hub.settings.claim_idle_ms / 3000)
        while True:
            await asyncio.sleep(interval)
            await self.queue.keep_claimed(org_id, self.consumer, entry_ids)

    async def channel(self, org_id: str, channel_id: str) -> dict[str, Any] | None:
        key = (org_id, channel_id)
        cached = self._channels.get(key)
        if cached and time.monotonic() - cached[0] < 5.0:
            return cached[1]
        channel = await self.hub.channels.load(org_id, channel_id)
        self._channels[key] = (time.monotonic(), channel)
        return channel

    async def _send(self, org_id: str, job: Job, entry_id: str) -> SendResult:
        if job.state == "done":
            return SendResult(job.activity_id, entry_id, "done")
        channel = await self.channel(org_id, job.channel_id)
        if channel is None:
            return SendResult(job.activity_id, entry_id, "failed", error_code="channel_deleted")
        provider_name = channel["provider"]
        try:
            provider = await self.hub.providers.for_channel(channel)
        except HubError:
            return SendResult(job.activity_id, entry_id, "failed", error_code="provider_unsupported")
        to = address(job.channel_type, job.to)
        from_ = address(job.channel_type, job.from_)
        message = OutboundMessage(
            to=to,
            from_=from_,
            body=job.body,
            content_sid=job.content_sid or None,
            content_variables=job.content_vars or None,
            status_callback=self.hub.providers.status_callback_url(channel),
            external_id=job.activity_id,
        )
        attempts = self.hub.settings.max_send_attempts
        for attempt in range(attempts):
            try:
                if job.state == "recover":
                    since = datetime.fromtimestamp(job.created_ms / 1000, timezone.utc) - timedelta(minutes=1)
                    found = await provider.find_sent(to, from_, since, job.body, job.activity_id)
                    if found:
                        log.info("recovered a send made before a crash", extra={"activity": job.activity_id})
                        return SendResult(job.activity_id, entry_id, "accepted", found, "", "recovered")
                    job = _as_send(job)
                # The channel's pace, shared with every process, before each provider call.
                await self.pacer.wait_turn(channel)
                receipt = await provider.send(message)
                self.hub.metrics.sends.labels(provider_name, "accepted").inc()
                return SendResult(
                    job.activity_id, entry_id, "accepted", receipt.provider_id, "", receipt.provider_status
                )
            except ProviderError as exc:
                code = exc.provider_code or ""
                if not exc.retryable:
                    self.hub.metrics.sends.labels(provider_name, "rejected").inc()
                    return SendResult(job.activity_id, entry_id, "rejected", error_code=code)
                self.hub.metrics.sends.labels(provider_name, "retry").inc()
                if attempt + 1 == attempts:
                    self.hub.metrics.sends.labels(provider_name, "failed").inc()
                    return SendResult(job.activity_id, entry_id, "failed", error_code=code)
                if code == "timeout":
                    # The provider may have taken it without our seeing the answer.
                    job = _as_recover(job)
                await asyncio.sleep(
                    retry_delay(attempt, retry_after=exc.retry_after, rand=random.random())
                )
        raise AssertionError("unreachable")


def _as_send(job: Job) -> Job:
    return dataclasses.replace(job, state="send")


def _as_recover(job: Job) -> Job:
    return dataclasses.replace(job, state="recover")
