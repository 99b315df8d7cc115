"""Webhooks Redis could not take: on disk before the provider gets its 200,
applied in order once Redis answers again.

Twilio never retries a status callback, so a webhook answered with an error
while Redis is down is lost for good. Instead the webhook is appended to this
process's journal (hub/storage/journal.py) and fsync'd; concurrent appends
share one fsync. While the journal holds records not applied yet, newer
webhooks queue behind them in the journal rather than going to Redis, so a
customer's messages keep their order.

The replayer wakes on every append and every ``RETRY_S``; when Redis answers a
PING it applies, oldest first, the files of dead processes it can lock, then
this process's own, each record through the same service calls as a live
webhook (``apply``). Replays are idempotent: an inbound message is stored once
per provider message id, and a status callback repeated adds nothing. A record
Redis still cannot take stops the round (it is tried again); a record that
fails for any other reason is logged and dropped, since trying it again would
fail again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hub.errors import HubError
from hub.logs import get_logger
from hub.metrics import Metrics
from hub.storage.journal import MAX_RECORD, DeadJournal, OwnJournal, encode, other_files
from hub.storage.outage import redis_unavailable

log = get_logger("journal")

RETRY_S = 0.5

# Applies one record; False when it was refused (its signature, its channel).
Apply = Callable[[dict[str, Any]], Awaitable[bool]]
# Whether Redis answers now (``hub.storage.outage.redis_answers`` on the hub's client).
Probe = Callable[[], Awaitable[bool]]


class JournalUnavailable(HubError):
    """The webhook could reach neither Redis nor the journal (disk full, or over
    ``HUB_JOURNAL_MAX_MB``): the provider is told to try again."""

    code = "journal_unavailable"
    status = 503


class WebhookJournal:
    def __init__(self, folder: Path, redis_answers: Probe, apply: Apply, *, max_bytes: int, metrics: Metrics) -> None:
        self.folder = folder
        self.redis_answers = redis_answers
        self.apply = apply
        self.max_bytes = max_bytes
        self.metrics = metrics
        self._file: OwnJournal | None = None
        self._applied = 0  # offset in our file up to which records are applied
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._pending_bytes = 0
        self._flushing: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._wake.set()  # look for dead processes' files at start

    @property
    def active(self) -> bool:
        """Records wait (on disk or on their way there): newer webhooks go behind them."""
        return (
            bool(self._pending)
            or self._flushing is not None
            or (self._file is not None and self._applied < self._file.size)
        )

    async def append(self, record: dict[str, Any]) -> None:
        """Returns once the record is on disk (fsync'd)."""
        line = encode(record)
        written = self._file.size if self._file else 0
        if len(line) > MAX_RECORD or written + self._pending_bytes + len(line) > self.max_bytes:
            self.metrics.journal.labels("refused").inc()
            raise JournalUnavailable("the webhook journal is full; try again later")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((line, future))
        self._pending_bytes += len(line)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush(), name="journal-flush")
        # Shielded: a caller that goes away does not cancel a write others share.
        await asyncio.shield(future)
        self.metrics.journal.labels("journaled" if record.get("verified") else "unverified").inc()
        self._wake.set()

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending, self._pending_bytes = self._pending, [], 0
                try:
                    if self._file is None:
                        self._file = await asyncio.to_thread(OwnJournal, self.folder)
                    added = await asyncio.to_thread(self._file.append, [line for line, _ in batch])
                except OSError as exc:
                    log.error("webhook journal write failed", exc_info=exc)
                    for _, future in batch:
                        future.set_exception(JournalUnavailable("the webhook journal cannot be written"))
                    continue
                self._file.size += added
                for _, future in batch:
                    future.set_result(None)
        finally:
            self._flushing = None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RETRY_S)
            self._wake.clear()
            others = other_files(self.folder, self._file.path if self._file else None)
            if not others and not self.active:
                continue
            try:
                if not await self.redis_answers():
                    await asyncio.sleep(RETRY_S)  # at most one PING per interval while it is down
                    continue
                for path in others:
                    await self._replay_dead(path)
                await self._replay_own()
            except Exception as exc:
                if not redis_unavailable(exc):
                    log.error("webhook journal replay failed", exc_info=exc)
                await asyncio.sleep(RETRY_S)

    async def _apply(self, record: dict[str, Any]) -> None:
        """Raises only when Redis cannot take the record (the round stops there)."""
        try:
            applied = await self.apply(record)
        except Exception as exc:
            if redis_unavailable(exc):
                raise
            self.metrics.journal.labels("failed").inc()
            log.error(
                "journaled webhook dropped",
                exc_info=exc,
                extra={"channel": record.get("channel"), "route": record.get("route")},
            )
            return
        self.metrics.journal.labels("replayed" if applied else "rejected").inc()

    async def _replay_dead(self, path: Path) -> None:
        dead = await asyncio.to_thread(DeadJournal.claim, path)
        if dead is None:
            return
        done = False
        try:
            offset = 0
            while True:
                records, after, bad = await asyncio.to_thread(dead.read, offset)
                self._count_bad(bad)
                for record, _ in records:
                    await self._apply(record)
                if after == offset:
                    break
                offset = after
            done = True
            log.info("replayed a dead process's webhook journal", extra={"file": path.name})
        finally:
            await asyncio.to_thread(dead.release, remove=done)

    async def _replay_own(self) -> None:
        while self._file is not None and self._applied < self._file.size:
            records, after, bad = await asyncio.to_thread(self._file.read, self._applied, self._file.size)
            self._count_bad(bad)
            for record, end in records:
                await self._apply(record)
                self._applied = end
            self._applied = after
        # Drained, and nothing on its way to the file: remove it (the next
        # append starts a new one). No await between the check and the swap.
        if self._file is not None and not self.active:
            done, self._file, self._applied = self._file, None, 0
            await asyncio.to_thread(done.close, remove=True)

    def _count_bad(self, bad: int) -> None:
        if bad:
            self.metrics.journal.labels("corrupt").inc(bad)
            log.error("webhook journal lines failed their checksum", extra={"count": bad})

    async def aclose(self) -> None:
        """Finish writing; keep the file if records still wait (the next
        process to start replays it), remove it otherwise."""
        while self._flushing is not None:
            await asyncio.shield(self._flushing)
        if self._file is not None:
            done, self._file = self._file, None
            await asyncio.to_thread(done.close, remove=self._applied >= done.size)
