"""HTTP for supervisors: agent metrics, read with the org's API key or a
supervisor's token (an agent's token is refused)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.common import bearer, hub_of
from hub.domain.agent_metrics import CSV_COLUMNS, day_range
from hub.errors import Forbidden, InvalidRequest, Unauthorized
from hub.services import agent_metrics


async def org_for_supervisor(request: Request) -> str:
    """The org of the org's API key, or of a supervisor's token."""
    hub = hub_of(request)
    token = bearer(request)
    org = await hub.orgs.for_key(token)
    if org is not None:
        return org.id
    owner = await hub.agents.token_owner(token)
    agent = await hub.agents.load(*owner) if owner else None
    if owner is None or agent is None:
        raise Unauthorized("unknown API key or agent token")
    if (agent.get("role") or "agent") != "supervisor":
        raise Forbidden("only supervisors (or the org's API key) may read this", code="supervisor_only")
    return owner[0]


async def metrics(request: Request) -> Response:
    org_id = await org_for_supervisor(request)
    q = request.query_params
    first, last = day_range(q.get("from"), q.get("to"), dt.datetime.now(dt.UTC).date())
    fmt = q.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InvalidRequest("format must be json or csv", details={"field": "format"})
    rows = await agent_metrics.metrics(hub_of(request), org_id, first, last, q.get("agent_id") or None)
    if fmt == "json":
        return JSONResponse({"from": first.isoformat(), "to": last.isoformat(), "items": rows})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    name = f"agent-metrics-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
