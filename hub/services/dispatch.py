"""Outbound workers: take jobs from the stream, send through the provider,
record the outcome.

Per batch: one script marks the activities `sending` (before any provider
call), the sends run concurrently, one script records the outcomes and
acknowledges the jobs. An activity found `sending` with no provider id was
being sent by a worker that died: the provider is asked whether it has that
message before anything is sent again.

A provider that cannot take a message (unreachable, 429, 5xx, timeout) does
not hold the worker: the job leaves the stream for the org's retry set, due
after a backoff, and the activity shows `retrying` meanwhile; the retry mover
puts it back in the stream when due. Each channel has a circuit breaker
shared by every process, so a provider that is down is probed, not hammered.
Agents' replies are jobs too, in a stream of their own read by their own
workers, so they share the crash recovery without waiting behind bulk sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import socket
import time
from datetime import UTC, datetime, timedelta

from hub import clock
from hub.domain import partitions as parts
from hub.domain.records import Channel
from hub.domain.retries import deferred_ms, next_attempt_ms, retry_delay
from hub.errors import HubError, ProviderError
from hub.logs import get_logger
from hub.providers.base import OutboundMessage
from hub.services.context import Hub
from hub.services.directory import ChannelCache
from hub.services.pacing import Pacer
from hub.services.workboard import run_due_loop
from hub.storage.activities import Job, SendResult
from hub.storage.circuits import CircuitView
from hub.storage.queue import GROUP

log = get_logger("hub.dispatch")

# A send held back because another caller is probing the channel asks again
# within this long.
PROBE_WAIT_MS = 1000
# Reply workers per process (each sends a batch of replies concurrently).
REPLY_WORKERS = 2


def consumer_name(index: int, kind: str = "") -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{kind}{index}"


def address(channel_type: str, number: str) -> str:
    return f"whatsapp:{number}" if channel_type == "whatsapp" else number


@dataclasses.dataclass(frozen=True)
class Gate:
    """What the channel's circuit lets one job do in this batch."""

    verdict: str  # send | probe | defer
    until_ms: int = 0  # defer: when to come back
    view: CircuitView | None = None


