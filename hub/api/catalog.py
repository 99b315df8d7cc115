"""Channels, templates and outbound configurations: per-org CRUD."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub import clock
from hub.api.common import current_org, hub_of, json_body, ok, page_limit, time_cursor
from hub.domain.catalog import check_configuration_refs
from hub.domain.kinds import CANNED_RESPONSES, CHANNELS, CONFIGURATIONS, TEMPLATES, Kind, Record, Stamp, UrlRule
from hub.domain.outbound_shapes import SegmentsRequest
from hub.domain.records import Channel, Configuration, Org
from hub.domain.segments import count_segments
from hub.domain.shapes import convert
from hub.errors import Conflict, InvalidRequest, NotFound
from hub.services.context import Hub
from hub.services.outbound import new_id
from hub.storage.catalog import CatalogStore

R = TypeVar("R", bound=Record)


# What the API does besides storing a record, per kind.
Check = Callable[[Hub, str, R], Awaitable[None]]
Changed = Callable[[Hub, R], None]
Extra = Callable[[Hub, R], Awaitable[dict[str, Any]]]


class Resource(Generic[R]):
    """The list/create/get/update/delete handlers of one kind of record."""

    def __init__(
        self,
        kind: Kind[R],
        store: Callable[[Hub], CatalogStore[R]],
        *,
        check: Check[R] | None = None,
        changed: Changed[R] | None = None,
        extra: Extra[R] | None = None,
    ) -> None:
        self.kind, self.store = kind, store
        # check: what the record names must exist; changed: after a change or
        # a deletion; extra: more of the record's state for GET.
        self.check, self.changed, self.extra = check, changed, extra

    async def _load(self, request: Request) -> tuple[Hub, Org, R]:
        org = await current_org(request)
        hub = hub_of(request)
        record = await self.store(hub).load(org.id, request.path_params["id"])
        if record is None:
            raise NotFound(f"no such {self.kind.label}")
        return hub, org, record

    def _validate(self, hub: Hub, body: Any, current: R | None, stamp: Stamp) -> R:
        urls = UrlRule(hub.settings.allowed_provider_hosts, hub.settings.trusted_provider_urls)
        return self.kind.validate(body, current, stamp, urls)

    async def create(self, request: Request) -> JSONResponse:
        org = await current_org(request)
        hub = hub_of(request)
        body = await json_body(request)
        record = self._validate(hub, body, None, Stamp(new_id(self.kind.prefix), org.id, time.time()))
        if self.check:
            await self.check(hub, org.id, record)
        await self.store(hub).save(org.id, record, new=True)
        return ok(record.public(), 201)

    async def list(self, request: Request) -> JSONResponse:
        org = await current_org(request)
        items, cursor = await self.store(hub_of(request)).page(
            org.id, after=time_cursor(request), limit=page_limit(request)
        )
        return ok({"items": [i.public() for i in items], "next_cursor": cursor and str(cursor)})

    async def get(self, request: Request) -> JSONResponse:
        hub, _org, record = await self._load(request)
        out = record.public()
        if self.extra:
            out.update(await self.extra(hub, record))
        return ok(out)

    async def update(self, request: Request) -> JSONResponse:
        hub, org, record = await self._load(request)
        body = await json_body(request)
        stamp = Stamp(record.id, org.id, record.created_at)
        updated = self._validate(hub, body, None if request.method == "PUT" else record, stamp)
        if self.check:
            await self.check(hub, org.id, updated)
        await _refuse_if_it_breaks_a_configuration(hub, org.id, self.kind, updated)
        await self.store(hub).save(org.id, updated)
        if self.changed:
            self.changed(hub, updated)
        return ok(updated.public())

    async def delete(self, request: Request) -> Response:
        hub, org, record = await self._load(request)
        await _refuse_if_in_use(hub, org.id, self.kind, record.id)
        await self.store(hub).delete(org.id, record.id)
        if self.changed:
            self.changed(hub, record)
        return Response(status_code=204)


async def _configurations_using(hub: Hub, org_id: str, kind: Kind[R], record_id: str) -> AsyncIterator[Configuration]:
    if kind.named_by is None:
        return
    after = None
    while True:
        configs, after = await hub.configurations.page(org_id, after=after, limit=200)
        for config in configs:
            if kind.named_by(config) == record_id:
                yield config
        if after is None:
            return


async def _refuse_if_in_use(hub: Hub, org_id: str, kind: Kind[R], record_id: str) -> None:
    async for config in _configurations_using(hub, org_id, kind, record_id):
        raise Conflict(
            f"{kind.label} is used by configuration {config.id}",
            details={"configuration_id": config.id},
        )


async def _refuse_if_it_breaks_a_configuration(hub: Hub, org_id: str, kind: Kind[R], updated: R) -> None:
    """A configuration's channel must keep its type and its template must keep allowing it."""
    if kind.suits is None:
        return
    async for config in _configurations_using(hub, org_id, kind, updated.id):
        try:
            kind.suits(config, updated)
        except InvalidRequest as exc:
            raise Conflict(
                f"{kind.label} is used by configuration {config.id}: {exc.message}",
                details={"configuration_id": config.id},
            ) from None


async def _configuration_refs(hub: Hub, org_id: str, config: Configuration) -> None:
    channel = await hub.channels.load(org_id, config.channel_id)
    template = await hub.templates.load(org_id, config.template_id)
    check_configuration_refs(config, channel, template)


async def _circuit(hub: Hub, channel: Channel) -> dict[str, Any]:
    """Whether its provider is taking messages, as the senders see it."""
    views = await hub.circuits.view(channel.org_id, [channel.id])
    return {"circuit": views[channel.id].state(clock.now_ms())}


channels = Resource(CHANNELS, lambda h: h.channels, changed=lambda h, c: h.directory.forget(c.id), extra=_circuit)
templates = Resource(TEMPLATES, lambda h: h.templates)
configurations = Resource(CONFIGURATIONS, lambda h: h.configurations, check=_configuration_refs)
canned_responses = Resource(CANNED_RESPONSES, lambda h: h.canned)


async def segments(request: Request) -> JSONResponse:
    """The encoding and SMS segments of a rendered body (the console's template
    preview asks, so that the rules live in one place)."""
    await current_org(request)
    asked = convert(await json_body(request), SegmentsRequest)
    return ok(count_segments(asked.body).as_json())
