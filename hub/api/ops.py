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
    """Process counters, plus hub-wide figures read from Redis at scrape time."""
    hub = hub_of(request)
    org_ids = await hub.orgs.all_ids()
    async with hub.redis.pipeline(transaction=False) as p:
        for org_id in org_ids:
            prefix = keys.org_prefix(org_id)
            p.xlen(keys.outbound_stream(org_id))
            p.scard(f"{prefix}:agents:available")
            p.hgetall(f"{prefix}:stats:wait")
            p.smembers(f"{prefix}:queues")
        rows = await p.execute() if org_ids else []
    depth = available = 0
    waits: list[dict[str, str]] = []
    queues: list[tuple[str, str]] = []
    for index, org_id in enumerate(org_ids):
        xlen, agents, wait, org_queues = rows[index * 4: index * 4 + 4]
        depth += int(xlen)
        available += int(agents)
        waits.append(wait)
        queues += [(org_id, q) for q in org_queues]
    async with hub.redis.pipeline(transaction=False) as p:
        for org_id, queue in queues:
            p.zcard(f"{keys.org_prefix(org_id)}:q:{queue}:waiting")
        waiting = sum(await p.execute()) if queues else 0
    m = hub.metrics
    m.stream_depth.set(depth)
    m.available_agents.set(available)
    m.waiting_conversations.set(waiting)
    m.wait_to_assign.update(waits)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
