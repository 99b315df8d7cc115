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
from hub.domain.agents import validate_agent, validate_agent_patch, validate_login, validate_new_password
from hub.domain.sign_in import Limits, budgets, client_group
from hub.errors import Conflict, NotFound, RateLimited, Unauthorized
from hub.services.context import Hub
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
    if not await hub_of(request).agents.create(org.id, agent, password_hash):
        raise Conflict("an agent of this org has this email", code="email_taken", details={"field": "email"})
    stored = await hub_of(request).agents.load(org.id, agent["id"])
    return ok(public_agent(stored or {}), 201)


async def list_agents(request: Request) -> JSONResponse:
    org = await current_org(request)
    agents = await hub_of(request).agents.all(org.id)
    return ok({"items": [public_agent(a) for a in agents], "next_cursor": None})


async def _agent_of(request: Request) -> tuple[str, dict[str, str]]:
    """(org id, stored agent) named by the path, with the org's API key."""
    org = await current_org(request)
    agent = await hub_of(request).agents.load(org.id, request.path_params["id"])
    if agent is None:
        raise NotFound("no such agent")
    return org.id, agent


async def update_agent(request: Request) -> JSONResponse:
    """Capacity and queues; routing takes the change at once."""
    org_id, agent = await _agent_of(request)
    change = validate_agent_patch(await json_body(request), agent.get("role") or "agent")
    await request.app.state.conversations.update_agent(
        org_id, agent["id"], change.get("capacity"), change.get("queues")
    )
    return ok(public_agent(await hub_of(request).agents.load(org_id, agent["id"]) or agent))


async def set_password(request: Request) -> JSONResponse:
    """An admin sets a new password; the agent's sessions end."""
    org_id, agent = await _agent_of(request)
    password = validate_new_password(await json_body(request), agent["email"])
    if agent.get("deactivated_at"):
        raise Conflict("this agent is deactivated", details={"field": "id"})
    hub = hub_of(request)
    await hub.agents.save_password(org_id, agent["id"], await asyncio.to_thread(_hasher.hash, password))
    await hub.agents.end_sessions(org_id, agent["id"])
    return ok(public_agent(await hub.agents.load(org_id, agent["id"]) or agent))


async def deactivate_agent(request: Request) -> JSONResponse:
    """Offline for good: conversations go back to their queues, sessions end,
    sign-in is refused. The agent stays listed (its history names it)."""
    org_id, agent = await _agent_of(request)
    hub = hub_of(request)
    await request.app.state.conversations.deactivate_agent(org_id, agent["id"])
    await hub.agents.forbid_sign_in(org_id, agent["id"], agent["email"])
    await hub.agents.end_sessions(org_id, agent["id"])
    return ok(public_agent(await hub.agents.load(org_id, agent["id"]) or agent))


async def _verify(stored_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def _agents_with(hub: Hub, email: str, password: str, org_id: str | None) -> list[tuple[str, dict[str, str]]]:
    """The (org, agent) pairs this email and password sign in to. Usually one;
    one per org at most. An unknown email costs one verification too."""
    found = [(o, a) for o, a in await hub.agents.logins(email) if org_id in (None, o)]
    matched = []
    for org, agent_id in found:
        agent = await hub.agents.load(org, agent_id)
        if agent and not agent.get("deactivated_at") and await _verify(agent.get("password", _DUMMY_HASH), password):
            matched.append((org, agent))
    if not found:
        await _verify(_DUMMY_HASH, password)
    return matched


async def login(request: Request) -> JSONResponse:
    hub = hub_of(request)
    email, password, org_id = validate_login(await json_body(request))
    s = hub.settings
    limits = Limits(per_email=s.login_failures_per_email, per_address=s.login_failures_per_address)
    spent = budgets(email, client_group(request.client.host if request.client else None), limits)
    # Counted before the password is checked, so concurrent guesses cannot
    # all pass; during a lock even the right password is refused (answering
    # otherwise would tell a guesser when a guess was right).
    wait = await hub.login_throttle.take(spent)
    if wait:
        hub.metrics.login_refusals.labels("throttled").inc()
        raise RateLimited("too many failed sign-ins; try again later", retry_after=wait, details={"retry_after": wait})
    matched = await _agents_with(hub, email, password, org_id)
    if not matched:
        hub.metrics.login_refusals.labels("wrong_password").inc()
        raise Unauthorized("wrong email or password")
    await hub.login_throttle.give_back(spent)
    if len(matched) > 1:
        raise Conflict(
            "this email signs in to agents of several orgs: give org_id",
            code="org_required",
            details={"field": "org_id"},
        )
    org_id, agent = matched[0]
    agent_id, stored_hash = agent["id"], agent["password"]
    if _hasher.check_needs_rehash(stored_hash):
        await hub.agents.save_password(org_id, agent_id, await asyncio.to_thread(_hasher.hash, password))
    token = "at_" + secrets.token_urlsafe(32)
    ttl = hub.settings.token_ttl_s
    await hub.agents.issue_token(token, org_id, agent_id, ttl)
    return ok({"token": token, "expires_in": ttl, "agent": public_agent(agent), "org_id": org_id})


async def ws_ticket(request: Request) -> JSONResponse:
    """A one-time ticket for ``/v1/agent/ws?ticket=``: short-lived and spent
    by the first connection, so a URL kept by a proxy or a log opens nothing."""
    hub = hub_of(request)
    token = bearer(request)
    if await hub.agents.token_owner(token) is None:
        raise Unauthorized("unknown or expired agent token")
    ticket = "wt_" + secrets.token_urlsafe(24)
    ttl = hub.settings.ws_ticket_ttl_s
    await hub.agents.issue_ticket(ticket, token, max(1, int(ttl * 1000)))
    return ok({"ticket": ticket, "expires_at": time.time() + ttl, "expires_in": ttl}, 201)


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
    colleagues = [
        public_agent(a) for a in await hub.agents.all(org_id) if a.get("id") != me["id"] and not a.get("deactivated_at")
    ]
    queues = sorted({q for a in [me, *colleagues] for q in a["queues"]})
    canned, _ = await hub.canned.page(org_id, after=None, limit=200)
    templates, _ = await hub.templates.page(org_id, after=None, limit=200)
    return ok(
        {
            "agent": me,
            "org_id": org_id,
            "waiting": await hub.conversations.waiting_count(org_id, me["queues"]),
            "colleagues": [{k: c[k] for k in ("id", "name", "presence", "queues")} for c in colleagues],
            "queues": queues,
            "canned_responses": [{"id": c.id, "title": c.title, "body": c.body} for c in canned],
            # What the console offers once a WhatsApp window has closed.
            "whatsapp_templates": [
                {
                    "id": t.id,
                    "name": t.name,
                    "default_locale": t.default_locale,
                    "bodies": dict(t.bodies),
                    "approved_locales": sorted(t.content_sids),
                }
                for t in templates
                if t.approved_whatsapp
            ],
        }
    )
