"""The OpenAPI description of what an admin changes on an agent (capacity,
queues, password, deactivation), added to the document of ``openapi_spec``
by ``with_agent_admin``. The bodies' schemas are generated from the Structs
in ``hub.domain.agents`` that check them."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_spec import ID, Schema, errors, ok, operation, ref, request_body, with_shared_errors
from hub.domain.agents import AgentPassword, AgentPatch
from hub.domain.shapes import components

TAG = "Agents"

# Bodies: the Structs that check them (``hub.domain.agents``).
_, SCHEMAS = components([AgentPatch, AgentPassword], "#/components/schemas/")

PATHS: dict[str, Schema] = {
    "/v1/agents/{id}": {
        "parameters": ID,
        "patch": operation(
            "updateAgent",
            "Change an agent's capacity or queues",
            TAG,
            {
                "200": ok("The agent.", ref("Agent")),
                **errors("invalid_request", "unauthorized", "not_found", "conflict"),
            },
            description="Routing takes the change at once: the agent leaves the queues it no longer "
            "has, and if available with room it is offered the longest-waiting "
            "conversation of its queues. Conversations it holds stay with it. A "
            "deactivated agent answers 409.",
            body=request_body("AgentPatch", {"capacity": 5, "queues": ["default", "billing"]}),
        ),
    },
    "/v1/agents/{id}/password": {
        "parameters": ID,
        "post": operation(
            "setAgentPassword",
            "Set a new password for an agent",
            TAG,
            {
                "200": ok("The agent.", ref("Agent")),
                **errors("invalid_request", "unauthorized", "not_found", "conflict"),
            },
            description="The old password stops working and every session of the agent ends "
            "(its console is signed out). A deactivated agent answers 409.",
            body=request_body("AgentPassword", {"password": "a new long passphrase"}),
        ),
    },
    "/v1/agents/{id}/deactivate": {
        "parameters": ID,
        "post": operation(
            "deactivateAgent",
            "Deactivate an agent",
            TAG,
            {"200": ok("The agent, with `active` false.", ref("Agent")), **errors("unauthorized", "not_found")},
            description="The agent goes offline for good: its open conversations go back to their "
            "queues, its sessions end and signing in is refused. It stays in the list "
            "(conversations and metrics name it); its email stays taken in the org. "
            "Deactivating twice answers the same.",
        ),
    },
}


def with_agent_admin(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the agent admin paths and schemas added (it is not changed)."""
    components = dict(document["components"])
    schemas = {**components["schemas"], **SCHEMAS}
    agent = dict(schemas["Agent"])
    agent["properties"] = {
        **agent["properties"],
        "active": {"type": "boolean", "description": "False once deactivated."},
    }
    schemas["Agent"] = agent
    components["schemas"] = schemas
    return {**document, "paths": with_shared_errors({**document["paths"], **PATHS}), "components": components}
