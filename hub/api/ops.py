"""Health, readiness, metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.common import hub_of
from hub.storage import keys


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    hub = hub_of(request)
    checks: dict[str, str] = {}
    try:
        await hub.redis.ping()
        checks["redis"] = "ok"
    except Exception:
        checks["redis"] = "unreachable"
    workers = request.app.state.workers
    alive = sum(1 for t in workers if not t.done())
    checks["workers"] = f"{alive}/{len(workers)} alive"
    ready = checks["redis"] == "ok" and alive == len(workers)
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    hub = hub_of(request)
    org_ids = await hub.orgs.all_ids()
    depth = 0
    if org_ids:
        async with hub.redis.pipeline(transaction=False) as p:
            for org_id in org_ids:
                p.xlen(keys.outbound_stream(org_id))
            depth = sum(await p.execute())
    hub.metrics.stream_depth.set(depth)
    return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)
