"""Orgs: created and changed with the admin token."""

from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import hub_of, json_body, ok, require_admin
from hub.domain.catalog import validate_org, validate_org_patch
from hub.errors import NotFound
from hub.services.outbound import new_id


def _public(org: dict[str, Any]) -> dict[str, Any]:
    out = {k: org[k] for k in ("id", "name", "limits", "default_region", "created_at")}
    return {**out, "quiet_hours": org.get("quiet_hours")}


async def create_org(request: Request) -> JSONResponse:
    require_admin(request)
    data = validate_org(await json_body(request))
    org = {"id": new_id("org"), **data, "created_at": time.time()}
    api_key = "hk_" + secrets.token_urlsafe(32)
    hub = hub_of(request)
    await hub.orgs.create(org, api_key)
    hub.board.announce(org["id"], "org")  # every process's loops take the new org in now
    return ok({**_public(org), "api_key": api_key}, 201)


async def get_org(request: Request) -> JSONResponse:
    require_admin(request)
    org = await hub_of(request).orgs.load(request.path_params["org_id"])
    if org is None:
        raise NotFound("no such org")
    return ok(_public(org))


async def patch_org(request: Request) -> JSONResponse:
    require_admin(request)
    hub = hub_of(request)
    org = await hub.orgs.load(request.path_params["org_id"])
    if org is None:
        raise NotFound("no such org")
    updated = validate_org_patch(await json_body(request), org)
    await hub.orgs.save(updated)
    return ok(_public(updated))
