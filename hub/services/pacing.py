"""Waiting for a channel's turn before each provider call, across all processes."""

from __future__ import annotations

import asyncio
import random

from hub.domain.pacing import horizon_ms, interval_ms, retry_in_s, valid_rate
from hub.domain.records import Channel
from hub.services.context import Hub


class Pacer:
    def __init__(self, hub: Hub) -> None:
        self.store = hub.pacing

    async def wait_turn(self, channel: Channel, *, interactive: bool = False) -> float:
        """Sleep until this message may go on ``channel``; returns the seconds waited.

        Redis is asked, never held: the script books a slot and answers at
        once, the wait happens here. ``interactive`` (an agent's reply) books
        however far ahead the channel is booked."""
        rate = channel.messages_per_second
        if rate is None or not valid_rate(rate):
            return 0.0
        interval = interval_ms(float(rate))
        limit = None if interactive else horizon_ms(interval)
        waited = 0.0
        while True:
            booked, wait_ms = await self.store.reserve(channel.org_id, channel.id, interval, limit)
            if booked:
                if wait_ms > 0:
                    await asyncio.sleep(wait_ms / 1000)
                return waited + wait_ms / 1000
            pause = retry_in_s(wait_ms, interval, random.random())
            await asyncio.sleep(pause)
            waited += pause
