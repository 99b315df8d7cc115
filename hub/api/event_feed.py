"""The event feed's API: an org's endpoints (CRUD; the secret is write-only)
and its event log (``GET /v1/events?after=``), for a consumer to replay
what it missed."""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub import clock
from hub.api.common import current_org, hub_of, json_body, ok, page_limit
from hub.domain.event_feed import MAX_ENDPOINTS, id_before, parse_event_id, public_endpoint, validate_endpoint
from hub.domain.records import Org
from hub.errors import Conflict, HubError, NotFound
from hub.services.context import Hub
from hub.services.event_feed import public_event
from hub.services.outbound import new_id
from hub.storage.event_feed import EndpointsFull

_ENDPOINT_ID = re.compile(r"ep_[0-9a-f]{1,40}")


class CursorExpired(HubError):
    code = "cursor_expired"
    status = 410


def _wake(request: Request) -> None:
    deliverer = getattr(request.app.state, "event_deliverer", None)
    if deliverer is not None:
        deliverer.wake()


async def _shown(hub: Hub, org_id: str, record: dict[str, Any]) -> dict[str, Any]:
    out = public_endpoint(record)
    state = await hub.events.delivery(org_id, record["id"])
    out["delivery"] = {
        "cursor": state.get("cursor") or None,
        "failures": int(state.get("failures") or 0),
        "next_attempt_at": (int(state["next_at"]) / 1000) if int(state.get("next_at") or 0) else None,
        "last_error": state.get("last_error") if int(state.get("failures") or 0) else None,
        "last_success_at": (int(state["last_success_at"]) / 1000) if state.get("last_success_at") else None,
    }
    return out


async def _load(request: Request) -> tuple[Hub, Org, dict[str, Any]]:
    org = await current_org(request)
    hub = hub_of(request)
    endpoint_id = request.path_params["id"]
    record = await hub.events.get(org.id, endpoint_id) if _ENDPOINT_ID.fullmatch(endpoint_id) else None
    if record is None:
        raise NotFound("no such event endpoint")
    return hub, org, record


async def create_endpoint(request: Request) -> JSONResponse:
    org = await current_org(request)
    hub = hub_of(request)
    if org.partitions > 1:
        # Activity events would be appended in the partitions' slots, which no deliverer reads.
        raise Conflict(
            "event endpoints are not supported for an org with several partitions", code="partitions_unsupported"
        )
    record = validate_endpoint(await json_body(request), allowed_hosts=hub.settings.allowed_provider_hosts)
    record.update(id=new_id("ep"), org_id=org.id, created_at=time.time())
    try:
        await hub.events.create(org.id, record, clock.now_ms())
    except EndpointsFull:
        raise Conflict(f"an org has at most {MAX_ENDPOINTS} event endpoints", code="too_many_endpoints") from None
    _wake(request)
    return ok(await _shown(hub, org.id, record), 201)


async def list_endpoints(request: Request) -> JSONResponse:
    org = await current_org(request)
    hub = hub_of(request)
    items = [await _shown(hub, org.id, e) for e in await hub.events.all(org.id)]
    return ok({"items": items, "next_cursor": None})


async def get_endpoint(request: Request) -> JSONResponse:
    hub, org, record = await _load(request)
    return ok(await _shown(hub, org.id, record))


async def update_endpoint(request: Request) -> JSONResponse:
    hub, org, record = await _load(request)
    updated = validate_endpoint(await json_body(request), record, allowed_hosts=hub.settings.allowed_provider_hosts)
    updated["updated_at"] = time.time()
    if not await hub.events.update(org.id, updated, clock.now_ms()):
        raise NotFound("no such event endpoint")
    _wake(request)
    return ok(await _shown(hub, org.id, updated))


async def delete_endpoint(request: Request) -> Response:
    hub, org, record = await _load(request)
    await hub.events.delete(org.id, record["id"], clock.now_ms())
    return Response(status_code=204)


async def list_events(request: Request) -> JSONResponse:
    """The org's events after ``after`` (exclusive; none: from the oldest
    kept), oldest first; 410 ``cursor_expired`` when events after it are gone."""
    org = await current_org(request)
    hub = hub_of(request)
    given = request.query_params.get("after")
    after = given or "0-0"
    parse_event_id(after)
    limit = page_limit(request, default=100, maximum=1000)
    floor = await hub.events.floor(org.id) if given else None
    if floor is not None and id_before(after, floor):
        raise CursorExpired(
            f"events after this cursor are no longer kept (HUB_EVENT_RETENTION_HOURS); the oldest kept follows {floor}",
            details={"field": "after", "oldest_after": floor},
        )
    entries = await hub.events.read(org.id, after, limit + 1)
    events = [public_event(event_id, fields) for event_id, fields in entries[:limit]]
    return ok({"events": events, "next_after": events[-1]["id"] if events else after, "has_more": len(entries) > limit})
