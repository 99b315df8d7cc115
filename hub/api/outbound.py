"""Send requests, activities, the report and the contact timeline."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import current_org, hub_of, ok, page_limit
from hub.domain.phones import normalize_phone
from hub.domain.statuses import ActivityStatus
from hub.errors import InvalidPhone, InvalidRequest, NotFound
from hub.services import history, outbound, reports


async def send(request: Request) -> JSONResponse:
    org = await current_org(request)
    answer = await outbound.send_request(
        hub_of(request), org, await request.body(), request.headers.get("idempotency-key")
    )
    return ok(answer, 202)


async def list_activities(request: Request) -> JSONResponse:
    org = await current_org(request)
    status = request.query_params.get("status") or None
    if status is not None and status not in {s.value for s in ActivityStatus}:
        raise InvalidRequest(f"unknown status {status!r}", details={"field": "status"})
    items, cursor = await history.activities_page(
        hub_of(request), org["id"],
        config_id=request.query_params.get("configuration_id") or None,
        status=status,
        cursor=request.query_params.get("cursor") or None,
        limit=page_limit(request),
    )
    return ok({"items": items, "next_cursor": cursor})


async def get_activity(request: Request) -> JSONResponse:
    org = await current_org(request)
    activity = await history.activity(hub_of(request), org["id"], request.path_params["id"])
    if activity is None:
        raise NotFound("no such activity")
    return ok(activity)


async def report(request: Request) -> JSONResponse:
    org = await current_org(request)
    hub = hub_of(request)
    config_id = request.query_params.get("configuration_id")
    if not config_id:
        raise InvalidRequest("configuration_id is required", details={"field": "configuration_id"})
    if await hub.configurations.load(org["id"], config_id) is None:
        raise NotFound("no such configuration", details={"field": "configuration_id"})
    return ok(await reports.report(hub, org["id"], config_id))


async def timeline(request: Request) -> JSONResponse:
    org = await current_org(request)
    try:
        phone = normalize_phone(request.path_params["phone"], org["default_region"])
    except InvalidPhone:
        raise InvalidRequest("not a valid phone number", details={"field": "phone"}) from None
    items, cursor = await history.contact_timeline(
        hub_of(request), org["id"], phone, request.query_params.get("cursor"), page_limit(request)
    )
    return ok({"items": items, "next_cursor": cursor})
