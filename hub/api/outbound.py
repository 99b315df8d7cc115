"""Send requests, activities, the report and the contact timeline."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.common import bearer, current_org, hub_of, ok, page_limit
from hub.domain.phones import normalize_phone
from hub.domain.statuses import ActivityStatus
from hub.errors import Forbidden, InvalidPhone, InvalidRequest, NotFound, Unauthorized
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
        hub_of(request),
        org.id,
        config_id=request.query_params.get("configuration_id") or None,
        status=status,
        cursor=request.query_params.get("cursor") or None,
        limit=page_limit(request),
        partitions=org.partitions,
    )
    return ok({"items": items, "next_cursor": cursor})


async def get_activity(request: Request) -> JSONResponse:
    org = await current_org(request)
    activity = await history.activity(hub_of(request), org.id, request.path_params["id"], partitions=org.partitions)
    if activity is None:
        raise NotFound("no such activity")
    return ok(activity)


async def _report(request: Request) -> dict[str, Any]:
    org = await current_org(request)
    hub = hub_of(request)
    config_id = request.query_params.get("configuration_id")
    if not config_id:
        raise InvalidRequest("configuration_id is required", details={"field": "configuration_id"})
    if await hub.configurations.load(org.id, config_id) is None:
        raise NotFound("no such configuration", details={"field": "configuration_id"})
    return await reports.report(hub, org.id, config_id, partitions=org.partitions)


async def report(request: Request) -> JSONResponse:
    return ok(await _report(request))


async def report_csv(request: Request) -> Response:
    """The report as CSV, one row per hour (default), template or locale."""
    group_by = request.query_params.get("group_by") or "hour"
    if group_by not in reports.GROUP_BY:
        raise InvalidRequest("group_by must be hour, template or locale", details={"field": "group_by"})
    body = reports.report_csv(await _report(request), group_by)
    name = f"report-{request.query_params['configuration_id']}-{group_by}.csv"
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


async def timeline(request: Request) -> JSONResponse:
    """The org's API key reads any contact; an agent's token only the
    customers it serves or has served."""
    hub = hub_of(request)
    token = bearer(request)
    org = await hub.orgs.for_key(token)
    agent_id = None
    if org is None:
        owner = await hub.agents.token_owner(token)
        org = await hub.orgs.load(owner[0]) if owner else None
        if owner is None or org is None:
            raise Unauthorized("unknown API key or agent token")
        agent_id = owner[1]
    try:
        phone = normalize_phone(request.path_params["phone"], org.default_region)
    except InvalidPhone:
        raise InvalidRequest("not a valid phone number", details={"field": "phone"}) from None
    if agent_id is not None and not await history.agent_may_read(hub, org.id, agent_id, phone):
        raise Forbidden(
            "agents read the history of customers they serve or have served",
            code="not_your_customer",
            details={"field": "phone"},
        )
    items, cursor = await history.contact_timeline(
        hub_of(request),
        org.id,
        phone,
        request.query_params.get("cursor"),
        page_limit(request),
        partitions=org.partitions,
    )
    return ok({"items": items, "next_cursor": cursor})
