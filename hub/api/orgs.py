"""Orgs: created and changed with the admin token."""

from __future__ import annotations

import secrets
import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import hub_of, json_body, ok, require_admin
from hub.domain import partitions
from hub.domain.catalog import validate_org, validate_org_patch
from hub.domain.catalog_shapes import OrgInput, OrgPatch
from hub.domain.shapes import convert
from hub.errors import NotFound
from hub.services.outbound import new_id


async def create_org(request: Request) -> JSONResponse:
    require_admin(request)
    body = await json_body(request)
    convert(body, OrgInput)
    org = validate_org(body, id=new_id("org"), created_at=time.time())
    api_key = "hk_" + secrets.token_urlsafe(32)
    hub = hub_of(request)
    await hub.orgs.create(org, api_key)
    for unit in partitions.units(org.id, org.partitions):
        hub.board.announce(unit, "org")  # every process's loops take the new org in now
    return ok({**org.public(), "api_key": api_key}, 201)


async def get_org(request: Request) -> JSONResponse:
    require_admin(request)
    org = await hub_of(request).orgs.load(request.path_params["org_id"])
    if org is None:
        raise NotFound("no such org")
    return ok(org.public())


async def patch_org(request: Request) -> JSONResponse:
    require_admin(request)
    hub = hub_of(request)
    org = await hub.orgs.load(request.path_params["org_id"])
    if org is None:
        raise NotFound("no such org")
    body = await json_body(request)
    convert(body, OrgPatch)
    updated = validate_org_patch(body, org)
    await hub.orgs.save(updated)
    return ok(updated.public())
