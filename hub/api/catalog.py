"""Channels, templates and outbound configurations: per-org CRUD."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub import clock
from hub.api.common import current_org, hub_of, json_body, ok, page_limit, time_cursor
from hub.domain.catalog import (
    check_configuration_refs,
    public_channel,
    validate_channel,
    validate_configuration,
)
from hub.domain.segments import MAX_BODY_LENGTH, count_segments
from hub.domain.templates import validate_template
from hub.errors import Conflict, InvalidRequest, NotFound
from hub.services.context import Hub
from hub.services.outbound import new_id
from hub.settings import Settings
from hub.storage.catalog import CatalogStore


def _template_record(body: Any) -> dict[str, Any]:
    spec = validate_template(body)
    return {
        "name": spec.name,
        "channel_types": list(spec.channel_types),
        "default_locale": spec.default_locale,
        "bodies": spec.bodies,
        "content_sids": spec.content_sids,
    }


class Resource:
    """The list/create/get/update/delete handlers of one kind of record."""

    def __init__(
        self,
        kind: str,
        prefix: str,
        store: Callable[[Hub], CatalogStore],
        validate: Callable[[Any, dict[str, Any] | None, Settings], dict[str, Any]],
        public: Callable[[dict[str, Any]], dict[str, Any]] = dict,
    ) -> None:
        self.kind, self.prefix, self.store = kind, prefix, store
        self.validate, self.public = validate, public

    async def _check(self, hub: Hub, org_id: str, record: dict[str, Any]) -> None:
        if self.kind == "configuration":
            channel = await hub.channels.load(org_id, record["channel_id"])
            template = await hub.templates.load(org_id, record["template_id"])
            check_configuration_refs(record, channel, template)

    async def _load(self, request: Request) -> tuple[Hub, dict[str, Any], dict[str, Any]]:
        org = await current_org(request)
        hub = hub_of(request)
        record = await self.store(hub).load(org["id"], request.path_params["id"])
        if record is None:
            raise NotFound(f"no such {self.kind}")
        return hub, org, record

    async def create(self, request: Request) -> JSONResponse:
        org = await current_org(request)
        hub = hub_of(request)
        record = self.validate(await json_body(request), None, hub.settings)
        record.update(id=new_id(self.prefix), org_id=org["id"], created_at=time.time())
        await self._check(hub, org["id"], record)
        await self.store(hub).save(org["id"], record, new=True)
        return ok(self.public(record), 201)

    async def list(self, request: Request) -> JSONResponse:
        org = await current_org(request)
        items, cursor = await self.store(hub_of(request)).page(
            org["id"], after=time_cursor(request), limit=page_limit(request)
        )
        return ok({"items": [self.public(i) for i in items], "next_cursor": cursor and str(cursor)})

    async def get(self, request: Request) -> JSONResponse:
        hub, org, record = await self._load(request)
        out = self.public(record)
        if self.kind == "channel":
            # Whether its provider is taking messages, as the senders see it.
            views = await hub.circuits.view(org["id"], [record["id"]])
            out["circuit"] = views[record["id"]].state(clock.now_ms())
        return ok(out)

    async def update(self, request: Request) -> JSONResponse:
        hub, org, record = await self._load(request)
        body = await json_body(request)
        if request.method == "PUT":
            updated = self.validate(body, None, hub.settings)
        else:
            updated = self.validate(body, record, hub.settings)
        updated.update(id=record["id"], org_id=org["id"], created_at=record["created_at"])
        await self._check(hub, org["id"], updated)
        if self.kind in ("channel", "template"):
            await _refuse_if_it_breaks_a_configuration(hub, org["id"], self.kind, updated)
        await self.store(hub).save(org["id"], updated)
        if self.kind == "channel":
            hub.directory.forget(record["id"])
        return ok(self.public(updated))

    async def delete(self, request: Request) -> Response:
        hub, org, record = await self._load(request)
        if self.kind in ("channel", "template"):
            await _refuse_if_in_use(hub, org["id"], self.kind, record["id"])
        await self.store(hub).delete(org["id"], record["id"])
        if self.kind == "channel":
            hub.directory.forget(record["id"])
        return Response(status_code=204)


async def _configurations_using(hub: Hub, org_id: str, kind: str, record_id: str) -> AsyncIterator[dict[str, Any]]:
    after = None
    while True:
        configs, after = await hub.configurations.page(org_id, after=after, limit=200)
        for config in configs:
            if config.get(f"{kind}_id") == record_id:
                yield config
        if after is None:
            return


async def _refuse_if_in_use(hub: Hub, org_id: str, kind: str, record_id: str) -> None:
    async for config in _configurations_using(hub, org_id, kind, record_id):
        raise Conflict(
            f"{kind} is used by configuration {config['id']}",
            details={"configuration_id": config["id"]},
        )


async def _refuse_if_it_breaks_a_configuration(hub: Hub, org_id: str, kind: str, updated: dict[str, Any]) -> None:
    """A configuration's channel must keep its type and its template must keep allowing it."""
    async for config in _configurations_using(hub, org_id, kind, updated["id"]):
        channel = updated if kind == "channel" else await hub.channels.load(org_id, config["channel_id"])
        template = updated if kind == "template" else await hub.templates.load(org_id, config["template_id"])
        try:
            check_configuration_refs(config, channel, template)
        except InvalidRequest as exc:
            raise Conflict(
                f"{kind} is used by configuration {config['id']}: {exc.message}",
                details={"configuration_id": config["id"]},
            ) from None


def _channel(body: Any, current: dict[str, Any] | None, settings: Settings) -> dict[str, Any]:
    return validate_channel(
        body, current, allowed_hosts=settings.allowed_provider_hosts, trusted_urls=settings.trusted_provider_urls
    )


channels = Resource("channel", "ch", lambda h: h.channels, _channel, public_channel)
templates = Resource("template", "tpl", lambda h: h.templates, lambda b, _c, _s: _template_record(b))
configurations = Resource(
    "configuration", "cfg", lambda h: h.configurations, lambda b, c, _s: validate_configuration(b, c)
)


def _canned(body: Any, current: dict[str, Any] | None, _settings: Settings) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    merged = {**(current or {}), **body}
    title, text = merged.get("title"), merged.get("body")
    if not isinstance(title, str) or not title.strip() or len(title) > 100:
        raise InvalidRequest("title must be 1 to 100 characters", details={"field": "title"})
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_BODY_LENGTH:
        raise InvalidRequest(f"body must be 1 to {MAX_BODY_LENGTH} characters", details={"field": "body"})
    return {"title": title.strip(), "body": text}


canned_responses = Resource("canned response", "cr", lambda h: h.canned, _canned)


async def segments(request: Request) -> JSONResponse:
    """The encoding and SMS segments of a rendered body (the console's template
    preview asks, so that the rules live in one place)."""
    await current_org(request)
    body = await json_body(request)
    text = body.get("body") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text or len(text) > MAX_BODY_LENGTH:
        raise InvalidRequest(f"body must be 1 to {MAX_BODY_LENGTH} characters", details={"field": "body"})
    return ok(count_segments(text).as_json())
