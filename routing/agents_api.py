"""Agents: created with the org's API key; they log in with email and password."""

from __future__ import annotations

import asyncio
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.common import bearer, current_org, hub_of, json_body, ok
from hub.domain.agents import validate_agent, validate_login
from hub.errors import Conflict, Unauthorized
from hub.services.outbound import new_id
from hub.storage.agents import public_agent

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


async def create_agent(request: Request) -> JSONResponse:
    org = await current_org(request)
    data = validate_agent(await json_body(request))
    password_hash = await asyncio.to_thread(_hasher.hash, data.pop("password"))
    agent = {"id": new_id("agt"), **data, "created_at": time.time()}
    if not await hub_of(request).agents.create(org["id"], agent, password_hash):
        raise Conflict("an agent with this email exists", code="email_taken", details={"field": "email"})
    stored = await hub_of(request).agents.load(org["id"], agent["id"])
    return ok(public_agent(stored or {}), 201)


async def list_agents(request: Request) -> JSONResponse:
    org = await current_org(request)
    agents = await hub_of(request).agents.all(org["id"])
    return ok({"items": [public_agent(a) for a in agents], "next_cursor": None})


async def login(request: Request) -> JSONResponse:
    hub = hub_of(request)
    email, password = validate_login(await json_body(request))
    found = await hub.agents.by_email(email)
    agent = await hub.agents.load(*found) if found else None
    stored_hash = agent["password"] if agent else _DUMMY_HASH
    try:
        await asyncio.to_thread(_hasher.verify, stored_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong email or password") from None
    if agent is None or found is None:
        raise Unauthorized("wrong email or password")
    org_id, agent_id = found
    if _hasher.check_needs_rehash(stored_hash):
        await hub.agents.save_password(org_id, agent_id, await asyncio.to_thread(_hasher.hash, password))
    token = "at_" + secrets.token_urlsafe(32)
    ttl = hub.settings.token_ttl_s
    await hub.agents.issue_token(token, org_id, agent_id, ttl)
    return ok({"token": token, "expires_in": ttl, "agent": public_agent(agent), "org_id": org_id})


async def logout(request: Request) -> Response:
    await hub_of(request).agents.revoke_token(bearer(request))
    return Response(status_code=204)


async def me(request: Request) -> JSONResponse:
    """What the console needs besides the websocket: the agent, how many wait
    in its queues, colleagues to transfer to, and the org's canned responses."""
    hub = hub_of(request)
    owner = await hub.agents.token_owner(bearer(request))
    agent = await hub.agents.load(*owner) if owner else None
    if agent is None or owner is None:
        raise Unauthorized("unknown or expired agent token")
    org_id = owner[0]
    me = public_agent(agent)
    colleagues = [public_agent(a) for a in await hub.agents.all(org_id) if a.get("id") != me["id"]]
    queues = sorted({q for a in [me, *colleagues] for q in a["queues"]})
    canned, _ = await hub.canned.page(org_id, after=None, limit=200)
    return ok({
        "agent": me,
        "org_id": org_id,
        "waiting": await hub.conversations.waiting_count(org_id, me["queues"]),
        "colleagues": [{k: c[k] for k in ("id", "name", "presence", "queues")} for c in colleagues],
        "queues": queues,
        "canned_responses": [{k: c[k] for k in ("id", "title", "body")} for c in canned],
    })
