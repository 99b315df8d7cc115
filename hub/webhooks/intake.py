"""Every provider webhook's path: find the channel, check the signature, apply;
when Redis cannot take it, journal it and answer as if applied.

A webhook whose signature checks out is never lost: if Redis fails while it
is applied (or hangs for ``REDIS_WAIT_S``: applying twice is harmless, a
replay is a no-op then), or the journal still holds older webhooks, it goes to the journal
(hub/services/journal.py) and the provider gets its usual answer once it is
on disk. The signature is checked against the channel as this process last
saw it (hub/services/directory.py). A channel this process never saw cannot
be checked while Redis is down: the raw webhook (body, signature, URL) is
journaled *unverified* and checked at replay, against the channel as Redis
then has it; one that fails is dropped and counted as rejected. Nothing is
applied unverified.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import State

from hub.domain import partitions as parts
from hub.domain.records import Channel
from hub.errors import Forbidden, NotFound
from hub.logs import get_logger
from hub.providers.base import InboundMessage, StatusEvent
from hub.services.context import Hub
from hub.services.directory import REDIS_WAIT_S
from hub.storage.outage import redis_unavailable

log = get_logger("hub.webhooks")


@dataclass(frozen=True)
class Received:
    """A webhook as it came: what its signature covers, and when."""

    family: str  # "twilio" or "telesign": the URL's provider part
    route: str  # "status" or "inbound": the URL's last part
    channel_id: str
    body: bytes
    url: str  # the public URL the provider called (Twilio signs it)
    signature: str
    at_ms: int

    @cached_property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def record(self, org_id: str | None) -> dict[str, Any]:
        """The journal record: verified when ``org_id`` is known (no signature kept then)."""
        return {
            "v": 1,
            "family": self.family,
            "route": self.route,
            "channel": self.channel_id,
            "org": org_id,
            "verified": org_id is not None,
            "at": self.at_ms,
            "url": self.url,
            "signature": "" if org_id else self.signature,
            "body": base64.b64encode(self.body).decode(),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Received:
        return cls(
            family=record["family"],
            route=record["route"],
            channel_id=record["channel"],
            body=base64.b64decode(record["body"]),
            url=record["url"],
            signature=record["signature"],
            at_ms=int(record["at"]),
        )


# A request's headers as ASGI gives them: lowercased names, raw bytes.
Headers = Sequence[tuple[bytes, bytes]]


def header(headers: Headers, name: bytes) -> str:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return ""


@dataclass(frozen=True)
class Answer:
    """What the provider is told: a status, and a body of a content type."""

    status: int
    body: bytes = b""
    content_type: bytes = b""


@dataclass(frozen=True)
class Parsed:
    kind: str  # "status" or "inbound": what the body is
    event: StatusEvent | InboundMessage


class Family(Protocol):
    """What differs between providers' webhooks."""

    name: str
    providers: tuple[str, ...]  # the channel providers it serves
    bad_signature: str
    signs_url: bool  # the signature covers the URL, its query included

    def signature(self, headers: Headers) -> str: ...

    def verify(self, channel: Channel, received: Received) -> bool: ...

    def parse(self, received: Received) -> Parsed:
        """Raises InvalidRequest for a body the hub cannot use."""
        ...

    def status(self, channel: Channel, event: StatusEvent) -> tuple[str, str] | None:
        """The hub status and error code a status event means (None: nothing to apply)."""
        ...

    def answer(self, kind: str) -> Answer: ...


def partition_hint(url: str) -> int:
    """The partition a status callback URL names (``?p=``; see
    ProviderPool.status_callback_url), 0 when none or not a partition number."""
    for name, value in parse_qsl(urlsplit(url).query):
        if name == "p" and value.isdigit() and 0 < int(value) < parts.MAX_PARTITIONS:
            return int(value)
    return 0


