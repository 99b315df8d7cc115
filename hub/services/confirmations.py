"""The one confirmation an opt-out or opt-in keyword gets, sent straight
through the channel's provider (the customer just opted out, so the outbound
path, which skips opted-out numbers, is not the way). Whether the hub sends
it is the channel's ``keyword_replies`` (hub.domain.keywords.hub_confirms).

The caller sends it only for an inbound message stored for the first time, so
a repeated or replayed webhook (same provider message id) sends nothing; a
process that dies before the provider answers sends none (at most once, never
twice).
"""

from __future__ import annotations

import asyncio
import random

from hub.domain.keywords import CONFIRMATIONS, Keyword, hub_confirms
from hub.domain.records import Channel
from hub.domain.retries import retry_delay
from hub.errors import HubError, ProviderError
from hub.logs import get_logger
from hub.providers.base import OutboundMessage
from hub.services.context import Hub
from hub.services.dispatch import address
from hub.services.pacing import Pacer

log = get_logger("confirmations")


class KeywordConfirmations:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.pacer = Pacer(hub)
        self._tasks: set[asyncio.Task[None]] = set()

    def confirm(self, channel: Channel, customer: str, keyword: Keyword) -> None:
        """Send it in the background: the webhook's answer does not wait on the provider."""
        if not hub_confirms(channel):
            return
        task = asyncio.create_task(self._send(channel, customer, CONFIRMATIONS[keyword]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, channel: Channel, customer: str, body: str) -> None:
        message = OutboundMessage(
            to=address(channel.type, customer), from_=address(channel.type, channel.address), body=body
        )
        attempts = self.hub.settings.max_send_attempts
        try:
            provider = await self.hub.providers.for_channel(channel)
            for attempt in range(attempts):
                try:
                    await self.pacer.wait_turn(channel, interactive=True)
                    await provider.send(message)
                    log.info("keyword confirmed", extra={"channel": channel.id})
                    return
                except ProviderError as exc:
                    if not exc.retryable or attempt + 1 == attempts:
                        raise
                    await asyncio.sleep(retry_delay(attempt, retry_after=exc.retry_after, rand=random.random()))
        except HubError as exc:
            log.warning("keyword confirmation not sent", extra={"channel": channel.id, "code": exc.code})
        except Exception as exc:  # a background task: nobody else would see it
            log.error("keyword confirmation not sent", exc_info=exc, extra={"channel": channel.id})

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
