"""Posting the event feed to the orgs' endpoints, in every hub process.

Each endpoint is delivered to by one process at a time: the one holding its
lease (taken when free, renewed while delivering, lapsing when its process
dies). That process reads the org's log after the endpoint's cursor, posts
the events of the types the endpoint wants, one per request and in order,
and moves the cursor past each one the receiver acknowledged (2xx) in the
same Redis step that checks the lease is still its own. A receiver that
fails is tried again after a backoff (1 s doubling to 10 minutes) for as
long as the log keeps the event (``HUB_EVENT_RETENTION_HOURS``, at least a
day). Only orgs with endpoints are looked at.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

import aiohttp

from hub import clock
from hub.domain.event_feed import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    backoff_s,
    delivered,
    id_before,
    signature_header,
)
from hub.domain.provider_urls import operator_vouches
from hub.logs import get_logger
from hub.providers.guard import guarded_connector, refused
from hub.services.context import Hub
from hub.storage.outage import redis_unavailable

log = get_logger("hub.events")

LEASE_MS = 30_000
PAGE = 100
ORG_REFRESH_S = 5.0
TRIM_EVERY_S = 60.0
POST_TIMEOUT_S = 10.0


def event_body(event_id: str, fields: dict[str, str]) -> bytes:
    """What the receiver gets: the event as one JSON object."""
    return json.dumps(
        {
            "id": event_id,
            "type": fields.get("type", ""),
            "created_at": int(fields.get("at") or 0) / 1000,
            "data": json.loads(fields.get("data") or "{}"),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def public_event(event_id: str, fields: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(event_body(event_id, fields)))


class EventDeliverer:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = hub.events
        self.owner = uuid.uuid4().hex
        self.poll_s = hub.settings.event_poll_s
        self.tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        # Told to the delivery tasks when the process stops (after `stop`, or
        # when this loop is cancelled): they finish the post under way.
        self._halt = asyncio.Event()
        self._trimmed: dict[str, float] = {}
        self._open: aiohttp.ClientSession | None = None
        self._guarded: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        """An endpoint was saved in this process: look for it now."""
        self._wake.set()

    def _session(self, url: str) -> aiohttp.ClientSession:
        assert self._open is not None and self._guarded is not None
        if operator_vouches(url, allowed_hosts=self.hub.settings.allowed_provider_hosts):
            return self._open
        return self._guarded

    async def run(self, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT_S)
        self._open = aiohttp.ClientSession(timeout=timeout)
        self._guarded = aiohttp.ClientSession(timeout=timeout, connector=guarded_connector())
        try:
            while not stop.is_set():
                try:
                    await self._look()
                except Exception as exc:  # Redis away: the next look tries again
                    if not redis_unavailable(exc):
                        log.error("event feed look failed", exc_info=exc)
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), ORG_REFRESH_S)
        finally:
            # A post under way finishes and its outcome is recorded before
            # the lease is given back: cut short, the receiver may have taken
            # the event without the cursor knowing, and would get it twice.
            self._halt.set()
            tasks = list(self.tasks.values())
            if tasks:
                await asyncio.wait(tasks, timeout=POST_TIMEOUT_S + 2)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._open.close()
            await self._guarded.close()

    async def _look(self) -> None:
        self.tasks = {k: t for k, t in self.tasks.items() if not t.done()}
        now = time.time()
        for org_id in await self.store.orgs():
            endpoint_ids = await self.store.endpoint_ids(org_id)
            if now - self._trimmed.get(org_id, 0.0) >= TRIM_EVERY_S:
                self._trimmed[org_id] = now
                left = await self.trim(org_id, now)
                if not endpoint_ids and left == 0:
                    await self.store.forget_org(org_id)
            for endpoint_id in endpoint_ids:
                if (org_id, endpoint_id) in self.tasks:
                    continue
                if await self.store.lease(org_id, endpoint_id, self.owner, "take", LEASE_MS):
                    self.tasks[(org_id, endpoint_id)] = asyncio.create_task(
                        self._deliver(org_id, endpoint_id, self._halt), name=f"events-{endpoint_id}"
                    )

    async def trim(self, org_id: str, now: float) -> int:
        min_ms = int((now - self.hub.settings.event_retention_hours * 3600) * 1000)
        return await self.store.trim(org_id, f"{max(min_ms, 0)}-0")

    async def _deliver(self, org_id: str, endpoint_id: str, stop: asyncio.Event) -> None:
        try:
            await self._deliver_loop(org_id, endpoint_id, stop)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not redis_unavailable(exc):
                log.error("event delivery failed", exc_info=exc, extra={"endpoint_id": endpoint_id})
        finally:
            with contextlib.suppress(Exception):
                await self.store.lease(org_id, endpoint_id, self.owner, "release", LEASE_MS)

    async def _deliver_loop(self, org_id: str, endpoint_id: str, stop: asyncio.Event) -> None:
        """Deliver to one endpoint while this process holds its lease."""
        store = self.store
        state = await store.delivery(org_id, endpoint_id)
        cursor = state.get("cursor") or "0-0"
        failures = int(state.get("failures") or 0)
        next_at = int(state.get("next_at") or 0) / 1000
        renew_at = endpoint_read_at = 0.0
        endpoint: dict[str, Any] | None = None
        while not stop.is_set():
            now = time.time()
            if now >= renew_at:
                if not await store.lease(org_id, endpoint_id, self.owner, "renew", LEASE_MS):
                    return
                renew_at = now + LEASE_MS / 3000
            if endpoint is None or now >= endpoint_read_at:
                endpoint = await store.get(org_id, endpoint_id)
                if endpoint is None:
                    return  # deleted
                endpoint_read_at = now + ORG_REFRESH_S
            if not endpoint.get("enabled") or now < next_at:
                wait = self.poll_s if not endpoint.get("enabled") else min(next_at - now, renew_at - now)
                await _sleep(stop, max(0.01, wait))
                continue
            events = await store.read(org_id, cursor, PAGE)
            if not events:
                await _sleep(stop, self.poll_s)
                continue
            floor = await store.floor(org_id)
            if floor is not None and id_before(cursor, floor):
                # Kept for longer than the retention without being taken: gone.
                log.warning(
                    "events expired before delivery",
                    extra={"endpoint_id": endpoint_id, "cursor": cursor, "floor": floor},
                )
                if not await store.record(org_id, endpoint_id, self.owner, "skip", cursor=floor):
                    return
                cursor = floor
            wanted = set(endpoint.get("event_types", ()))
            skipped = ""
            for event_id, fields in events:
                if stop.is_set():
                    break
                if fields.get("type") not in wanted:
                    skipped = event_id
                    continue
                error = await self._post(endpoint, event_id, fields)
                now_ms = clock.now_ms()
                if error is None:
                    failures, skipped = 0, ""
                    if not await store.record(org_id, endpoint_id, self.owner, "ok", cursor=event_id, now_ms=now_ms):
                        return
                    cursor = event_id
                    continue
                failures += 1
                next_at = time.time() + backoff_s(failures)
                if not await store.record(
                    org_id, endpoint_id, self.owner, "fail", now_ms=now_ms, next_at_ms=int(next_at * 1000), error=error
                ):
                    return
                break
            if skipped:
                if not await store.record(org_id, endpoint_id, self.owner, "skip", cursor=skipped):
                    return
                cursor = skipped

    async def _post(self, endpoint: dict[str, Any], event_id: str, fields: dict[str, str]) -> str | None:
        """Post one event; None when the receiver took it, else why not."""
        body = event_body(event_id, fields)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "messaging-hub-events/1",
            SIGNATURE_HEADER: signature_header(endpoint["secret"], int(time.time()), body),
            EVENT_ID_HEADER: event_id,
            EVENT_TYPE_HEADER: fields.get("type", ""),
        }
        try:
            async with self._session(endpoint["url"]).post(
                endpoint["url"], data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                return None if delivered(response.status) else f"http_{response.status}"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if refused(exc):
                return "url_forbidden"
            return f"unreachable: {type(exc).__name__}"


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