class Dispatcher:
    def __init__(self, hub: Hub, index: int, *, replies: bool = False) -> None:
        self.hub = hub
        self.replies = replies
        self.queue = hub.reply_queue if replies else hub.outbound_queue
        self.consumer = consumer_name(index, "r" if replies else "")
        self.pacer = Pacer(hub)
        self.circuits = hub.circuits
        self._channels: ChannelCache[tuple[str, str]] = ChannelCache()
        self.kind = "replies" if replies else "outbound"

    async def run(self, stop: asyncio.Event) -> None:
        """Looks at one org's stream at a time, when the board says (see
        hub.services.workboard): at once when this process accepted a send or
        another announced one, soon after work was found, and every idle
        interval otherwise; abandoned jobs are looked for every claim
        interval while the stream holds any."""
        settings = self.hub.settings
        board = self.hub.board
        claim_every = max(1.0, settings.claim_idle_ms / 4000)
        board.configure(self.kind, claim_every=claim_every)
        while not stop.is_set():
            look = await board.take(self.kind)
            if look is None:
                continue
            org_id = look.org_id
            claimed: list[tuple[str, str]] = []
            entries: list[tuple[str, str]] = []
            held = False
            try:
                # Acknowledged jobs are deleted: an empty stream has nothing to read or claim.
                held = await self.queue.length(org_id) > 0
                if held and look.claim:
                    claimed = await self.queue.claim_abandoned(
                        org_id, self.consumer, settings.claim_idle_ms, settings.worker_batch
                    )
                if held:
                    entries = await self.queue.read(org_id, self.consumer, settings.worker_batch)
            except asyncio.CancelledError:
                board.done(look, False)
                raise
            except Exception:
                log.exception("dispatch loop error")
                board.done(look, False, failed=True)
                await asyncio.sleep(1.0)
                continue
            # Given back before sending: another worker may read the org's next batch meanwhile.
            board.done(look, bool(claimed or entries), due_ms=time.time() * 1000 + claim_every * 1000 if held else None)
            try:
                if claimed:
                    log.info("claimed abandoned jobs", extra={"org": org_id, "count": len(claimed)})
                    await self.process(org_id, claimed)
                if entries:
                    await self.process(org_id, entries)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch loop error")
                await asyncio.sleep(1.0)

    async def process(self, unit: str, entries: list[tuple[str, str]]) -> None:
        """``unit``: the org, or one of its partitions (hub.domain.partitions),
        whose stream the entries came from; the channels and their circuits
        are the org's."""
        org_id = parts.org_of(unit)
        entry_of = {act_id: eid for eid, act_id in entries}
        jobs = await self.hub.activities.mark_sending(unit, clock.now_ms(), [a for _, a in entries])
        keeper = asyncio.create_task(self._keep_claimed(unit, [eid for eid, _ in entries]))
        try:
            gates = await self._gates(org_id, jobs)
            results = await asyncio.gather(
                *(
                    self._send(org_id, job, entry_of[job.activity_id], gate, parts.partition_of(unit))
                    for job, gate in zip(jobs, gates)
                )
            )
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        settings = self.hub.settings
        await self.hub.activities.record_results(
            unit,
            clock.now_ms(),
            GROUP,
            settings.retention_s,
            settings.correlation_window_s * 1000,
            results,
            replies=self.replies,
        )
        retrying = any(r.outcome == "retry" for r in results)
        self.hub.board.poke(unit, "archive", *(["retries"] if retrying else []))
        # Entries whose activity no longer exists: acknowledge them too.
        known = {j.activity_id for j in jobs}
        await self.queue.ack(unit, [eid for eid, a in entries if a not in known])

    async def _gates(self, org_id: str, jobs: list[Job]) -> list[Gate]:
        """One look at each channel's circuit per batch: closed lets every job
        send; open holds them all back to its cool-down's end; half-open lets
        one job (of all processes) probe and holds the rest back shortly."""
        channels = sorted({j.channel_id for j in jobs if j.state != "done" and j.channel_id})
        if not channels:
            return [Gate("send") for _ in jobs]
        views = await self.circuits.view(org_id, channels)
        now = clock.now_ms()
        lease_ms = int((self.hub.settings.send_timeout_s + 5) * 1000)
        states: dict[str, str] = {}  # closed | open | probe (one job may) | wait
        for channel_id, circuit in views.items():
            state = circuit.state(now)
            if state == "half_open":
                answer = await self.circuits.take_probe(org_id, channel_id, now, lease_ms)
                state = answer if answer in ("closed", "probe") else "wait"
            states[channel_id] = state
        gates = []
        for job in jobs:
            view = views.get(job.channel_id)
            state = states.get(job.channel_id, "closed")
            if job.state == "done" or state == "closed":
                gates.append(Gate("send", view=view))
            elif state == "open" and view is not None:
                gates.append(Gate("defer", view.open_until_ms, view))
            elif state == "probe":
                gates.append(Gate("probe", view=view))
                states[job.channel_id] = "wait"
            else:
                gates.append(Gate("defer", now + PROBE_WAIT_MS, view))
        return gates

    async def _keep_claimed(self, org_id: str, entry_ids: list[str]) -> None:
        interval = max(0.2, self.hub.settings.claim_idle_ms / 3000)
        while True:
            await asyncio.sleep(interval)
            await self.queue.keep_claimed(org_id, self.consumer, entry_ids)

    async def channel(self, org_id: str, channel_id: str) -> Channel | None:
        key = (org_id, channel_id)
        found, channel = self._channels.get(key)
        if not found:
            channel = await self.hub.channels.load(org_id, channel_id)
            self._channels.put(key, channel)
        return channel

    async def _send(self, org_id: str, job: Job, entry_id: str, gate: Gate, partition: int = 0) -> SendResult:
        if job.state == "done":
            return SendResult(job.activity_id, entry_id, "done")
        channel = await self.channel(org_id, job.channel_id)
        if channel is None:
            return SendResult(job.activity_id, entry_id, "failed", error_code="channel_deleted")
        if gate.verdict == "defer":
            return self._deferred(job, entry_id, gate.until_ms)
        provider_name = channel.provider
        try:
            provider = await self.hub.providers.for_channel(channel)
        except HubError:
            return SendResult(job.activity_id, entry_id, "failed", error_code="provider_unsupported")
        to = address(job.channel_type, job.to)
        # A reply goes from the channel's number as it is now.
        from_ = address(job.channel_type, job.from_ or channel.address)
        message = OutboundMessage(
            to=to,
            from_=from_,
            body=job.body,
            content_sid=job.content_sid or None,
            content_variables=job.content_vars or None,
            status_callback=self.hub.providers.status_callback_url(channel, partition),
            media_urls=job.media_urls,
            external_id=job.activity_id,
        )
        state = job.state
        try:
            if state == "recover":
                since = datetime.fromtimestamp(job.created_ms / 1000, UTC) - timedelta(minutes=1)
                found = await provider.find_sent(to, from_, since, job.body, job.activity_id)
                if found:
                    log.info("recovered a send made before a crash", extra={"activity": job.activity_id})
                    await self._provider_answered(org_id, job.channel_id, gate)
                    return SendResult(job.activity_id, entry_id, "accepted", found, "", "recovered")
                state = "send"
            # The channel's pace, shared with every process, before each provider call;
            # an agent is waiting on a reply: it books however far ahead the channel is.
            await self.pacer.wait_turn(channel, interactive=self.replies)
            receipt = await provider.send(message)
        except ProviderError as exc:
            code = exc.provider_code or ""
            if not exc.retryable:
                self.hub.metrics.sends.labels(provider_name, "rejected").inc()
                await self._provider_answered(org_id, job.channel_id, gate)
                return SendResult(job.activity_id, entry_id, "rejected", error_code=code)
            await self._provider_failed(org_id, job.channel_id, gate)
            # After a timeout the provider may have taken it without our seeing the answer.
            return self._retry(
                job, entry_id, code, exc.retry_after, "recover" if code == "timeout" else state, provider_name
            )
        self.hub.metrics.sends.labels(provider_name, "accepted").inc()
        await self._provider_answered(org_id, job.channel_id, gate)
        return SendResult(job.activity_id, entry_id, "accepted", receipt.provider_id, "", receipt.provider_status)

    def _retry(
        self, job: Job, entry_id: str, code: str, retry_after: float | None, state: str, provider_name: str
    ) -> SendResult:
        settings = self.hub.settings
        attempts = job.attempts + 1
        delay = retry_delay(
            attempts - 1, cap=settings.send_retry_max_delay_s, retry_after=retry_after, rand=random.random()
        )
        at = next_attempt_ms(
            clock.now_ms(), job.first_attempt_ms or job.created_ms, settings.send_retry_window_s, delay
        )
        if at is None:
            self.hub.metrics.sends.labels(provider_name, "failed").inc()
            return SendResult(job.activity_id, entry_id, "failed", error_code=code)
        self.hub.metrics.sends.labels(provider_name, "retry").inc()
        return SendResult(
            job.activity_id, entry_id, "retry", error_code=code, next_at_ms=at, attempts=attempts, retry_state=state
        )

    def _deferred(self, job: Job, entry_id: str, until_ms: int) -> SendResult:
        """Held back by the channel's circuit: no provider call, no attempt counted."""
        settings = self.hub.settings
        now = clock.now_ms()
        due = deferred_ms(until_ms, PROBE_WAIT_MS, random.random())
        at = next_attempt_ms(
            now, job.first_attempt_ms or job.created_ms, settings.send_retry_window_s, (due - now) / 1000
        )
        code = job.last_error or "circuit_open"
        if at is None:
            return SendResult(job.activity_id, entry_id, "failed", error_code=code)
        return SendResult(
            job.activity_id,
            entry_id,
            "retry",
            error_code=code,
            next_at_ms=at,
            attempts=job.attempts,
            retry_state=job.state,
        )

    async def _provider_answered(self, org_id: str, channel_id: str, gate: Gate) -> None:
        """The provider is up: close the channel's circuit if it had counted failures."""
        if gate.verdict == "probe" or (gate.view is not None and gate.view.fails > 0):
            await self.circuits.close(org_id, channel_id)
            if gate.verdict == "probe":
                self.hub.metrics.circuit_changes.labels("closed").inc()
                log.info("provider answers again: circuit closed", extra={"channel": channel_id})

    async def _provider_failed(self, org_id: str, channel_id: str, gate: Gate) -> None:
        settings = self.hub.settings
        now = clock.now_ms()
        until, opened = await self.circuits.failure(
            org_id,
            channel_id,
            now,
            threshold=settings.circuit_threshold,
            cooldown_ms=int(settings.circuit_cooldown_s * 1000),
            probe=gate.verdict == "probe",
        )
        if opened:
            self.hub.metrics.circuit_changes.labels("open").inc()
            log.warning("provider failing: circuit open", extra={"channel": channel_id, "until_ms": until})


