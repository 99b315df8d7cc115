"""The operations of queues and their routing policy, agents' skills and a
conversation's priority, with their handlers (``hub.routing.queues_api``),
for the router and /openapi.json. The bodies' and answers' schemas are
generated from the Structs in ``hub.domain.routing_policy`` that check them."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_spec import (
    ID,
    NO_CONTENT,
    Schema,
    errors,
    json_content,
    ok,
    page_of,
    ref,
    string,
)
from hub.api.operations import Operation
from hub.domain.agents import QUEUE_RE
from hub.domain.routing_policy import (
    DAYS,
    AgentSkills,
    ConversationPatch,
    OperatingHours,
    Overflow,
    Queue,
    QueueInput,
    RequiredSkill,
)
from hub.domain.shapes import components
from hub.routing import queues_api

TAG = "Queues"

# Bodies and answers: the Structs that check them (``hub.domain.routing_policy``).
(_SKILLS, *_), _SHAPES = components(
    [AgentSkills, QueueInput, Queue, ConversationPatch, RequiredSkill, Overflow, OperatingHours],
    "#/components/schemas/",
)
SCHEMAS: dict[str, Schema] = {**_SHAPES, "AgentSkills": _SKILLS}

_EXAMPLE: dict[str, Any] = {
    "required_skills": [{"name": "spanish", "min_level": 2}],
    "inactive_close_seconds": 86400,
    "overflow": {"queue": "general", "after_seconds": 300},
    "hours": {
        "timezone": "Europe/Madrid",
        "weekly": {d: [["08:00", "18:00"]] for d in DAYS[:5]},
        "holidays": ["2026-12-25"],
    },
    "closed_reply": {
        "es": "Estamos cerrados; le responderemos a partir de las 8:00.",
        "en": "We are closed; we will answer from 8:00.",
    },
}
_NAME = [
    {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": string(pattern=QUEUE_RE.pattern, minLength=1, maxLength=100),
    }
]

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        "/v1/queues",
        queues_api.list_queues,
        "listQueues",
        "List queues and their routing policy",
        TAG,
        {
            "200": ok(
                "Every queue with a policy, served by an agent or routed to by a "
                "configuration, by name (`next_cursor` is always null).",
                page_of("Queue"),
            ),
            **errors("unauthorized"),
        },
    ),
    Operation(
        "GET",
        "/v1/queues/{name}",
        queues_api.get_queue,
        "getQueue",
        "A queue's routing policy",
        TAG,
        {
            "200": ok("The queue (the defaults when no policy was set).", ref("Queue")),
            **errors("unauthorized", "queue_not_found"),
        },
        path_parameters=_NAME,
    ),
    Operation(
        "PUT",
        "/v1/queues/{name}",
        queues_api.put_queue,
        "putQueue",
        "Set a queue's routing policy",
        TAG,
        {
            "200": ok("The queue, replaced.", ref("Queue")),
            "201": ok("The queue, created.", ref("Queue")),
            **errors("invalid_request", "unauthorized"),
        },
        description="Replaces the whole policy (absent fields take their defaults); "
        "what waits in the queue is offered again under it at once.",
        body={"required": True, "content": json_content(ref("QueueInput"), _EXAMPLE)},
        path_parameters=_NAME,
    ),
    Operation(
        "DELETE",
        "/v1/queues/{name}",
        queues_api.delete_queue,
        "deleteQueue",
        "Remove a queue's routing policy",
        TAG,
        {"204": NO_CONTENT, **errors("unauthorized", "queue_not_found")},
        description="The queue keeps routing, with the defaults.",
        path_parameters=_NAME,
    ),
    Operation(
        "PUT",
        "/v1/agents/{id}/skills",
        queues_api.put_agent_skills,
        "putAgentSkills",
        "Set an agent's skills",
        "Agents",
        {"200": ok("The agent.", ref("Agent")), **errors("invalid_request", "unauthorized", "not_found")},
        description="Work the agent now qualifies for is offered to it at once.",
        body={"required": True, "content": json_content(ref("AgentSkills"), {"spanish": 3, "billing": 1})},
        path_parameters=ID,
    ),
    Operation(
        "PATCH",
        "/v1/conversations/{id}",
        queues_api.patch_conversation,
        "updateConversation",
        "Set a conversation's priority",
        "Conversations",
        {
            "200": ok("The conversation.", ref("Conversation")),
            **errors("invalid_request", "unauthorized", "not_found", "conversation_closed"),
        },
        description="A waiting conversation takes its new place in its queue at once.",
        body={"required": True, "content": json_content(ref("ConversationPatch"), {"priority": 90})},
        path_parameters=ID,
    ),
]


TAGS = [{"name": TAG, "description": "Routing policy per queue: skills, inactivity close, overflow, operating hours."}]
