"""Listening to the channels the scripts publish on (agents' events, orgs'
boards), on a standalone Redis or a Redis Cluster.

A standalone server has one pub/sub connection. On a cluster a channel
hashes to its org's slot and is listened to on the node holding that slot:
with SSUBSCRIBE where the scripts SPUBLISH (Redis >= 7, see
``sharded_pubsub``), with SUBSCRIBE on 6.2 (where PUBLISH reaches every node).
"""

from __future__ import annotations

import contextlib

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from hub.storage.redis import channel_node, pubsub_on, reload_slots, sharded_pubsub


class Subscription:
    """One pub/sub connection: to one node of a cluster, or to the standalone server."""

    def __init__(self, pubsub: PubSub, sharded: bool) -> None:
        self._pubsub = pubsub
        self._sharded = sharded
        self._kind = "smessage" if sharded else "message"

    @property
    def subscribed(self) -> bool:
        """Whether it listens to any channel (until then there is nothing to read)."""
        return bool(self._pubsub.subscribed)

    async def subscribe(self, *channels: str) -> None:
        if self._sharded:
            # One SSUBSCRIBE names channels of one slot; agents' channels of
            # one org share it, other orgs' may not.
            for channel in channels:
                await self._pubsub.ssubscribe(channel)
        else:
            await self._pubsub.subscribe(*channels)

    async def unsubscribe(self, channel: str) -> None:
        if self._sharded:
            await self._pubsub.sunsubscribe(channel)
        else:
            await self._pubsub.unsubscribe(channel)

    async def next_message(self, timeout: float) -> tuple[str, str] | None:
        """(channel, data) of the next message published, waiting up to
        ``timeout`` seconds; None when none came (or the connection read
        something else). A failed connection raises: subscribe again after
        ``PubSubNodes.reload_slots``."""
        message = await self._pubsub.get_message(timeout=timeout)
        if message is None or message.get("type") != self._kind:
            return None
        return str(message["channel"]), str(message["data"])

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self._pubsub.connection_pool.disconnect()


class PubSubNodes:
    """Where each channel is listened to, and a connection there."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._sharded = sharded_pubsub(client)

    def node_of(self, channel: str) -> str:
        """The node a subscriber to ``channel`` listens on ("" standalone)."""
        return channel_node(self._client, channel)

    def open(self, node: str) -> Subscription:
        """A new pub/sub connection to ``node`` (see ``node_of``)."""
        return Subscription(pubsub_on(self._client, node), self._sharded)

    async def reload_slots(self) -> None:
        """After a connection failed: read the cluster's slot map again (a
        failover or a moved slot changes ``node_of``)."""
        await reload_slots(self._client)
