"""Queues and their routing policy (org API key): /v1/queues, an agent's
skills, a conversation's priority."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.common import current_org, hub_of, json_body, ok
from hub.domain.agents import QUEUE_RE
from hub.domain.routing_policy import (
    default_queue,
    is_open,
    validate_agent_skills,
    validate_conversation_patch,
    validate_queue,
)
from hub.errors import NotFound
from hub.routing.conversations import now_ms
from hub.services.context import Hub
from hub.storage.agents import public_agent


def _no_queue() -> NotFound:
    return NotFound("no such queue", code="queue_not_found", details={"field": "name"})


async def _public(hub: Hub, org_id: str, policy: dict[str, Any], configured: bool) -> dict[str, Any]:
    name = policy["name"]
    return {
        **policy,
        "configured": configured,
        "waiting": await hub.queues.waiting(org_id, name),
        "open": not await hub.queues.closed(org_id, name),
    }


async def put_queue(request: Request) -> JSONResponse:
    org = await current_org(request)
    hub = hub_of(request)
    policy = validate_queue(request.path_params["name"], await json_body(request))
    at = now_ms()
    # Open or closed by its hours from now on (the policy loop keeps it so).
    existed = await hub.queues.save(
        org.id, policy["name"], policy, at, is_open=is_open(policy["hours"], datetime.fromtimestamp(at / 1000, UTC))
    )
    hub.board.announce(org.id, "policy")  # hours and overflow are looked at now, everywhere
    request.app.state.conversations.archive(org.id)
    return ok(await _public(hub, org.id, policy, True), 200 if existed else 201)


async def get_queue(request: Request) -> JSONResponse:
    org = await current_org(request)
    hub = hub_of(request)
    name = request.path_params["name"]
    if not QUEUE_RE.match(name):
        raise _no_queue()
    policy = await hub.queues.load(org.id, name)
    if policy is not None:
        return ok(await _public(hub, org.id, policy, True))
    if not await request.app.state.conversations.queue_exists(org.id, name):
        raise _no_queue()
    return ok(await _public(hub, org.id, default_queue(name), False))


async def delete_queue(request: Request) -> Response:
    org = await current_org(request)
    hub = hub_of(request)
    name = request.path_params["name"]
    if not QUEUE_RE.match(name) or await hub.queues.load(org.id, name) is None:
        raise _no_queue()
    await hub.queues.save(org.id, name, None, now_ms())
    request.app.state.conversations.archive(org.id)
    return Response(status_code=204)


async def list_queues(request: Request) -> JSONResponse:
    """Every queue with a policy, and those agents serve or configurations
    route to (with the defaults), by name."""
    org = await current_org(request)
    hub = hub_of(request)
    policies = {p["name"]: p for p in await hub.queues.all(org.id)}
    known = {q for a in await hub.agents.all(org.id) for q in json.loads(a.get("queues") or "[]")}
    after: float | None = None
    while True:
        configs, after = await hub.configurations.page(org.id, after=after, limit=500)
        known |= {c.queue for c in configs}
        if after is None:
            break
    items = [
        await _public(hub, org.id, policies.get(n) or default_queue(n), n in policies)
        for n in sorted(known | set(policies))
    ]
    return ok({"items": items, "next_cursor": None})


async def put_agent_skills(request: Request) -> JSONResponse:
    org = await current_org(request)
    hub = hub_of(request)
    skills = validate_agent_skills(await json_body(request))
    if not await hub.conversations.set_skills(org.id, request.path_params["id"], skills, now_ms=now_ms()):
        raise NotFound("no such agent")
    request.app.state.conversations.archive(org.id)
    agent = await hub.agents.load(org.id, request.path_params["id"])
    return ok(public_agent(agent or {}))


async def patch_conversation(request: Request) -> JSONResponse:
    org = await current_org(request)
    priority = validate_conversation_patch(await json_body(request))
    conversations = request.app.state.conversations
    await conversations.set_priority(org.id, request.path_params["id"], priority)
    return ok(await conversations.get(org.id, request.path_params["id"]))