# A partitioned org's send request whose acceptance began this long ago and
# has not finished was cut short (a crash): the retry mover completes it.
ACCEPT_GRACE_MS = 30_000


async def retry_mover(hub: Hub, stop: asyncio.Event) -> None:
    """Puts sends whose next attempt is due back into their stream (every
    process runs one; the move is atomic, so they never double a job). For
    an org with several partitions it also completes the send requests
    whose acceptance a crash cut short (each step is idempotent)."""

    async def next_due_ms(unit: str) -> int | None:
        due = await hub.activities.next_retry_ms(unit)
        if hub.board.partitioned(unit):
            oldest = await hub.activities.oldest_accepting_ms(unit)
            if oldest is not None:
                due = min(due if due is not None else oldest + ACCEPT_GRACE_MS, oldest + ACCEPT_GRACE_MS)
        return due

    async def release(unit: str) -> int:
        moved = 0
        if hub.board.partitioned(unit):
            for record in await hub.activities.recover_accepting(unit, clock.now_ms() - ACCEPT_GRACE_MS):
                log.warning("completed a send request cut short", extra={"org": unit})
                for p in record["parts"]:
                    hub.board.announce(parts.unit(unit, int(p)), "outbound", "archive")
                moved += 1
        while (n := await hub.activities.move_due_retries(unit, clock.now_ms(), 1000)) > 0:
            moved += n
            if n < 1000:
                break
        return moved

    # Which stream they went to is in their ids: wake both kinds.
    await run_due_loop(
        hub.board,
        "retries",
        stop,
        next_due_ms=next_due_ms,
        release=release,
        wakes=("outbound", "replies"),
        name="retry mover",
    )
