"""Agent events across hub processes.

The storage scripts append each event to the agent's log and publish it on
the agent's channel. Each hub process subscribes to the channels of the
agents whose sockets it holds, and wakes those sockets. Pub/sub is only the
wake-up: a socket that sees a gap in the ids reads the log, so a lost
publish delays an event, never drops it.

On a standalone Redis that is one pub/sub connection. On a Redis Cluster a
channel (``hub:{org}:agent:…:notify``) hashes to its org's slot, and the
process keeps one pub/sub connection per node it has agents on, subscribed
to each channel on the node holding its slot: with SSUBSCRIBE where the
scripts SPUBLISH (Redis >= 7, where a publish stays on its shard), with
SUBSCRIBE on 6.2 (where PUBLISH reaches every node). A connection that
fails is opened again after the slot map is reloaded, so a node restarted
or a slot moved costs a wake-up, not an event. The connections are
``hub.storage.pubsub``'s; this module keeps who listens to which channel.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

from hub.logs import get_logger
from hub.storage.agents import notify_channel
from hub.storage.pubsub import PubSubNodes, Subscription

log = get_logger("hub.routing.fanout")

Listener = Callable[[str], Coroutine[Any, Any, None]]


class _Shard:
    """One pub/sub connection and the task reading it."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.channels: set[str] = set()
        self.reader: asyncio.Task[None] | None = None

    async def aclose(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        await self.subscription.aclose()


class Fanout:
    def __init__(self, nodes: PubSubNodes) -> None:
        self.nodes = nodes
        self.listeners: dict[str, set[Listener]] = defaultdict(set)
        self.shards: dict[str, _Shard] = {}  # by node name ("" standalone)
        self._lock = asyncio.Lock()
        # Deliveries in flight. A task per event rather than a queue and a
        # task per socket keeps idle sockets small; the sockets' own id
        # check puts events back in order.
        self._deliveries: set[asyncio.Task[None]] = set()

    def _shard(self, channel: str) -> _Shard:
        name = self.nodes.node_of(channel)
        shard = self.shards.get(name)
        if shard is None:
            shard = self.shards[name] = _Shard(self.nodes.open(name))
            shard.reader = asyncio.create_task(self._read(name, shard), name=f"fanout {name}")
        return shard

    async def subscribe(self, org_id: str, agent_id: str, listener: Listener) -> None:
        await self.subscribe_channel(notify_channel(org_id, agent_id), listener)

    async def unsubscribe(self, org_id: str, agent_id: str, listener: Listener) -> None:
        await self.unsubscribe_channel(notify_channel(org_id, agent_id), listener)

    async def subscribe_channel(self, channel: str, listener: Listener) -> None:
        """Any channel of an org's slot (an agent's, the org's board)."""
        async with self._lock:
            if not self.listeners[channel]:
                shard = self._shard(channel)
                shard.channels.add(channel)
                await shard.subscription.subscribe(channel)
            self.listeners[channel].add(listener)

    async def unsubscribe_channel(self, channel: str, listener: Listener) -> None:
        async with self._lock:
            self.listeners[channel].discard(listener)
            if not self.listeners[channel]:
                del self.listeners[channel]
                for shard in self.shards.values():
                    if channel in shard.channels:
                        shard.channels.discard(channel)
                        with contextlib.suppress(Exception):
                            await shard.subscription.unsubscribe(channel)

    async def _read(self, name: str, shard: _Shard) -> None:
        while True:
            try:
                if not shard.subscription.subscribed:
                    # Nothing to read until the first subscription is made.
                    await asyncio.sleep(0.05)
                    continue
                message = await shard.subscription.next_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pub/sub read failed; resubscribing", extra={"node": name})
                await asyncio.sleep(0.5)
                with contextlib.suppress(Exception):
                    await self._resubscribe(name, shard)
                continue
            if message is None:
                continue
            channel, data = message
            for listener in list(self.listeners.get(channel, ())):
                task = asyncio.create_task(listener(data))
                self._deliveries.add(task)
                task.add_done_callback(self._delivered)

    async def _resubscribe(self, name: str, shard: _Shard) -> None:
        """Subscribe this connection's channels again; on a cluster, on the
        node that holds each channel's slot now (a failover or a moved slot)."""
        async with self._lock:
            channels = [c for c in shard.channels if self.listeners.get(c)]
            await self.nodes.reload_slots()
            for channel in channels:
                target = self._shard(channel)
                if target is not shard:
                    shard.channels.discard(channel)
                    target.channels.add(channel)
                await target.subscription.subscribe(channel)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._deliveries.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The socket went away mid-send; its handler cleans up.
            log.debug("delivery failed", exc_info=task.exception())

    async def aclose(self) -> None:
        for shard in list(self.shards.values()):
            await shard.aclose()
        self.shards.clear()
