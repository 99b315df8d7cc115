"""Flows: automated and scheduled flows, system events, and bulk jobs (instant
sends to a contact list in CSV or JSON lines)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from hub.api.common import current_org, hub_of, json_body, ok, page_limit, time_cursor
from hub.errors import InvalidRequest
from hub.services import bulk_jobs, flows


async def create_flow(request: Request) -> JSONResponse:
    org = await current_org(request)
    return ok(await flows.create_flow(hub_of(request), org, await json_body(request)), 201)


async def list_flows(request: Request) -> JSONResponse:
    org = await current_org(request)
    hub = hub_of(request)
    items, cursor = await hub.flows.page(org.id, after=time_cursor(request), limit=page_limit(request))
    shown = [await flows.public_flow(hub, flow, detail=False) for flow in items]
    return ok({"items": shown, "next_cursor": cursor and str(cursor)})


async def get_flow(request: Request) -> JSONResponse:
    org = await current_org(request)
    hub = hub_of(request)
    return ok(await flows.public_flow(hub, await flows.load_flow(hub, org, request.path_params["id"])))


async def patch_flow(request: Request) -> JSONResponse:
    org = await current_org(request)
    body = await json_body(request)
    return ok(await flows.set_enabled(hub_of(request), org, request.path_params["id"], body))


async def delete_flow(request: Request) -> Response:
    org = await current_org(request)
    await flows.delete_flow(hub_of(request), org, request.path_params["id"])
    return Response(status_code=204)


async def post_event(request: Request) -> JSONResponse:
    org = await current_org(request)
    return ok(await flows.handle_event(hub_of(request), org, await json_body(request)), 202)


# -- bulk jobs ------------------------------------------------------------------------


async def create_bulk_job(request: Request) -> JSONResponse:
    org = await current_org(request)
    job = await bulk_jobs.create_job(
        hub_of(request),
        org,
        request.query_params.get("configuration_id"),
        request.headers.get("content-type"),
        request.stream(),
    )
    return ok(job, 201)


async def list_bulk_jobs(request: Request) -> JSONResponse:
    org = await current_org(request)
    raw = request.query_params.get("cursor")
    if raw is not None and not raw.isdigit():
        raise InvalidRequest("cursor is not valid", details={"field": "cursor"})
    items, cursor = await bulk_jobs.list_jobs(hub_of(request), org, int(raw) if raw else None, page_limit(request))
    return ok({"items": items, "next_cursor": None if cursor is None else str(cursor)})


async def get_bulk_job(request: Request) -> JSONResponse:
    org = await current_org(request)
    return ok(await bulk_jobs.show_job(hub_of(request), org, request.path_params["id"]))


async def bulk_job_results(request: Request) -> StreamingResponse:
    org = await current_org(request)
    hub = hub_of(request)
    raw = await bulk_jobs.load_job(hub, org, request.path_params["id"])
    return StreamingResponse(
        bulk_jobs.results_csv(hub, org, raw),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{raw["id"]}-results.csv"'},
    )


async def cancel_bulk_job(request: Request) -> JSONResponse:
    org = await current_org(request)
    return ok(await bulk_jobs.cancel_job(hub_of(request), org, request.path_params["id"]))
