"""The operations an admin uses to change an agent (capacity, queues,
password, deactivation), with their handlers, for the router and
/openapi.json. The bodies' schemas are generated from the Structs in
``hub.domain.agents`` that check them."""

from __future__ import annotations

from hub.api import openapi_spec
from hub.api.openapi_spec import ID, errors, ok, ref, request_body
from hub.api.operations import Operation
from hub.domain.agents import AgentPassword, AgentPatch
from hub.domain.shapes import components
from hub.routing import agents_api

TAG = "Agents"

# Bodies: the Structs that check them (``hub.domain.agents``).
_, SCHEMAS = components([AgentPatch, AgentPassword], "#/components/schemas/")
# An agent as the API shows it, with whether it is deactivated.
_AGENT = openapi_spec.SCHEMAS["Agent"]
SCHEMAS["Agent"] = {
    **_AGENT,
    "properties": {**_AGENT["properties"], "active": {"type": "boolean", "description": "False once deactivated."}},
}

OPERATIONS: list[Operation] = [
    Operation(
        "PATCH",
        "/v1/agents/{id}",
        agents_api.update_agent,
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
        path_parameters=ID,
    ),
    Operation(
        "POST",
        "/v1/agents/{id}/password",
        agents_api.set_password,
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
        path_parameters=ID,
    ),
    Operation(
        "POST",
        "/v1/agents/{id}/deactivate",
        agents_api.deactivate_agent,
        "deactivateAgent",
        "Deactivate an agent",
        TAG,
        {"200": ok("The agent, with `active` false.", ref("Agent")), **errors("unauthorized", "not_found")},
        description="The agent goes offline for good: its open conversations go back to their "
        "queues, its sessions end and signing in is refused. It stays in the list "
        "(conversations and metrics name it); its email stays taken in the org. "
        "Deactivating twice answers the same.",
        path_parameters=ID,
    ),
]
