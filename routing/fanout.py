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
or a slot moved costs a wake-up, not an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from hub.logs import get_logger
from hub.storage.agents import notify_channel
from hub.storage.redis import channel_node, pubsub_on, reload_slots, sharded_pubsub

log = get_logger("routing.fanout")

Listener = Callable[[str], Coroutine[Any, Any, None]]


class _Shard:
    """One pub/sub connection and the task reading it."""

    def __init__(self, pubsub: PubSub, sharded: bool) -> None:
        self.pubsub = pubsub
        self.sharded = sharded
        self.channels: set[str] = set()
        self.reader: asyncio.Task[None] | None = None

    async def subscribe(self, *channels: str) -> None:
        if self.sharded:
            # One SSUBSCRIBE names channels of one slot; agents' channels of
            # one org share it, other orgs' may not.
            for channel in channels:
                await self.pubsub.ssubscribe(channel)
        else:
            await self.pubsub.subscribe(*channels)

    async def unsubscribe(self, channel: str) -> None:
        if self.sharded:
            await self.pubsub.sunsubscribe(channel)
        else:
            await self.pubsub.unsubscribe(channel)

    async def aclose(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
        with contextlib.suppress(Exception):
            await self.pubsub.connection_pool.disconnect()


class Fanout:
    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.sharded = sharded_pubsub(client)
        self.listeners: dict[str, set[Listener]] = defaultdict(set)
        self.shards: dict[str, _Shard] = {}  # by node name ("" standalone)
        self._lock = asyncio.Lock()
        # Deliveries in flight. A task per event rather than a queue and a
        # task per socket keeps idle sockets small; the sockets' own id
        # check puts events back in order.
        self._deliveries: set[asyncio.Task[None]] = set()

    def _shard(self, channel: str) -> _Shard:
        name = channel_node(self.client, channel)
        shard = self.shards.get(name)
        if shard is None:
            shard = self.shards[name] = _Shard(pubsub_on(self.client, name), self.sharded)
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
                await shard.subscribe(channel)
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
                            await shard.unsubscribe(channel)

    async def _read(self, name: str, shard: _Shard) -> None:
        kind = "smessage" if shard.sharded else "message"
        while True:
            try:
                if not shard.pubsub.subscribed:
                    # Nothing to read until the first subscription is made.
                    await asyncio.sleep(0.05)
                    continue
                message = await shard.pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pub/sub read failed; resubscribing", extra={"node": name})
                await asyncio.sleep(0.5)
                with contextlib.suppress(Exception):
                    await self._resubscribe(name, shard)
                continue
            if message is None or message.get("type") != kind:
                continue
            for listener in list(self.listeners.get(message["channel"], ())):
                task = asyncio.create_task(listener(message["data"]))
                self._deliveries.add(task)
                task.add_done_callback(self._delivered)

    async def _resubscribe(self, name: str, shard: _Shard) -> None:
        """Subscribe this connection's channels again; on a cluster, on the
        node that holds each channel's slot now (a failover or a moved slot)."""
        async with self._lock:
            channels = [c for c in shard.channels if self.listeners.get(c)]
            await reload_slots(self.client)
            for channel in channels:
                target = self._shard(channel)
                if target is not shard:
                    shard.channels.discard(channel)
                    target.channels.add(channel)
                await target.subscribe(channel)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._deliveries.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The socket went away mid-send; its handler cleans up.
            log.debug("delivery failed", exc_info=task.exception())

    async def aclose(self) -> None:
        for shard in list(self.shards.values()):
            await shard.aclose()
        self.shards.clear()
