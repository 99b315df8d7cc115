"""Health, readiness, metrics."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.common import hub_of
from hub.logs import get_logger

log = get_logger("hub.ops")


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    hub = hub_of(request)
    checks: dict[str, str] = {}
    try:
        await hub.stats.check_ready()
        checks["redis"] = "ok"
    except Exception as exc:
        log.warning("readiness: redis unreachable", extra={"error": repr(exc)})
        checks["redis"] = "unreachable"
    workers = request.app.state.workers
    alive = sum(1 for t in workers if not t.done())
    checks["workers"] = f"{alive}/{len(workers)} alive"
    ready = checks["redis"] == "ok" and alive == len(workers)
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


async def metrics(request: Request) -> Response:
    """Process counters, plus hub-wide figures read from Redis at scrape time."""
    hub = hub_of(request)
    stats = await hub.stats.figures(await hub.board.org_ids(), hub.board.partition_ids())
    m = hub.metrics
    m.stream_depth.set(stats.stream_depth)
    m.retries_waiting.set(stats.retries_waiting)
    m.open_circuits.set(stats.open_circuits)
    m.available_agents.set(stats.available_agents)
    m.waiting_conversations.set(stats.waiting)
    m.wait_to_assign.update(stats.wait_histograms)
    m.archive_backlog.set(stats.archive_backlog)
    oldest = stats.archive_oldest_ms
    m.archive_lag.set(max(0.0, time.time() - oldest / 1000) if oldest else 0.0)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
