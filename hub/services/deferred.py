"""Messages held by the recipient's quiet hours: released to the outbound
stream at their ``send_at``.

Every process runs one release loop. Each org is looked at when its first
held message falls due, as this process knows it (a send request it
accepted pokes it; one accepted elsewhere is announced), and every idle
interval as a safety net. The release is one script per batch that takes
each message out of the deferred set and puts it on the stream together, so
two processes looking at once never queue one twice; from there the stream's
consumer group gives it to one worker.
"""

from __future__ import annotations

import asyncio

from hub import clock
from hub.logs import get_logger
from hub.services.context import Hub
from hub.services.workboard import run_due_loop

log = get_logger("hub.deferred")

BATCH = 1000
HOUR_MS = 3_600_000


async def release_loop(hub: Hub, stop: asyncio.Event) -> None:
    async def release(org_id: str) -> int:
        queued = 0
        while True:
            taken, moved = await hub.activities.release_deferred(org_id, clock.now_ms(), BATCH, HOUR_MS)
            queued += moved
            if taken < BATCH:
                if queued:
                    log.info("quiet hours over: messages queued", extra={"org": org_id, "count": queued})
                return queued

    # This process's workers read the stream at once; the others are told.
    await run_due_loop(
        hub.board,
        "deferred",
        stop,
        next_due_ms=hub.activities.next_deferred_ms,
        release=release,
        wakes=("outbound",),
        name="deferred release",
    )