async def callback_unit(hub: Hub, family: Family, org_id: str, provider_id: str, url: str) -> str:
    """Where a status callback's activity lives: the org, or the partition the
    callback URL names. A partition the board does not know is not the
    org's: the org is used. When the signature does not cover the URL
    (TeleSign signs the body only), the name is only a guess: the partition
    whose pointer knows the provider id wins, and the guess only decides
    where a callback that came before its send was recorded waits."""
    named = partition_hint(url)
    hint = parts.unit(org_id, named)
    if named and not hub.board.knows_unit(hint):
        await hub.board.refresh()  # an org created since this process last listed them
        if not hub.board.knows_unit(hint):
            hint = org_id
    if family.signs_url:
        return hint
    candidates = hub.board.units_of(org_id)
    if len(candidates) <= 1:
        return hint
    found = await asyncio.gather(*(hub.activities.knows_provider_id(u, provider_id) for u in candidates))
    return next((u for u, hit in zip(candidates, found) if hit), hint)


async def apply(state: State, family: Family, channel: Channel, parsed: Parsed, at_ms: int, url: str = "") -> None:
    if isinstance(parsed.event, InboundMessage):
        # Stored once per provider message id, and routed, before the answer.
        await state.conversations.ingest(channel, parsed.event, received_ms=at_ms)
        return
    meaning = family.status(channel, parsed.event)
    if meaning is None:
        return
    hub: Hub = state.hub
    status, error_code = meaning
    unit = await callback_unit(hub, family, channel.org_id, parsed.event.provider_id, url)
    await hub.activities.apply_callback(unit, parsed.event.provider_id, status, at_ms, error_code)
    hub.board.poke(unit, "archive")
    hub.metrics.statuses.labels(channel.provider, status).inc()


async def handle(
    state: State, family: Family, route: str, channel_id: str, url: str, headers: Headers, body: bytes
) -> Answer:
    """One webhook: ``url`` is the public URL the provider called (its query
    included), ``body`` the raw body, read within the webhook limit."""
    hub: Hub = state.hub
    journal = state.journal
    started = time.perf_counter()
    received = Received(family.name, route, channel_id, body, url, family.signature(headers), int(time.time() * 1000))
    try:
        channel = await hub.directory.lookup(received.channel_id, stale_ok=journal.active)
    except Exception as exc:
        if not redis_unavailable(exc):
            raise
        parsed = family.parse(received)  # a body the hub cannot use is refused even now
        await journal.append(received.record(None))
        return family.answer(parsed.kind)
    if channel is None or channel.provider not in family.providers:
        hub.metrics.webhooks_rejected.labels(route).inc()
        raise NotFound("no such channel")
    if not family.verify(channel, received):
        hub.metrics.webhooks_rejected.labels(route).inc()
        raise Forbidden(family.bad_signature)
    parsed = family.parse(received)
    if not journal.active:
        try:
            async with asyncio.timeout(REDIS_WAIT_S):
                await apply(state, family, channel, parsed, received.at_ms, received.url)
        except Exception as exc:
            if not redis_unavailable(exc):
                raise
        else:
            hub.metrics.webhooks.labels(parsed.kind).observe(time.perf_counter() - started)
            return family.answer(parsed.kind)
    await journal.append(received.record(channel.org_id))
    return family.answer(parsed.kind)


async def replay(state: State, families: dict[str, Family], record: dict[str, Any]) -> bool:
    """Apply one journaled webhook (Redis answers again); unverified ones are
    checked first. False when it is dropped (unknown channel, bad signature)."""
    hub: Hub = state.hub
    received = Received.from_record(record)
    family = families[received.family]
    channel = await hub.directory.lookup(received.channel_id)
    if channel is None or channel.provider not in family.providers:
        hub.metrics.webhooks_rejected.labels(received.route).inc()
        log.warning("journaled webhook for an unknown channel dropped", extra={"channel": received.channel_id})
        return False
    if not record["verified"] and not family.verify(channel, received):
        hub.metrics.webhooks_rejected.labels(received.route).inc()
        log.warning("journaled webhook with a bad signature dropped", extra={"channel": received.channel_id})
        return False
    await apply(state, family, channel, family.parse(received), received.at_ms, received.url)
    return True
