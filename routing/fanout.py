"""Agent events across hub processes.

The storage scripts append each event to the agent's log and PUBLISH it on
the agent's channel. Each hub process subscribes (one pub/sub connection)
to the channels of the agents whose sockets it holds, and wakes those
sockets. Pub/sub is only the wake-up: a socket that sees a gap in the ids
reads the log, so a lost publish delays an event, never drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Awaitable, Callable

import redis.asyncio as aioredis

from hub.logs import get_logger
from hub.storage.agents import notify_channel
from hub.storage.redis import pubsub_of

log = get_logger("routing.fanout")

Listener = Callable[[str], Awaitable[None]]


class Fanout:
    def __init__(self, client: aioredis.Redis) -> None:
        self.pubsub = pubsub_of(client)
        self.listeners: dict[str, set[Listener]] = defaultdict(set)
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        # Deliveries in flight. A task per event rather than a queue and a
        # task per socket keeps idle sockets small; the sockets' own id
        # check puts events back in order.
        self._deliveries: set[asyncio.Task[None]] = set()

    async def subscribe(self, org_id: str, agent_id: str, listener: Listener) -> None:
        channel = notify_channel(org_id, agent_id)
        async with self._lock:
            if not self.listeners[channel]:
                await self.pubsub.subscribe(channel)
            self.listeners[channel].add(listener)
            if self._reader is None:
                self._reader = asyncio.create_task(self._read(), name="fanout")

    async def unsubscribe(self, org_id: str, agent_id: str, listener: Listener) -> None:
        channel = notify_channel(org_id, agent_id)
        async with self._lock:
            self.listeners[channel].discard(listener)
            if not self.listeners[channel]:
                del self.listeners[channel]
                await self.pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pub/sub read failed; resubscribing")
                await asyncio.sleep(0.5)
                with contextlib.suppress(Exception):
                    await self.pubsub.subscribe(*self.listeners.keys())
                continue
            if message is None or message.get("type") != "message":
                continue
            for listener in list(self.listeners.get(message["channel"], ())):
                task = asyncio.create_task(listener(message["data"]))
                self._deliveries.add(task)
                task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._deliveries.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The socket went away mid-send; its handler cleans up.
            log.debug("delivery failed", exc_info=task.exception())

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.pubsub.aclose()
        await self.pubsub.connection_pool.disconnect()
